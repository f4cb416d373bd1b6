"""The scenario catalogue: load a scenario by name or path, list the bundled ones.

Two file formats (TOML), both in ``src/censorscope/lab/scenarios/``:

- a *single* scenario: the top-level table is a :class:`~censorscope.lab.schema.Scenario`;
- a *case file*: ``[base]`` (a partial scenario shared by all cases) plus ``[cases.<case>]``
  tables. Case ``c`` of file ``f.toml`` is the scenario ``f.c``: lists (``isps``, ``hosts``,
  ``sites``, ``records``, ``schedule``) are the base's followed by the case's; ``phases`` are merged
  by name (a phase in both gets the base's policies followed by the case's); scalars in the case
  (``description``, ``initial_phase``) win.

A path may name one case of a case file as ``FILE.toml#case``. Validation errors name the field
(``isps[1].asn: Input should be greater than 0``; for a case ``cases.c.…``).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from censorscope.lab.errors import ScenarioError
from censorscope.lab.schema import Scenario

CATALOGUE_DIR = Path(__file__).parent / "scenarios"
LIST_KEYS = ("isps", "hosts", "sites", "records", "schedule")


def format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def format_validation_error(exc: ValidationError, where: str = "") -> str:
    lines = []
    for err in exc.errors():
        loc = format_loc(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        path = ".".join(x for x in (where, loc) if x)
        lines.append(f"{path}: {msg}" if path else msg)
    return "; ".join(lines)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: TOML syntax error: {exc}") from None


def merge_case(base: dict[str, Any], case: dict[str, Any], name: str) -> dict[str, Any]:
    """The scenario dict of one case: base + case (see the module docstring)."""
    out: dict[str, Any] = {k: v for k, v in base.items() if k not in ("phases", *LIST_KEYS)}
    for key in LIST_KEYS:
        items = [*base.get(key, []), *case.get(key, [])]
        if items:
            out[key] = items
    phases: dict[str, Any] = {n: dict(p) for n, p in base.get("phases", {}).items()}
    for pname, phase in case.get("phases", {}).items():
        if pname in phases:
            merged = {**phases[pname], **{k: v for k, v in phase.items() if k != "policies"}}
            merged["policies"] = [*phases[pname].get("policies", []), *phase.get("policies", [])]
            phases[pname] = merged
        else:
            phases[pname] = phase
    if phases:
        out["phases"] = phases
    for key, value in case.items():
        if key not in ("phases", *LIST_KEYS):
            out[key] = value
    out["name"] = name
    return out


def _validate(data: dict[str, Any], source: str, where: str = "") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {format_validation_error(exc, where)}") from None


def load_file(path: Path, case: str | None = None) -> list[Scenario]:
    """Every scenario of a file (or only ``case`` of a case file)."""
    data = _read_toml(path)
    if "cases" not in data:
        if case is not None:
            raise ScenarioError(f"{path}: not a case file, cannot select case {case!r}")
        return [_validate(data, str(path))]
    unknown = set(data) - {"base", "cases"}
    if unknown:
        raise ScenarioError(f"{path}: a case file has only [base] and [cases.*]; found {unknown}")
    cases: dict[str, Any] = data["cases"]
    if case is not None:
        if case not in cases:
            raise ScenarioError(f"{path}: no case {case!r} (cases: {', '.join(cases)})")
        cases = {case: cases[case]}
    base = data.get("base", {})
    return [
        _validate(merge_case(base, c, f"{path.stem}.{n}"), str(path), f"cases.{n}")
        for n, c in cases.items()
    ]


@cache
def _bundled() -> dict[str, tuple[Path, str | None]]:
    """name -> (file, case) for every bundled scenario (no validation, fast)."""
    out: dict[str, tuple[Path, str | None]] = {}
    for path in sorted(CATALOGUE_DIR.glob("*.toml")):
        try:
            data = _read_toml(path)
        except ScenarioError:
            continue
        if "cases" in data:
            for case in data["cases"]:
                out[f"{path.stem}.{case}"] = (path, case)
        else:
            out[str(data.get("name", path.stem))] = (path, None)
    return out


def catalogue() -> dict[str, str]:
    """Bundled scenario name -> description."""
    out: dict[str, str] = {}
    for name, (path, case) in _bundled().items():
        data = _read_toml(path)
        if case is None:
            out[name] = str(data.get("description", ""))
        else:
            desc = data["cases"][case].get("description") or data.get("base", {}).get(
                "description", ""
            )
            out[name] = str(desc)
    return out


def load(name_or_path: str | Path) -> Scenario:
    """A scenario by catalogue name (``smoke``, ``qa.<case>``) or path (``x.toml[#case]``)."""
    text = str(name_or_path)
    file_part, _, case = text.partition("#")
    path = Path(file_part)
    if text in _bundled():
        bpath, bcase = _bundled()[text]
        return load_file(bpath, bcase)[0]
    if path.suffix == ".toml" or path.exists():
        scenarios = load_file(path, case or None)
        if len(scenarios) != 1:
            names = ", ".join(s.name for s in scenarios)
            raise ScenarioError(
                f"{path} holds several scenarios; pick one as {path}#CASE ({names})"
            )
        return scenarios[0]
    raise ScenarioError(
        f"unknown scenario {text!r}: not a file and not in the catalogue "
        f"(see `censorscope lab list`)"
    )
