"""Scorer of the ``throttling`` experiment: is the target slowed down against the control?

The downloads are the observation rows of transaction 1 (the target) and 2 (the control).

- The target never got an answer: its first failure (DNS, TCP, TLS, HTTP) decides, from the
  rows: ``blocked`` when the control answered (a TLS failure becomes ``tls.*.sni`` when the
  control used the target's IP with another server name: an SNI A/B test),
  ``insufficient`` otherwise.
- The target's body started: the rates are recomputed from the raw measurement's
  ``network_events`` (the ``bytes_received_cumulative`` samples and the first read after the
  request) with ``censorscope.model.throughput`` — never read from the probe's own
  ``verdict`` — and judged there: ``throttled`` → ``impaired``/``throttling``
  (``throttle.sni`` when the control came from the target's IP under another name, else
  ``throttle.ip``, as Web Connectivity names it; no mechanism without a control), ``ok``,
  or ``insufficient``. Stored rows hold no samples: ``reprocess`` gives ``insufficient``
  with ``scorer.raw_needed`` there.

Claims (``throttling.*``): ``download`` and ``judgement`` are recomputed from the raw test
keys; ``control_answered``, ``same_ip`` and ``no_target`` from the rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from censorscope.model.evidence import Evidence
from censorscope.model.rows import ObservationRow
from censorscope.model.throughput import BodyRate, Judgement, judge, kbps, rate_from_events
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.evidence import Facts, claim, say
from censorscope.pipeline.rules import THROTTLING

from .claims import NEEDS_RAW, _recomputed
from .support import (
    MISSING,
    Decider,
    Failure,
    answered,
    describe_failure,
    found_as,
    probe_rows,
    raw_needed,
    row_failure,
    test_keys,
)

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["CONTROL", "TARGET", "figures", "score_throttling"]

decide = Decider(THROTTLING)
TARGET: Final = 1
CONTROL: Final = 2
_ROLES: Final = {"target": TARGET, "control": CONTROL}
_LAYER_ORDER: Final = {"dns": 0, "tcp": 1, "tls": 2, "http": 3}
_SNI_MECHANISMS: Final = frozenset({"tls.timeout", "tls.reset", "tls.eof"})


def _rows(rows: list[ObservationRow], tid: int) -> list[ObservationRow]:
    return [r for r in rows if r.transaction_id == tid]


def _first_failure(rows: list[ObservationRow]) -> tuple[ObservationRow, Failure] | None:
    failed = [(r, f) for r in rows if (f := row_failure(r)) is not None]
    return min(failed, key=lambda rf: _LAYER_ORDER.get(rf[1][0], 9)) if failed else None


def _endpoint_row(rows: list[ObservationRow]) -> ObservationRow | None:
    return next((r for r in rows if r.ip and r.tcp_success is not None), None)


def _same_ip(rows: list[ObservationRow]) -> dict[str, Any] | None:
    """The facts of "the control used the target's IP with another server name"."""
    t, c = _endpoint_row(_rows(rows, TARGET)), _endpoint_row(_rows(rows, CONTROL))
    if t is None or c is None or t.ip != c.ip or not t.tls_server_name \
            or not c.tls_server_name or t.tls_server_name.lower() == c.tls_server_name.lower():
        return None
    return {"target_observation": t.observation_idx, "control_observation": c.observation_idx,
            "ip": t.ip, "control_name": c.tls_server_name, "target_name": t.tls_server_name}


# --- figures recomputed from the raw test keys -------------------------------------------------

def _download_rate(tk: Mapping[str, Any], role: str) -> tuple[Mapping[str, Any], BodyRate] | str:
    keys, events = tk.get(role), tk.get("network_events")
    size, interval = tk.get("size"), tk.get("sample_interval")
    if not isinstance(keys, Mapping) or not isinstance(events, list):
        return f"test_keys.{role} or test_keys.network_events is missing"
    if not isinstance(size, int) or not isinstance(interval, int | float) or interval <= 0:
        return "test_keys.size or test_keys.sample_interval is not a number"
    got = keys.get("bytes")
    complete = isinstance(got, int) and got >= size
    return keys, rate_from_events(events, _ROLES[role], complete=complete,
                                  sample_interval=float(interval))


def figures(tk: Mapping[str, Any], role: str) -> dict[str, Any] | str:
    """The facts of the ``throttling.download`` claim about ``role`` (or why there are none)."""
    found = _download_rate(tk, role)
    if isinstance(found, str):
        return found
    keys, rate = found
    p = rate.plateau
    return {"role": role, "url": keys.get("url"), "bytes": keys.get("bytes"),
            "body_seconds": round(rate.body_seconds, 3), "plateau_kbps": kbps(p.rate),
            "method": p.method, "windows": p.windows, "cv": p.cv}


def _judgement(tk: Mapping[str, Any]) -> Judgement | str:
    target = _download_rate(tk, "target")
    if isinstance(target, str):
        return target
    control = _download_rate(tk, "control") if tk.get("control") is not None else None
    if isinstance(control, str):
        return control
    return judge(target[1], control[1] if control is not None else None)


def _judgement_facts(tk: Mapping[str, Any]) -> dict[str, Any] | str:
    j = _judgement(tk)
    if isinstance(j, str):
        return j
    return {"verdict": j.verdict, "ratio": j.ratio, "reason": j.reason}


def _raw_tk(facts: Facts) -> Mapping[str, Any] | str:
    tk = facts.raw.get("test_keys") if facts.raw is not None else None
    return tk if isinstance(tk, Mapping) else NEEDS_RAW


@_recomputed("throttling.download", "{role} download of {url}: {bytes} bytes, {body_seconds} s "
                                    "after the first byte, plateau {plateau_kbps} kbit/s "
                                    "({method}, {windows} windows, cv {cv})", raw=True)
def _check_download(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _raw_tk(facts)
    role = ev.facts.get("role")
    if isinstance(tk, str) or role not in _ROLES:
        return tk if isinstance(tk, str) else f"{role!r} is not a download of this test"
    return figures(tk, str(role))


@_recomputed("throttling.judgement", "{verdict} (ratio of the plateaus {ratio}): {reason}",
             raw=True)
def _check_judgement(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _raw_tk(facts)
    return tk if isinstance(tk, str) else _judgement_facts(tk)


# --- facts from the rows --------------------------------------------------------------------

def _probe(facts: Facts) -> list[ObservationRow]:
    return [r for r in facts.observations if r.origin == "probe"]


def _control_answer(rows: list[ObservationRow]) -> dict[str, Any] | None:
    row = next((r for r in _rows(rows, CONTROL) if answered(r)), None)
    if row is None:
        return None
    return {"observation": row.observation_idx, "url": row.http_request_url,
            "status_code": row.http_response_status_code}


@_recomputed("throttling.control_answered", "the control download {url} got an answer "
                                            "(HTTP {status_code})")
def _check_control(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    found = _control_answer(_probe(facts))
    return found if found is not None else "the control download got no answer"


@_recomputed("throttling.same_ip", "the control used the target's address {ip} with the server "
                                   "name {control_name} instead of {target_name}")
def _check_same_ip(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    found = _same_ip(_probe(facts))
    return found if found is not None else "the control did not use the target's address"


@claim("throttling.no_target", "no observation of the target download")
def _check_no_target(ev: Evidence, facts: Facts) -> str | None:
    if ev.facts:
        return "this claim states no facts"
    return "the target download has observations" if _rows(_probe(facts), TARGET) else None


# --- the scorer ------------------------------------------------------------------------------

def _broken_keys(tk: Mapping[str, Any]) -> Evidence:
    """What in the raw test keys stops the rates from being recomputed."""
    for key, shape in (("target", "map"), ("network_events", "list")):
        value = tk.get(key, MISSING)
        ok = isinstance(value, Mapping) if shape == "map" else isinstance(value, list)
        if not ok or not value:
            return say("keys.not_a", key=f"test_keys.{key}", found=found_as(value), shape=shape)
    key = "test_keys.size" if not isinstance(tk.get("size"), int) else "test_keys.sample_interval"
    return say("keys.value", key=key, value=tk.get(key.rsplit(".", 1)[1]))


def _sni(verdict: Verdict) -> Verdict:
    """``verdict`` with its TLS mechanism named as SNI-triggered (``tls.reset.sni`` …)."""
    if verdict.mechanism not in _SNI_MECHANISMS:
        return verdict
    mech = f"{verdict.mechanism}.sni"
    layers = tuple(dataclasses.replace(lv, mechanism=mech) for lv in verdict.layers)
    return dataclasses.replace(verdict, mechanism=mech, layers=layers)


def _target_failed(subject: Subject, ctx: AnalysisContext | None, rows: list[ObservationRow],
                   failed: tuple[ObservationRow, Failure]) -> Verdict:
    evidence = [describe_failure(*failed)]
    control = _control_answer(rows)
    if control is None:
        return decide(subject, ctx, "throttling.target_failed_no_ctrl", failure=failed[1],
                      evidence=evidence)
    evidence.append(say("throttling.control_answered", **control))
    same = _same_ip(rows)
    if same is not None and failed[1][0] == "tls":
        evidence.append(say("throttling.same_ip", **same))
    verdict = decide(subject, ctx, "throttling.target_failed", failure=failed[1],
                     evidence=evidence)
    return _sni(verdict) if same is not None and failed[1][0] == "tls" else verdict


@register("throttling")
def score_throttling(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Target failure from the rows; otherwise the rates recomputed from the raw events."""
    rows = probe_rows(subject)
    target = _rows(rows, TARGET)
    if not target:
        return decide(subject, ctx, "test.no_data", evidence=(say("throttling.no_target"),))
    if not any(answered(r) for r in target):
        failed = _first_failure(target)
        if failed is not None:
            return _target_failed(subject, ctx, rows, failed)
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data",
                      evidence=(raw_needed("test_keys.network_events"),))
    judgement = _judgement(tk)
    if isinstance(judgement, str):
        return decide(subject, ctx, "test.no_data", evidence=(_broken_keys(tk),))
    has_control = tk.get("control") is not None
    evidence: list[Evidence] = []
    for role in ("target", "control") if has_control else ("target",):
        found = figures(tk, role)
        if isinstance(found, dict):
            evidence.append(say("throttling.download", **found))
    evidence.append(say("throttling.judgement", verdict=judgement.verdict, ratio=judgement.ratio,
                        reason=judgement.reason))
    if judgement.verdict == "ok":
        return decide(subject, ctx, "throttling.ok", evidence=evidence)
    if judgement.verdict == "inconclusive":
        return decide(subject, ctx, "throttling.inconclusive", evidence=evidence)
    if not has_control:
        return decide(subject, ctx, "throttling.policer_no_ctrl", evidence=evidence)
    same = _same_ip(rows)
    if same is not None:
        evidence.append(say("throttling.same_ip", **same))
        return decide(subject, ctx, "throttling.slow_sni", evidence=evidence)
    return decide(subject, ctx, "throttling.slow", evidence=evidence)
