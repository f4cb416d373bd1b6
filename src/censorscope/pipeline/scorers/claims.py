"""The claims of the scorers of the other OONI tests: how their evidence is worded and checked.

Every item a scorer emits is made with :func:`censorscope.pipeline.evidence.say` and one of the
claims below; each checker verifies the facts against the measurement (``Facts``):

- ``rows.*``: one observation row (``observation`` is its ``observation_idx`` among the
  probe's rows) failed at a layer, or connected; checked against the rows, so they hold when
  re-scoring stored rows too;
- ``keys.*`` and the raw-key claims of a family (``tor.``, ``dnscheck.``, ``hhfm.`` …): test
  keys of the raw measurement, named by their path (``test_keys.targets["1.2.3.4:443"].failure``,
  see :func:`key_path`); these need ``Facts.raw`` and say so without it (the scorers make them
  only when the raw measurement was at hand, and ``scorer.raw_needed`` otherwise);
- counts and summaries of a family (``telegram.dc_tcp``, ``fbm.connects`` …) are recomputed
  from the rows with the scorer's own selection of rows and compared fact by fact.

Claim ids are prefixed per family: ``rows.``, ``keys.``, ``scorer.``, ``telegram.``,
``whatsapp.``, ``signal.``, ``fbm.``, ``tor.``, ``torsf.``, ``psiphon.``, ``riseupvpn.``,
``openvpn.``, ``meek.``, ``urlgetter.``, ``dnscheck.``, ``stun.``, ``browser_web.``,
``hhfm.``, ``hirl.``, ``fallback.``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from censorscope.model.evidence import Evidence
from censorscope.model.ipinfo import is_bogon
from censorscope.model.rows import ObservationRow
from censorscope.pipeline.evidence import Facts, claim

from . import circumvention, messaging, middlebox, probes
from .support import (
    MISSING,
    answered,
    endpoint,
    failure_facts,
    found_as,
    key_found,
    key_path,
    lookup_key,
    parse_key_path,
    row_failure,
)

# the key paths (defined in .support, where the scorers use them too)
__all__ = ["NEEDS_RAW", "found_as", "key_found", "key_path", "lookup_key", "parse_key_path"]

NEEDS_RAW: Final = "the raw measurement is needed to check this"

def _test_keys(facts: Facts) -> Mapping[str, Any] | None:
    tk = facts.raw.get("test_keys") if facts.raw is not None else None
    return tk if isinstance(tk, Mapping) else None


def _compare(stated: Mapping[str, Any], actual: Mapping[str, Any]) -> str | None:
    """Why ``stated`` is not ``actual`` (None: every fact holds, and none is missing)."""
    for key, value in actual.items():
        if key not in stated:
            return f"the fact {key} is missing"
        if stated[key] != value:
            return f"{key} is {value!r}, not {stated[key]!r}"
    extra = sorted(set(stated) - set(actual))
    return f"{extra[0]} is not a fact of this claim" if extra else None


Recompute = Callable[[Evidence, Facts], "Mapping[str, Any] | str"]


def _recomputed(claim_id: str, template: str, *, raw: bool = False
                ) -> Callable[[Recompute], Recompute]:
    """Register ``claim_id`` with a checker that recomputes the facts from the measurement
    (the decorated function returns them, or why it cannot) and compares them with the
    stated ones; ``raw``: the facts come from the raw measurement's test keys."""

    def register(fn: Recompute) -> Recompute:
        def check(ev: Evidence, facts: Facts) -> str | None:
            if raw and _test_keys(facts) is None:
                return NEEDS_RAW
            actual = fn(ev, facts)
            return actual if isinstance(actual, str) else _compare(ev.facts, actual)

        claim(claim_id, template)(check)
        return fn

    return register


def _probe(facts: Facts) -> list[ObservationRow]:
    return [r for r in facts.observations if r.origin == "probe"]


