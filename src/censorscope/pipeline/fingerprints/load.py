"""Read the fingerprint sources into :class:`Fingerprint` lists, and version them.

Sources (bundled in ``censorscope/data/fingerprints/``, see its README for attribution):

- OONI ``blocking-fingerprints`` CSVs (``ooni/fingerprints_dns.csv``,
  ``ooni/fingerprints_http.csv``): the reference schema, every pattern type kept;
- Censored Planet's blockpage and false-positive signatures (``censoredplanet/*.jsonl``,
  one ``{"fingerprint", "pattern"}`` regex per line) — rows already in OONI's CSV as
  ``cp.<fingerprint>`` are not loaded twice;
- censorscope's own false-positive rows in OONI's schema (``censorscope/false_positives.csv``:
  today's CDN challenge pages, which the older lists miss);
- Citizen Lab filtering annotations (``citizenlab/dns.csv``, ``citizenlab/http.csv``) — only
  the patterns OONI's CSV lacks (at 171641e6: none for DNS, four HTTP header lines).

A directory passed as ``path`` may use that layout or the flat one of the upstream checkout
(``fingerprints_dns.csv`` … ``citizenlab-filtering-annotations/``). The version is the short
SHA-256 of the files read, so a changed file means a new ``fingerprints_version``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from .literal import regex_literal
from .types import Fingerprint, Source, parse_countries

__all__ = ["FingerprintSources", "bundled_root", "content_version", "read_sources"]

# logical name → candidate relative paths (bundled layout first, then upstream layout)
_FILES: Final[dict[str, tuple[str, ...]]] = {
    "ooni_dns": ("ooni/fingerprints_dns.csv", "fingerprints_dns.csv"),
    "ooni_http": ("ooni/fingerprints_http.csv", "fingerprints_http.csv"),
    "cp_blockpage": ("censoredplanet/censoredplanet_blockpage_signatures.jsonl",
                     "censoredplanet_blockpage_signatures.jsonl"),
    "cp_false_positive": ("censoredplanet/censoredplanet_false_positive_signatures.jsonl",
                          "censoredplanet_false_positive_signatures.jsonl"),
    "cl_dns": ("citizenlab/dns.csv", "citizenlab-filtering-annotations/dns.csv"),
    "cl_http": ("citizenlab/http.csv", "citizenlab-filtering-annotations/http.csv"),
    "cs_false_positive": ("censorscope/false_positives.csv",),
}
_REQUIRED: Final = ("ooni_dns", "ooni_http")


def bundled_root() -> Traversable:
    """The fingerprint data shipped in the package."""
    return files("censorscope.data").joinpath("fingerprints")


@dataclass
class FingerprintSources:
    """Everything read from one fingerprint directory."""

    dns: list[Fingerprint] = field(default_factory=list)
    http: list[Fingerprint] = field(default_factory=list)
    false_positive: list[Fingerprint] = field(default_factory=list)
    version: str = ""
    files: tuple[str, ...] = ()


def _find(root: Traversable, candidates: Iterable[str]) -> tuple[str, bytes] | None:
    for rel in candidates:
        node = root
        for part in rel.split("/"):
            node = node.joinpath(part)
        if node.is_file():
            return rel, node.read_bytes()
    return None


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    """The rows as header → value (what ``csv.DictReader`` gives, keys stripped, a missing
    value ""; blank lines skipped, values beyond the header dropped)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(reader, None)
    if header is None:
        return []
    keys = [k.strip() for k in header]
    out: list[dict[str, str]] = []
    for row in reader:
        if not row:
            continue
        values = dict(zip(keys, row, strict=False))
        for k in keys[len(row):]:
            values[k] = ""
        out.append(values)
    return out


def _ooni_rows(data: bytes, kind: str, source: Source = "ooni") -> list[Fingerprint]:
    """OONI's schema; rows without a name or pattern, or of an unknown pattern type, are
    skipped (the upstream validator rejects them too)."""
    out: list[Fingerprint] = []
    for row in _csv_rows(data):
        name, pattern = row.get("name", "").strip(), row.get("pattern", "")
        ptype = row.get("pattern_type", "").strip()
        location = row.get("location_found", "").strip().lower()
        if not name or pattern == "" or ptype not in ("full", "prefix", "contains", "regexp"):
            continue
        if kind == "dns":
            location = "dns"
        elif location != "body" and not location.startswith("header."):
            continue
        out.append(Fingerprint(
            id=name, kind="dns" if kind == "dns" else "http", location=location,
            pattern_type=ptype, pattern=pattern.strip() if kind == "dns" else pattern,
            scope=row.get("scope", "").strip(),
            expected_countries=parse_countries(row.get("expected_countries", "")),
            confidence=_int(row.get("confidence_no_fp")), source=source))
    return out


_CP_SCOPES: Final = {"prod": "prod", "nat": "nat", "isp": "isp", "corp": "inst", "inst": "inst",
                     "gen": "vbw"}


def _cp_scope(name: str, default: str) -> str:
    """Censored Planet names carry the scope: ``a_prod_…``, ``b_nat_…``, ``c_isp_…``,
    ``d_corp_…``, ``f_gen_…`` (vague words); anything else keeps ``default``."""
    parts = name.split("_")
    return _CP_SCOPES.get(parts[1], default) if len(parts) > 2 else default


