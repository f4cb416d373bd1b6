"""What the demo can use without a lab: the recordings of the seed cases' lab runs and the real
OONI samples, both shipped in the package (``censorscope/data/lab-recordings``,
``censorscope/data/ooni-samples``; see the README in each for where they come from and their
licence).

A recording is the measurements one root run of the demo wrote for a case (each probe run's
JSONL, concatenated and gzipped; their times are the case's, from the lab clock) and the lab's
ASN table for its networks, so ``reprocess --lab`` scores them as the lab run did.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .cases import CASES, Case

__all__ = ["Recording", "ooni_samples", "recordings"]


@dataclass(frozen=True)
class Recording:
    case: Case
    measurements: Path  # JSONL.gz
    asn_table: Path


def _data(*parts: str) -> Path:
    return Path(str(resources.files("censorscope.data").joinpath(*parts)))


def recordings() -> list[Recording]:
    """The shipped recordings, in the cases' order (a case without one is left out)."""
    found = []
    for name, case in CASES.items():
        msm = _data("lab-recordings", f"{name}.jsonl.gz")
        asn = _data("lab-recordings", f"{name}.asn.tsv")
        if msm.is_file() and asn.is_file():
            found.append(Recording(case, msm, asn))
    return found


def ooni_samples() -> list[Path]:
    """The shipped real OONI measurements (JSONL.gz files)."""
    return sorted(_data("ooni-samples").glob("*.jsonl.gz"))
