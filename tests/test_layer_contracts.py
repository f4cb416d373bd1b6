"""The layers of censorscope are the import-linter contracts in ``pyproject.toml``
(``[tool.importlinter]``); ``lint-imports`` enforces them (``scripts/test.sh``).

These tests check that the contracts hold on the real tree, that a wrong import in a copy of the
package breaks the contract it offends (lazy and relative imports included), and the one thing
import-linter cannot say: a contract named "X imports only A and B" must forbid every other
package of censorscope, so a new package has to be placed in each such contract.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "censorscope"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _names() -> dict[str, str]:
    return {contract["id"]: contract["name"] for contract in _contracts()}


def _top_level() -> set[str]:
    """The packages and modules directly under ``censorscope`` (the root itself excluded)."""

    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    return packages | modules


def _lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "COLUMNS": "250", "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = _lint_imports(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in result.stdout
    for name in _names().values():
        assert f"{name} KEPT" in result.stdout


def _copy_sources(tmp_path: Path) -> Path:
    """A copy of the package's Python files and of ``pyproject.toml`` (its contracts)."""

    def not_python(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n == "__pycache__"
                or (not n.endswith(".py") and not Path(directory, n).is_dir())}

    shutil.copytree(SRC, tmp_path / "src" / "censorscope", ignore=not_python)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path / "src" / "censorscope"


def test_a_wrong_import_breaks_the_contract_it_offends(tmp_path: Path) -> None:
    copy = _copy_sources(tmp_path)
    # the vocabulary reaching into the analysis: lazy and relative, so only a full read sees it
    (copy / "model" / "wrong.py").write_text(
        "def f():\n    from ..pipeline import observe\n    return observe\n")
    (copy / "store" / "wrong.py").write_text("import censorscope.pipeline.observe\n")
    # the measuring side importing upwards (experiments -> probe), behind TYPE_CHECKING
    (copy / "experiments" / "wrong.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import censorscope.probe.cli\n")

    result = _lint_imports(tmp_path, tmp_path / "src")

    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    names = _names()
    broken = {"leaves", "store", "measuring-layers"}
    for key in broken:
        assert f"{names[key]} BROKEN" in out
    for key in names.keys() - broken:
        assert f"{names[key]} KEPT" in out
    assert f"Contracts: {len(names) - len(broken)} kept, {len(broken)} broken." in out
    # the report names the offending modules of the copy (proof that the copy was read)
    assert "censorscope.model.wrong -> censorscope.pipeline.observe" in out
    assert "censorscope.store.wrong -> censorscope.pipeline.observe" in out
    assert "censorscope.experiments.wrong -> censorscope.probe.cli" in out


def test_each_imports_only_contract_names_every_other_package() -> None:
    top = _top_level()
    checked = []
    for contract in _contracts():
        name = contract["name"]
        if contract["type"] != "forbidden" or " only " not in name:
            continue
        allowed = set(re.findall(r"[a-z_]+", name.split(" only ", 1)[1])) & top
        sources = {m.split(".")[1] for m in contract["source_modules"]}
        forbidden = {m.split(".")[1] for m in contract["forbidden_modules"]}
        assert not (allowed | sources) & forbidden, name
        missing = top - allowed - sources - forbidden
        assert not missing, f"{name!r} neither allows nor forbids {sorted(missing)}"
        checked.append(contract["id"])
    assert {"measuring-side", "control", "serve", "pipeline", "collector"} <= set(checked)