def _row(ev: Evidence, facts: Facts) -> ObservationRow | str:
    idx = ev.facts.get("observation")
    for r in _probe(facts):
        if r.observation_idx == idx:
            return r
    return f"the probe has no observation {idx!r}"


# --- generic: the scorer, the raw test keys, observation rows -------------------------------

@claim("scorer.raw_needed", "the raw measurement is needed: {keys} are not in the observation "
                            "rows")
def _raw_needed(ev: Evidence, facts: Facts) -> str | None:
    if facts.raw is not None:
        return "the raw measurement was at hand"
    return None if set(ev.facts) == {"keys"} else "unexpected facts"


@_recomputed("keys.value", "{key} is {value!r}", raw=True)
def _key_value(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    key = str(ev.facts.get("key"))
    try:
        value = lookup_key(facts.raw, key)
    except ValueError as exc:
        return str(exc)
    return {"key": key, "value": None if value is MISSING else value}


_SHAPES: Final[dict[str, Callable[[Any], bool]]] = {
    "map": lambda v: isinstance(v, Mapping) and bool(v),
    "list": lambda v: isinstance(v, list) and bool(v),
    "list of objects": lambda v: isinstance(v, list) and bool(v) and isinstance(v[0], Mapping),
}


@_recomputed("keys.not_a", "{key} is {found}, not a non-empty {shape}", raw=True)
def _key_not_a(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    key, shape = str(ev.facts.get("key")), str(ev.facts.get("shape"))
    if shape not in _SHAPES:
        return f"unknown shape {shape!r}"
    try:
        value = lookup_key(facts.raw, key)
    except ValueError as exc:
        return str(exc)
    if value is not MISSING and _SHAPES[shape](value):
        return f"{key} is a non-empty {shape}"
    return {"key": key, "found": found_as(value), "shape": shape}


@_recomputed("keys.test_failed", "{test_name} failed: {failure}", raw=True)
def _test_failed(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    if not tk.get("failure"):
        return "test_keys.failure is empty"
    return {"test_name": facts.meta.test_name, "failure": tk.get("failure")}


@_recomputed("keys.test_completed", "{test_name} completed", raw=True)
def _test_completed(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    if tk.get("failure"):
        return f"test_keys.failure is {tk.get('failure')!r}"
    return {"test_name": facts.meta.test_name}


def _row_failure_claim(claim_id: str, template: str) -> None:
    layer = claim_id.split(".", 1)[1].split("_", 1)[0]

    @_recomputed(claim_id, template)
    def check(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
        row = _row(ev, facts)
        if isinstance(row, str):
            return row
        found = failure_facts(row, layer)  # type: ignore[arg-type]
        if found is None:
            return f"observation {row.observation_idx} has no {layer} failure"
        if found[0] != claim_id:
            return f"the row's failure is a {found[0]} statement"
        return found[1]


_row_failure_claim("rows.dns_failed", "DNS lookup of {hostname} failed: {failure}")
_row_failure_claim("rows.dns_failed_via",
                   "DNS lookup of {hostname} via {resolver} failed: {failure}")
_row_failure_claim("rows.tcp_failed", "TCP connect to {endpoint} failed: {failure}")
_row_failure_claim("rows.tls_failed", "TLS handshake with {endpoint} failed: {failure}")
_row_failure_claim("rows.http_failed", "HTTP request to {url} failed: {failure}")


@_recomputed("rows.tcp_connected", "{endpoint} connected")
def _tcp_connected(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    row = _row(ev, facts)
    if isinstance(row, str):
        return row
    if row.tcp_success is not True:
        return f"observation {row.observation_idx} did not connect"
    return {"observation": row.observation_idx, "endpoint": endpoint(row), "ip": row.ip,
            "port": row.port}


@claim("rows.none", "no observation rows")
def _no_rows(ev: Evidence, facts: Facts) -> str | None:
    n = len(_probe(facts))
    return f"the probe has {n} observation rows" if n else None


@_recomputed("fallback.rows", "no scorer for {test_name}: {rows} observation rows, {failed} "
                              "with a failure")
def _fallback_rows(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    rows = _probe(facts)
    if not rows:
        return "the probe has no observation rows"
    return {"test_name": facts.meta.test_name, "rows": len(rows),
            "failed": sum(1 for r in rows if row_failure(r) is not None)}


@_recomputed("fallback.no_rows", "no scorer for {test_name}: no observation rows")
def _fallback_no_rows(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    n = len(_probe(facts))
    return f"the probe has {n} observation rows" if n else {"test_name": facts.meta.test_name}


# --- messaging: counts recomputed from the rows ---------------------------------------------

def _empty_when(check: Callable[[list[ObservationRow]], bool], what: str
                ) -> Callable[[Evidence, Facts], str | None]:
    def checker(ev: Evidence, facts: Facts) -> str | None:
        if ev.facts:
            return "this claim states no facts"
        return None if check(_probe(facts)) else what
    return checker


def _ok_of(rows: Sequence[ObservationRow], ok: Callable[[ObservationRow], Any]
           ) -> dict[str, int]:
    return {"ok": sum(1 for r in rows if ok(r)), "total": len(rows)}


claim("telegram.none", "no Telegram connects or requests")(_empty_when(
    lambda rows: not any(messaging.telegram_rows(rows)),
    "the probe has Telegram connects or requests"))


@_recomputed("telegram.dc_tcp", "{ok} of {total} TCP connects to Telegram data centres "
                                "succeeded")
def _telegram_dc_tcp(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    return _ok_of(messaging.telegram_rows(_probe(facts))[1], lambda r: r.tcp_success)


@_recomputed("telegram.dc_http", "{ok} of {total} HTTP POSTs to Telegram data centres "
                                 "succeeded")
def _telegram_dc_http(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    return _ok_of(messaging.telegram_rows(_probe(facts))[2], lambda r: r.http_success)


@_recomputed("telegram.web_answered", "https://web.telegram.org/ answered (HTTP "
                                      "{status_codes})")
def _telegram_web_answered(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    codes = messaging.status_codes(messaging.telegram_rows(_probe(facts))[0])
    return {"status_codes": codes} if codes else "web.telegram.org got no answer"


claim("telegram.web_connected", "web.telegram.org connected")(_empty_when(
    lambda rows: (web := messaging.telegram_rows(rows)[0]) != []
    and all(row_failure(r) is None for r in web),
    "web.telegram.org was not tried or failed"))

claim("whatsapp.none", "no WhatsApp connects or requests")(_empty_when(
    lambda rows: not any(messaging.whatsapp_rows(rows)),
    "the probe has WhatsApp connects or requests"))


@_recomputed("whatsapp.endpoints_tcp", "{ok} of {total} TCP connects to WhatsApp endpoints "
                                       "succeeded")
def _whatsapp_endpoints(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    ep = [r for r in messaging.whatsapp_rows(_probe(facts))[0] if r.tcp_success is not None]
    return _ok_of(ep, lambda r: r.tcp_success)


@_recomputed("whatsapp.answered", "{url} answered with HTTP {status_codes}")
def _whatsapp_answered(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    url = ev.facts.get("url")
    _, reg, web = messaging.whatsapp_rows(_probe(facts))
    rows = {messaging.WHATSAPP_REGISTRATION: reg, messaging.WHATSAPP_WEB: web}.get(str(url))
    if rows is None:
        return f"{url} is not a WhatsApp service the test fetches"
    codes = messaging.status_codes(rows)
    return {"url": url, "status_codes": codes} if codes else f"{url} got no answer"


@_recomputed("whatsapp.connected", "{url} connected without an HTTP answer")
def _whatsapp_connected(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    url = ev.facts.get("url")
    _, reg, web = messaging.whatsapp_rows(_probe(facts))
    rows = {messaging.WHATSAPP_REGISTRATION: reg, messaging.WHATSAPP_WEB: web}.get(str(url))
    if not rows:
        return f"{url} was not tried"
    if any(row_failure(r) for r in rows) or messaging.status_codes(rows):
        return f"{url} failed or answered"
    return {"url": url}


claim("signal.none", "no Signal HTTPS requests")(_empty_when(
    lambda rows: not any(r.http_success is not None for r in messaging.signal_rows(rows)[0]),
    "the probe has Signal HTTPS requests"))


@_recomputed("signal.answered", "answered: {hosts}")
def _signal_answered(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    by_host = messaging.signal_rows(_probe(facts))[1]
    return {"hosts": sorted(h for h, rs in by_host.items() if any(answered(r) for r in rs))}


claim("fbm.none", "no Facebook service lookups")(_empty_when(
    lambda rows: not messaging.facebook_rows(rows), "the probe has Facebook service rows"))


def _fbm_answer(ev: Evidence, facts: Facts) -> ObservationRow | str:
    row = _row(ev, facts)
    if isinstance(row, str):
        return row
    if row.dns_answer_type not in ("A", "AAAA") or not row.dns_answer:
        return f"observation {row.observation_idx} is not an address answer"
    if row not in messaging.facebook_rows([row]):
        return f"{row.hostname} is not a Facebook service"
    return row


@_recomputed("fbm.bogon", "{hostname} resolved to the bogon {ip}")
def _fbm_bogon(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    row = _fbm_answer(ev, facts)
    if isinstance(row, str):
        return row
    if not (row.ip_is_bogon or is_bogon(row.dns_answer or "")):
        return f"{row.dns_answer} is not a bogon"
    return {"observation": row.observation_idx, "hostname": (row.hostname or "").lower(),
            "ip": row.dns_answer}


@_recomputed("fbm.outside_as", "{hostname} resolved to {ip} (AS{asn}), outside "
                               "AS{facebook_asn}, and no valid TLS handshake for the name is "
                               "known at that IP")
def _fbm_outside(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    row = _fbm_answer(ev, facts)
    if isinstance(row, str):
        return row
    host = (row.hostname or "").lower()
    if (row.dns_answer, host) in messaging.verified_tls(_probe(facts)):
        return f"{row.dns_answer} completed a verified TLS handshake for {host}"
    # the AS is the probe's annotation when it made one, else the analysis' IP → AS table
    asn = row.dns_answer_asn or ev.facts.get("asn")
    if asn == messaging.FACEBOOK_AS:
        return f"{row.dns_answer} is in AS{asn}"
    return {"observation": row.observation_idx, "hostname": host, "ip": row.dns_answer,
            "asn": asn, "facebook_asn": messaging.FACEBOOK_AS}


@_recomputed("fbm.services", "{services} services resolved consistently")
def _fbm_services(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    rows = messaging.facebook_rows(_probe(facts))
    if any(r.dns_failure for r in rows):
        return "a Facebook service did not resolve"
    return {"services": len({(r.hostname or "").lower() for r in rows})}


@_recomputed("fbm.connects", "{ok} of {total} TCP connects succeeded")
def _fbm_connects(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    rows = [r for r in messaging.facebook_rows(_probe(facts)) if r.tcp_success is not None]
    return _ok_of(rows, lambda r: r.tcp_success)


# --- circumvention --------------------------------------------------------------------------

def _targets(facts: Facts) -> Mapping[str, Any] | str:
    targets = (_test_keys(facts) or {}).get("targets")
    return targets if isinstance(targets, Mapping) else "test_keys.targets is not a map"


@_recomputed("tor.targets", "{reachable} of {total} Tor targets reachable", raw=True)
def _tor_targets(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    targets = _targets(facts)
    if isinstance(targets, str):
        return targets
    ok, failed = circumvention.tor_targets(targets)
    n_ok = sum(map(len, ok.values()))
    return {"reachable": n_ok, "total": n_ok + sum(map(len, failed.values()))}


@_recomputed("tor.target_failed", "{kind} {address} failed: {failure}", raw=True)
def _tor_target_failed(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    targets = _targets(facts)
    if isinstance(targets, str):
        return targets
    name = ev.facts.get("target")
    path = key_path("test_keys", "targets", str(name))
    target = targets.get(str(name))
    if not isinstance(target, Mapping):
        return f"{path} is not a target"
    if not target.get("failure"):
        return f"{path}.failure is {target.get('failure')!r}"
    return {"target": name, "kind": str(target.get("target_protocol") or "unknown"),
            "address": str(target.get("target_address") or name),
            "failure": str(target.get("failure"))}


@_recomputed("tor.kind_failed", "every {kind} target failed", raw=True)
def _tor_kind_failed(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    targets = _targets(facts)
    if isinstance(targets, str):
        return targets
    kind = str(ev.facts.get("kind"))
    ok, failed = circumvention.tor_targets(targets)
    if ok.get(kind) or not failed.get(kind):
        return f"{len(ok.get(kind, ()))} {kind} targets were reachable, " \
               f"{len(failed.get(kind, ()))} failed"
    return {"kind": kind, "failed": len(failed[kind])}


@claim("tor.none_run", "no Tor target was run")
def _tor_none_run(ev: Evidence, facts: Facts) -> str | None:
    if _test_keys(facts) is None:
        return NEEDS_RAW
    targets = _targets(facts)
    if isinstance(targets, str):
        return targets
    ok, failed = circumvention.tor_targets(targets)
    return f"{sum(map(len, (*ok.values(), *failed.values())))} targets were run" \
        if ok or failed else None


def _bootstrap(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    if not circumvention.bootstrapped(tk):
        return "tor did not bootstrap"
    return {"bootstrap_time": tk.get("bootstrap_time")} if ev.claim == "tor.bootstrapped_in" \
        else {}


_recomputed("tor.bootstrapped", "tor bootstrapped", raw=True)(_bootstrap)
_recomputed("tor.bootstrapped_in", "tor bootstrapped in {bootstrap_time} s", raw=True)(_bootstrap)


@_recomputed("tor.no_outcome", "no failure and no bootstrap", raw=True)
def _tor_no_outcome(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    if tk.get("failure") is not None or circumvention.bootstrapped(tk):
        return "the test keys have a failure or a bootstrap"
    return {}


def _bootstrap_failed(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    if tk.get("failure") is None or circumvention.bootstrapped(tk):
        return "tor bootstrapped or has no failure"
    out = {"transport": tk.get("transport_name") or facts.meta.test_name,
           "failure": tk.get("failure")}
    if ev.claim == "tor.bootstrap_stalled":
        if tk.get("tor_progress") is None:
            return "test_keys.tor_progress is null"
        out.update(progress=tk.get("tor_progress"), summary=tk.get("tor_progress_summary"))
    return out


_recomputed("tor.bootstrap_stalled", "tor ({transport}) failed to bootstrap at {progress}% "
                                     "({summary}): {failure}", raw=True)(_bootstrap_failed)
_recomputed("tor.bootstrap_failed", "tor ({transport}) failed to bootstrap: {failure}",
            raw=True)(_bootstrap_failed)


@_recomputed("torsf.broken_client", "torsf failed ({failure}) on {software_name} "
                                    "{software_version}", raw=True)
def _torsf_broken(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    meta = facts.meta
    if meta.test_name != "torsf":
        return f"the test is {meta.test_name}"
    return {"failure": (_test_keys(facts) or {}).get("failure"),
            "software_name": meta.software_name, "software_version": meta.software_version}


@_recomputed("psiphon.bootstrapped", "psiphon bootstrapped in {bootstrap_time:.2f} s", raw=True)
def _psiphon_bootstrapped(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    if tk.get("failure"):
        return f"test_keys.failure is {tk.get('failure')!r}"
    try:
        return {"bootstrap_time": float(tk.get("bootstrap_time"))}  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "test_keys.bootstrap_time is not a number"


@_recomputed("psiphon.no_outcome", "no failure and no bootstrap time", raw=True)
def _psiphon_no_outcome(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    boot = tk.get("bootstrap_time")
    if tk.get("failure") or (isinstance(boot, int | float) and boot > 0):
        return "the test keys have a failure or a bootstrap time"
    return {}


claim("riseupvpn.none", "no API request or gateway")(_empty_when(
    lambda rows: not any(circumvention.riseup_rows(rows)),
    "the probe has RiseupVPN API rows or gateway connects"))
claim("riseupvpn.api_answered", "the RiseupVPN API answered")(_empty_when(
    lambda rows: any(answered(r) for r in circumvention.riseup_rows(rows)[0]),
    "the RiseupVPN API did not answer"))


@_recomputed("riseupvpn.gateways", "{ok} of {total} gateway connects succeeded")
def _riseup_gateways(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    return _ok_of(circumvention.riseup_rows(_probe(facts))[1], lambda r: r.tcp_success)


def _openvpn(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    out: dict[str, Any] = {"remote": tk.get("remote") or facts.meta.input}
    if ev.claim == "openvpn.failed":
        if tk.get("success") is True or not (tk.get("success") is False or tk.get("failure")):
            return "the OpenVPN test keys say it did not fail"
        out["failure"] = tk.get("failure")
        return out
    if tk.get("success") is not True:
        return f"test_keys.success is {tk.get('success')!r}"
    if ev.claim == "openvpn.handshake_in":
        boot = tk.get("bootstrap_time")
        if not isinstance(boot, int | float):
            return "test_keys.bootstrap_time is not a number"
        out["bootstrap_time"] = float(boot)
    return out


_recomputed("openvpn.handshake", "OpenVPN handshake with {remote} completed",
            raw=True)(_openvpn)
_recomputed("openvpn.handshake_in", "OpenVPN handshake with {remote} completed in "
                                    "{bootstrap_time:.2f} s", raw=True)(_openvpn)
_recomputed("openvpn.failed", "OpenVPN bootstrap with {remote} failed: {failure}",
            raw=True)(_openvpn)


@_recomputed("openvpn.no_outcome", "no success flag and no failure", raw=True)
def _openvpn_no_outcome(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    if tk.get("success") is not None or tk.get("failure"):
        return "the test keys have a success flag or a failure"
    return {}


claim("meek.none", "no fronted requests")(_empty_when(
    lambda rows: not any(r.http_success is not None for r in rows),
    "the probe made fronted requests"))


@_recomputed("meek.answered", "{url} answered HTTP {status_code}")
def _meek_answered(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    row = _row(ev, facts)
    if isinstance(row, str):
        return row
    if row.http_success is None:
        return f"observation {row.observation_idx} made no request"
    return {"observation": row.observation_idx, "url": row.http_request_url,
            "status_code": row.http_response_status_code}


# --- building-block and performance tests ---------------------------------------------------

@_recomputed("urlgetter.operation_failed", "{operation} failed: {failure}", raw=True)
def _urlgetter_failed(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    if not tk.get("failure"):
        return "test_keys.failure is empty"
    return {"operation": tk.get("failed_operation"), "failure": tk.get("failure")}


@_recomputed("urlgetter.answered", "{input}: HTTP {status_codes}")
def _urlgetter_answered(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    codes = messaging.status_codes(_probe(facts))
    return {"input": facts.meta.input, "status_codes": codes} if codes else "nothing answered"


@_recomputed("urlgetter.completed", "{input}: the operation completed")
def _urlgetter_completed(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts)
    rows = _probe(facts)
    if tk is not None and tk.get("failure"):
        return f"test_keys.failure is {tk.get('failure')!r}"
    if tk is None and any(row_failure(r) for r in rows) and not any(map(answered, rows)):
        return "an operation failed and nothing answered"
    return {"input": facts.meta.input}


def _lookup(facts: Facts, url: Any) -> Mapping[str, Any] | str:
    lookups = (_test_keys(facts) or {}).get("lookups")
    keys = lookups.get(url) if isinstance(lookups, Mapping) and isinstance(url, str) else None
    if not isinstance(keys, Mapping):
        return f"{key_path('test_keys', 'lookups', str(url))} is not a lookup"
    return keys


@_recomputed("dnscheck.bootstrap_failed", "resolving the address of {resolver} failed: "
                                          "{failure}", raw=True)
def _dnscheck_bootstrap(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    failure = (_test_keys(facts) or {}).get("bootstrap_failure")
    if not failure:
        return "test_keys.bootstrap_failure is empty"
    return {"resolver": facts.meta.input or "the resolver", "failure": failure}


@_recomputed("dnscheck.resolved", "{url} resolved {domain} to {answers}", raw=True)
def _dnscheck_resolved(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    keys = _lookup(facts, ev.facts.get("url"))
    if isinstance(keys, str):
        return keys
    answers, failure, _ = probes.lookup_result(keys)
    if failure is not None or not answers:
        return f"{ev.facts.get('url')} did not answer"
    return {"url": ev.facts.get("url"),
            "domain": (_test_keys(facts) or {}).get("domain") or "the test domain",
            "answers": answers[:3]}


@_recomputed("dnscheck.lookup_failed", "{url} failed: {failure}", raw=True)
def _dnscheck_failed(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    keys = _lookup(facts, ev.facts.get("url"))
    if isinstance(keys, str):
        return keys
    _, failure, text = probes.lookup_result(keys)
    if failure is None:
        return f"{ev.facts.get('url')} did not fail"
    return {"url": ev.facts.get("url"), "failure": text or failure[1]}


@_recomputed("dnscheck.no_outcome", "no lookup answered or failed", raw=True)
def _dnscheck_no_outcome(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    lookups = (_test_keys(facts) or {}).get("lookups")
    for keys in (lookups.values() if isinstance(lookups, Mapping) else ()):
        if isinstance(keys, Mapping):
            answers, failure, _ = probes.lookup_result(keys)
            if answers or failure:
                return "a lookup answered or failed"
    return {}


def _stun(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    out = {"endpoint": tk.get("endpoint") or facts.meta.input}
    if ev.claim == "stun.failed":
        if not tk.get("failure"):
            return "test_keys.failure is empty"
        return {**out, "failure": tk.get("failure")}
    return f"test_keys.failure is {tk.get('failure')!r}" if tk.get("failure") else out


_recomputed("stun.failed", "STUN binding request to {endpoint} failed: {failure}",
            raw=True)(_stun)
_recomputed("stun.answered", "STUN server {endpoint} answered the binding request",
            raw=True)(_stun)


def _browser(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = _test_keys(facts) or {}
    result = "ok" if ev.claim == "browser_web.loaded" else "error"
    if tk.get("result") != result:
        return f"test_keys.result is {tk.get('result')!r}"
    return {"browser": probes.browser_name(tk), "input": facts.meta.input,
            "load_time_ms": tk.get("load_time_ms")}


_recomputed("browser_web.loaded", "{browser} loaded {input} in {load_time_ms} ms",
            raw=True)(_browser)
_recomputed("browser_web.failed", "{browser} failed to load {input} after {load_time_ms} ms",
            raw=True)(_browser)


# --- middlebox tests ------------------------------------------------------------------------

def _echo(facts: Facts) -> middlebox.HeaderEcho | str:
    requests = (_test_keys(facts) or {}).get("requests")
    if not isinstance(requests, list) or not requests or not isinstance(requests[0], Mapping):
        return "test_keys.requests has no transaction"
    echo = middlebox.header_echo(requests[0])
    return "test_keys.requests[0] has no response" if echo is None else echo


@_recomputed("hhfm.no_response", "no response from the echo server ({failure})", raw=True)
def _hhfm_no_response(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    echo = _echo(facts)
    if isinstance(echo, middlebox.HeaderEcho):
        return "the echo server answered"
    requests = (_test_keys(facts) or {}).get("requests")
    if not isinstance(requests, list) or not requests or not isinstance(requests[0], Mapping):
        return echo
    return {"failure": requests[0].get("failure")}


@_recomputed("hhfm.not_echo", "the echo server's answer is not its JSON echo ({body_length} "
                              "bytes, HTTP {status_code}): something else answered", raw=True)
def _hhfm_not_echo(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    echo = _echo(facts)
    if isinstance(echo, str):
        return echo
    if echo.echoed is not None:
        return "the answer is the echo server's JSON"
    return {"body_length": echo.body_length, "status_code": echo.status_code}


def _echoed(facts: Facts) -> middlebox.HeaderEcho | str:
    echo = _echo(facts)
    if isinstance(echo, str) or echo.echoed is None:
        return echo if isinstance(echo, str) else "the answer is not the echo server's JSON"
    return echo


@_recomputed("hhfm.changes", "{changes} header change(s) between the probe and the echo "
                             "server", raw=True)
def _hhfm_changes(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    echo = _echoed(facts)
    return echo if isinstance(echo, str) else {"changes": len(echo.changes())}


def _hhfm_header(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    echo = _echoed(facts)
    if isinstance(echo, str):
        return echo
    header = ev.facts.get("header")
    for k, sent, got in echo.changes():
        if k == header:
            if (sent is None) != (ev.claim == "hhfm.header_added"):
                return f"{header} was {'added' if sent is None else 'sent'}"
            return {"header": k, "received": got} if sent is None else \
                {"header": k, "sent": sent, "received": got}
    return f"the header {header!r} came back unchanged or was never sent"


_recomputed("hhfm.header_changed", "{header}: {sent!r} → {received!r}", raw=True)(_hhfm_header)
_recomputed("hhfm.header_added", "added {header}: {received!r}", raw=True)(_hhfm_header)


@_recomputed("hhfm.unchanged", "the {headers} headers sent came back unchanged", raw=True)
def _hhfm_unchanged(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    echo = _echoed(facts)
    if isinstance(echo, str):
        return echo
    if echo.changes():
        return f"{len(echo.changes())} headers changed"
    return {"headers": len(echo.sent)}


def _lines(facts: Facts) -> tuple[list[Any], list[Any]] | str:
    tk = _test_keys(facts) or {}
    sent, received = tk.get("sent"), tk.get("received")
    if not isinstance(sent, list) or not isinstance(received, list):
        return "test_keys.sent or received is not a list"
    return sent, received


@_recomputed("hirl.nothing", "nothing was sent or received", raw=True)
def _hirl_nothing(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    lines = _lines(facts)
    return {} if isinstance(lines, str) or not any(lines) else "request lines were exchanged"


@_recomputed("hirl.changes", "{changed} of {sent} request lines were not echoed unchanged",
             raw=True)
def _hirl_changes(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    lines = _lines(facts)
    if isinstance(lines, str):
        return lines
    return {"changed": len(middlebox.hirl_differences(*lines)), "sent": len(lines[0])}


@_recomputed("hirl.line_changed", "request line {line} ({sent!r}…) came back as {received!r}",
             raw=True)
def _hirl_line(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    lines = _lines(facts)
    if isinstance(lines, str):
        return lines
    sent, received = lines
    line = ev.facts.get("line")
    if not isinstance(line, int) or not 1 <= line <= len(sent):
        return f"there is no request line {line!r}"
    if line - 1 not in middlebox.hirl_differences(sent, received):
        return f"request line {line} came back unchanged"
    got = received[line - 1] if line - 1 < len(received) else None
    return {"line": line, "sent": str(sent[line - 1])[:40],
            "received": middlebox.first_line(got)}


@_recomputed("hirl.unchanged", "all {sent} invalid request lines were echoed unchanged",
             raw=True)
def _hirl_unchanged(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    lines = _lines(facts)
    if isinstance(lines, str):
        return lines
    if middlebox.hirl_differences(*lines):
        return "some request lines came back changed"
    return {"sent": len(lines[0])}
