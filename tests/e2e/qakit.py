"""OONI's QA cases in the lab, shared by the end-to-end suites: the expectations (OONI's table,
``tests/lab/qa_expectations.json``), the cases that apply to a Linux probe, and one scenario
holding every policy-only case as a phase (so one lab per worker serves them all)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from censorscope.lab import scenarios
from censorscope.lab.schema import Scenario

_ROOT = Path(__file__).resolve().parents[2]
EXPECTATIONS: dict[str, dict[str, Any]] = json.loads(
    (_ROOT / "tests" / "lab" / "qa_expectations.json").read_text()
)["cases"]
# Android's getaddrinfo emulation has no Linux equivalent (see docs/probe.md).
EXCLUDED = {"dnsBlockingAndroidDNSCacheNoData"}
CASES = sorted(c for c in EXPECTATIONS if c not in EXCLUDED)


def _topology(s: Scenario) -> dict[str, Any]:
    """A scenario without its name, prose and phases: what the lab is built from."""
    data = s.model_dump(mode="json")
    for key in ("name", "description", "phases", "initial_phase", "schedule"):
        data.pop(key, None)
    return data


_BASE = scenarios.load("qa.successWithHTTP")
# Cases whose condition is only a censor policy share one lab and switch phases; a case that
# changes DNS data or sites (e.g. websiteDownNoAddrs adds a CNAME) gets a lab of its own.
SHARED = [c for c in CASES if _topology(scenarios.load(f"qa.{c}")) == _topology(_BASE)]


def qa_all_phases() -> Scenario:
    """The QA base with each shared case's network condition as a phase named after it."""
    base = _BASE.model_dump(mode="json")
    base["name"] = "qa-all"
    base["phases"] = {
        case: scenarios.load(f"qa.{case}").phases["case"].model_dump(mode="json")
        for case in SHARED
    }
    base["initial_phase"] = SHARED[0]
    return Scenario.model_validate(base)
