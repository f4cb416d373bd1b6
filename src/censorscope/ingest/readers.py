"""Readers for OONI data files: each yields the raw records of one file, streaming.

A record is the bytes of one measurement (a JSONL line, a ``.post`` tar member, a whole JSON
file) plus where it came from; decoding is the driver's job. Formats, by name:

- ``*.jsonl`` / ``*.jsonl.gz`` — one measurement per line (OONI's ``raw/…/*.jsonl.gz``);
- ``*.tar.gz`` / ``*.tgz`` / ``*.tar`` — post-cans: ``.post`` members (``{"format":"json",
  "content":…}``) or raw JSON members; "tar.gz" files that are not compressed work too;
- ``*.json`` / ``*.post`` / ``*.json.gz`` — one JSON document (a measurement, a post, or a list
  of measurements);
- ``*.yaml`` / ``*.yml`` (``.gz``) — legacy YAML reports: reported unsupported.

Directories are walked recursively in name order (OONI's bucket layout
``raw/YYYYMMDD/HH/CC/testname/`` sorts by time); other files there are skipped.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

__all__ = ["RawRecord", "UnsupportedFormat", "expand_paths", "file_kind", "read_records"]

_JSONL: Final = (".jsonl", ".jsonl.gz")
_TAR: Final = (".tar.gz", ".tgz", ".tar")
_JSON: Final = (".json", ".post", ".json.gz")
_YAML: Final = (".yaml", ".yml", ".yaml.gz", ".yml.gz", ".yaml.lz4", ".json.lz4", ".tar.lz4")


class UnsupportedFormat(Exception):
    """A file censorscope cannot read (legacy YAML, lz4 cans)."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """The bytes of one record; ``line`` is 1-based (JSONL) or None; ``offset``/``length``
    locate it in the (decompressed) file or tar member ``member``."""

    path: str
    member: str | None
    line: int | None
    offset: int
    data: bytes

    @property
    def where(self) -> str:
        place = f"{self.path}!{self.member}" if self.member else self.path
        return f"{place}:{self.line}" if self.line is not None else place


def file_kind(path: str) -> str | None:
    """``jsonl`` | ``tar`` | ``json`` | ``yaml`` by name, or None if not a data file."""
    name = path.lower()
    for kind, suffixes in (("jsonl", _JSONL), ("tar", _TAR), ("yaml", _YAML), ("json", _JSON)):
        if name.endswith(suffixes):
            return kind
    return None


def expand_paths(paths: list[str]) -> Iterator[tuple[str, str | None]]:
    """(file, kind) for every file named or found under a named directory. A named file of
    unknown kind is sniffed as JSON/JSONL; files of unknown kind inside directories are
    skipped (kind None)."""
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(root, name)
                    yield full, file_kind(full)
        else:
            yield path, file_kind(path) or "sniff"


def is_gzip(path: str) -> bool:
    """True if ``path`` starts with the gzip magic."""
    with open(path, "rb") as probe:
        return probe.read(2) == b"\x1f\x8b"


def _open(path: str) -> IO[bytes] | gzip.GzipFile:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


# JSONL is read in blocks and cut at b"\n" one line at a time: ``readline`` copies a 40 KB
# OONI line through its 8 KB buffer several times, and ``block.split`` allocates a block's lines
# all at once (which makes malloc return and re-fault the memory); a line that spans blocks is
# joined once, so even a huge line costs linear time.
_BLOCK: Final = 1 << 20


def _lines(stream: IO[bytes] | gzip.GzipFile) -> Iterator[bytes]:
    """The lines of ``stream`` without their ``\n`` (the last one may lack it).

    ``read1`` (one read of the underlying stream at a time) where there is one: a truncated
    gzip then fails after the lines before the damage, as line-by-line reading did."""
    read = getattr(stream, "read1", stream.read)
    pieces: list[bytes] = []  # the start of a line that continues in the next block
    while block := read(_BLOCK):
        find = block.find
        end = find(b"\n")
        if end < 0:
            pieces.append(block)
            continue
        if pieces:
            pieces.append(block[:end])
            yield b"".join(pieces)
            pieces = []
        else:
            yield block[:end]
        pos = end + 1
        while (end := find(b"\n", pos)) >= 0:
            yield block[pos:end]
            pos = end + 1
        if pos < len(block):
            pieces.append(block[pos:])
    if pieces:
        yield b"".join(pieces)


def _read_jsonl(path: str, stream: IO[bytes] | gzip.GzipFile, member: str | None = None
                ) -> Iterator[RawRecord]:
    offset = 0
    for lineno, line in enumerate(_lines(stream), 1):
        start = offset
        offset += len(line) + 1
        data = line.strip()  # the same object when there is nothing to strip
        if data:
            if data is not line:  # the record starts after the leading blanks
                start += len(line) - len(line.lstrip())
            yield RawRecord(path, member, lineno, start, data)


def _read_tar(path: str) -> Iterator[RawRecord]:
    with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
        for info in tar:
            if not info.isfile():
                continue
            fobj = tar.extractfile(info)
            if fobj is None:
                continue
            with fobj:
                if info.name.endswith((".jsonl", ".jsonl.gz")):
                    stream: IO[bytes] | gzip.GzipFile = fobj
                    if info.name.endswith(".gz"):
                        stream = gzip.GzipFile(fileobj=fobj)
                    yield from _read_jsonl(path, stream, info.name)
                else:
                    yield RawRecord(path, info.name, None, 0, fobj.read())


def read_records(path: str, kind: str) -> Iterator[RawRecord]:
    """The records of ``path`` read as ``kind`` (see ``file_kind``; ``sniff`` guesses)."""
    if kind == "yaml":
        raise UnsupportedFormat(
            "legacy YAML/lz4 OONI data is not supported (convert it to JSONL first)")
    if kind == "tar":
        yield from _read_tar(path)
        return
    with _open(path) as stream:
        if kind == "jsonl":
            yield from _read_jsonl(path, stream)
            return
        data = stream.read()
    text = data.lstrip()
    if kind == "sniff" and text[:3] in (b"---", b"%YA"):
        raise UnsupportedFormat("legacy YAML OONI data is not supported")
    if kind == "sniff" and text[:1] == b"{" and b"\n{" in text.rstrip():
        # several JSON objects, one per line
        yield from _read_jsonl(path, io.BytesIO(data))
        return
    yield RawRecord(path, None, None, 0, data)


def file_size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