def _cp_rows(data: bytes, scope: str, known: set[str],
             known_patterns: set[str]) -> list[Fingerprint]:
    """Censored Planet signatures (regexes over the whole response: body and headers)."""
    out: list[Fingerprint] = []
    seen: dict[str, int] = {}
    for line in data.decode("utf-8").splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        name, pattern = obj.get("fingerprint"), obj.get("pattern")
        if not isinstance(name, str) or not isinstance(pattern, str) or not pattern:
            continue
        fid = f"cp.{name}"
        # OONI's CSV carries most of these as cp.<name> (blockpages) or cp.fp_<name>
        if fid in known or f"cp.fp_{name}" in known or pattern in known_patterns or \
                regex_literal(pattern) in known_patterns:
            continue
        # a few names repeat with another pattern upstream: keep ids unique
        count = seen.get(fid, 0) + 1
        seen[fid] = count
        if count > 1:
            fid = f"{fid}#{count}"
        out.append(Fingerprint(id=fid, kind="http", location="headers_or_body",
                               pattern_type="regexp", pattern=pattern,
                               scope=scope if scope == "fp" else _cp_scope(name, scope),
                               expected_countries=(), confidence=None,
                               source="censoredplanet"))
    return out


def _cl_dns(data: bytes, known_patterns: set[str]) -> list[Fingerprint]:
    out: list[Fingerprint] = []
    for row in _csv_rows(data):
        response = row.get("response", "").strip()
        if not response or response in known_patterns:
            continue
        out.append(Fingerprint(
            id=f"cl.{row.get('name', '').strip()}", kind="dns", location="dns",
            pattern_type="full", pattern=response, scope=row.get("scope", "").strip(),
            expected_countries=parse_countries(row.get("expected_countries", "")),
            confidence=_int(row.get("confidence_no_fp")), source="citizenlab"))
    return out


def _cl_http(data: bytes, known_patterns: set[str]) -> list[Fingerprint]:
    """Citizen Lab HTTP rows: ``body`` patterns are substrings of the body, ``header``
    patterns (``"Location: http://…"``) substrings of the header block."""
    out: list[Fingerprint] = []
    for row in _csv_rows(data):
        pattern = row.get("pattern", "")
        where = row.get("location_found", "").strip().lower()
        if not pattern or pattern in known_patterns or where not in ("body", "header"):
            continue
        out.append(Fingerprint(
            id=f"cl.{row.get('name', '').strip()}", kind="http",
            location="body" if where == "body" else "headers", pattern_type="contains",
            pattern=pattern, scope=row.get("scope", "").strip(),
            expected_countries=parse_countries(row.get("expected_countries", "")),
            confidence=_int(row.get("confidence_no_fp")), source="citizenlab"))
    return out


def _read_files(path: str | Path | Traversable | None) -> dict[str, tuple[str, bytes]]:
    root: Traversable = bundled_root() if path is None else (
        Path(path) if isinstance(path, str | Path) else path)
    raw: dict[str, tuple[str, bytes]] = {}
    for key, candidates in _FILES.items():
        found = _find(root, candidates)
        if found is None and key in _REQUIRED:
            raise FileNotFoundError(f"no {candidates[0]} under {root}")
        if found is not None:
            raw[key] = found
    return raw


def _version(raw: dict[str, tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for key in sorted(raw):
        data = raw[key][1]
        digest.update(f"{key}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]


def content_version(path: str | Path | Traversable | None = None) -> str:
    """The version of the fingerprints under ``path`` (default: bundled) without parsing
    them: the short SHA-256 of the files :func:`read_sources` would read."""
    return _version(_read_files(path))


def read_sources(path: str | Path | Traversable | None = None) -> FingerprintSources:
    """Read every source found under ``path`` (default: the bundled data). OONI's two CSVs
    are required; the others are optional."""
    raw = _read_files(path)
    src = FingerprintSources(version=_version(raw),
                             files=tuple(raw[k][0] for k in sorted(raw)))
    src.dns = _ooni_rows(raw["ooni_dns"][1], "dns")
    http = _ooni_rows(raw["ooni_http"][1], "http")
    # OONI's own false-positive rows (scope fp) are not blockpages: they go with the FP list.
    src.http = [fp for fp in http if fp.scope != "fp"]
    src.false_positive = [fp for fp in http if fp.scope == "fp"]
    known_ids = {fp.id for fp in http}
    if "cp_blockpage" in raw:
        src.http += _cp_rows(raw["cp_blockpage"][1], "cp", known_ids,
                             {fp.pattern for fp in src.http})
    if "cp_false_positive" in raw:
        src.false_positive += _cp_rows(raw["cp_false_positive"][1], "fp", known_ids,
                                       {fp.pattern for fp in src.false_positive})
    if "cs_false_positive" in raw:
        src.false_positive += _ooni_rows(raw["cs_false_positive"][1], "http", "censorscope")
    if "cl_dns" in raw:
        src.dns += _cl_dns(raw["cl_dns"][1], {fp.pattern for fp in src.dns})
    if "cl_http" in raw:
        src.http += _cl_http(raw["cl_http"][1], {fp.pattern for fp in http})
    return src
