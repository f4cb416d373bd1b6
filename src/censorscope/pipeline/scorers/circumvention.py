"""Scorers of the circumvention tests: tor, vanilla_tor, torsf, psiphon, riseupvpn, openvpn,
meek_fronted_requests_test.

Tor targets, bootstrap progress and VPN success flags exist only in the raw measurement
(``subject.raw``); without it these scorers say ``insufficient``. RiseupVPN and meek decide
from the observation rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from censorscope.model.evidence import Evidence
from censorscope.model.rows import ObservationRow
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.evidence import say
from censorscope.pipeline.rules import CIRCUMVENTION

from .support import (
    Decider,
    Failure,
    answered,
    describe_failure,
    dominant,
    interference,
    key_found,
    probe_rows,
    raw_needed,
    row_failure,
    test_keys,
    url_host,
)

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["TorTarget", "bootstrapped", "riseup_rows", "score_meek", "score_openvpn",
           "score_psiphon", "score_riseupvpn", "score_tor", "score_tor_bootstrap",
           "tor_targets"]

decide = Decider(CIRCUMVENTION)


def _tor_target_failure(target: Mapping[str, Any]) -> tuple[Failure | None, str]:
    """(layer failure if one is recorded, the target's failure text)."""
    text = str(target.get("failure"))
    for c in target.get("tcp_connect") or ():
        status = c.get("status") if isinstance(c, dict) else None
        if isinstance(status, dict) and status.get("failure"):
            return ("tcp", str(status["failure"])), text
    for h in target.get("tls_handshakes") or ():
        if isinstance(h, dict) and h.get("failure"):
            return ("tls", str(h["failure"])), text
    if target.get("target_protocol") == "dir_port":
        return ("http", text.rsplit(": ", 1)[-1]), text
    return None, text


# kinds whose complete failure is a blocking signal even when other kinds work
_TOR_KINDS: Final = ("or_port_dirauth", "obfs4")


@dataclass(frozen=True)
class TorTarget:
    """One Tor target that was run: its key in ``targets``, kind, address and outcome."""

    name: str
    kind: str
    address: str
    failure: Failure | None = None
    text: str | None = None  # the target's failure (None: reachable)


def tor_targets(targets: Mapping[str, Any]) -> tuple[dict[str, list[TorTarget]],
                                                     dict[str, list[TorTarget]]]:
    """(reachable targets by kind, failed targets by kind); targets not run are left out."""
    ok: dict[str, list[TorTarget]] = {}
    failed: dict[str, list[TorTarget]] = {}
    for name, target in targets.items():
        if not isinstance(target, dict) or target.get("failure") is False:
            continue
        kind = str(target.get("target_protocol") or "unknown")
        addr = str(target.get("target_address") or name)
        if target.get("failure") is None:
            ok.setdefault(kind, []).append(TorTarget(str(name), kind, addr))
        else:
            fail, text = _tor_target_failure(target)
            failed.setdefault(kind, []).append(TorTarget(str(name), kind, addr, fail, text))
    return ok, failed


@register("tor")
def score_tor(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Per target (``failure`` null = reachable, a string = failed, false = not run): every
    target failed → blocked; every directory authority OR port, or every obfs4 bridge failed
    (two or more) while others work → blocked; otherwise ok (single relays go down)."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=(raw_needed("test_keys.targets"),))
    targets = tk.get("targets")
    if not isinstance(targets, dict) or not targets:
        return decide(subject, ctx, "test.no_data", evidence=(
            say("keys.not_a", key="test_keys.targets",
                found=key_found(subject.raw, "test_keys.targets"), shape="map"),))
    ok, failed = tor_targets(targets)
    n_ok = sum(map(len, ok.values()))
    n_fail = sum(map(len, failed.values()))
    lines = [say("tor.target_failed", target=t.name, kind=t.kind, address=t.address,
                 failure=t.text) for items in failed.values() for t in items]
    evidence = [say("tor.targets", reachable=n_ok, total=n_ok + n_fail), *lines[:6]]
    all_failures = [t.failure for items in failed.values() for t in items if t.failure]
    if n_ok == 0 and n_fail:
        return decide(subject, ctx, "tor.all_failed", failure=dominant(all_failures),
                      evidence=evidence)
    for kind in _TOR_KINDS:
        if len(failed.get(kind, ())) >= 2 and not ok.get(kind):
            fails = [t.failure for t in failed[kind] if t.failure]
            return decide(subject, ctx, "tor.kind_failed", failure=dominant(fails), evidence=[
                say("tor.kind_failed", kind=kind, failed=len(failed[kind])), *evidence])
    if n_ok == 0:
        return decide(subject, ctx, "test.no_data", evidence=(say("tor.none_run"),))
    return decide(subject, ctx, "tor.ok", evidence=evidence)


def _broken_torsf_client(subject: Subject) -> bool:
    """ooniprobe-android 3.8.3 (also ``-unattended``), whose torsf could not rendezvous."""
    meta = subject.meta
    return (meta.software_name or "").startswith("ooniprobe-android") and \
        meta.software_version == "3.8.3"


@register("vanilla_tor")
@register("torsf")
def score_tor_bootstrap(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """vanilla_tor / torsf: bootstrapped (``success``, no failure, or "Bootstrapped 100%" in
    the log) → ok; else blocked, with the progress reached. torsf from
    ooniprobe-android 3.8.3 is a known broken client → insufficient."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=(
            raw_needed("test_keys.success, failure, bootstrap_time, tor_progress, tor_logs"),))
    failure = tk.get("failure")
    boot = tk.get("bootstrap_time")
    if bootstrapped(tk):
        return decide(subject, ctx, "tor.bootstrap_ok", evidence=(
            say("tor.bootstrapped_in", bootstrap_time=boot) if boot
            else say("tor.bootstrapped"),))
    if failure is None:
        return decide(subject, ctx, "test.no_data", evidence=(say("tor.no_outcome"),))
    meta = subject.meta
    if meta.test_name == "torsf" and _broken_torsf_client(subject):
        return decide(subject, ctx, "torsf.known_bug", evidence=(say(
            "torsf.broken_client", failure=failure, software_name=meta.software_name,
            software_version=meta.software_version),))
    progress = tk.get("tor_progress")
    transport = tk.get("transport_name") or meta.test_name
    if progress is not None:
        item = say("tor.bootstrap_stalled", transport=transport, progress=progress,
                   summary=tk.get("tor_progress_summary"), failure=failure)
    else:
        item = say("tor.bootstrap_failed", transport=transport, failure=failure)
    return decide(subject, ctx, "tor.bootstrap_failed", evidence=(item,))


def bootstrapped(tk: Mapping[str, Any]) -> bool:
    """True if tor bootstrapped: "Bootstrapped 100%" in the log, ``success``, or no failure
    with a bootstrap time."""
    logs = tk.get("tor_logs")
    log_text = "\n".join(map(str, logs)) if isinstance(logs, list) else str(logs or "")
    boot = tk.get("bootstrap_time")
    return "Bootstrapped 100%" in log_text or tk.get("success") is True or (
        tk.get("failure") is None and isinstance(boot, int | float) and boot > 0)


@register("psiphon")
def score_psiphon(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Psiphon: a failure → blocked; no failure with a bootstrap time → ok."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=(
            raw_needed("test_keys.failure, bootstrap_time"),))
    failure = tk.get("failure")
    boot = tk.get("bootstrap_time")
    if failure:
        return decide(subject, ctx, "psiphon.failed", evidence=(
            say("keys.test_failed", test_name=subject.meta.test_name, failure=failure),))
    try:
        boot_s = float(boot) if boot is not None else 0.0
    except (TypeError, ValueError):
        boot_s = 0.0
    if boot_s > 0:
        return decide(subject, ctx, "psiphon.ok",
                      evidence=(say("psiphon.bootstrapped", bootstrap_time=boot_s),))
    return decide(subject, ctx, "test.no_data", evidence=(say("psiphon.no_outcome"),))


_CERT: Final = frozenset({"ssl_invalid_certificate", "ssl_unknown_authority",
                          "ssl_invalid_hostname"})


@register("riseupvpn")
def score_riseupvpn(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """RiseupVPN: the API (``*.riseup.net`` HTTPS) must answer; certificate errors are
    ambiguous (Riseup's own CA; the 2021 Let's Encrypt root expiry) → insufficient; then at
    least one gateway must accept TCP."""
    api, gateways = riseup_rows(probe_rows(subject))
    if not api and not gateways:
        return decide(subject, ctx, "test.no_data", evidence=(say("riseupvpn.none"),))
    evidence: list[Evidence] = []
    api_fails = [(r, f) for r in api if (f := row_failure(r)) is not None]
    api_ok = any(answered(r) for r in api)
    if api_fails and not api_ok:
        evidence += [describe_failure(r, f) for r, f in api_fails[:4]]
        if all(f[1] in _CERT for _, f in api_fails):
            return decide(subject, ctx, "riseupvpn.api_cert", evidence=evidence)
        dom = dominant(f for _, f in api_fails if f[1] not in _CERT)
        if dom is not None and interference(dom[1]):
            return decide(subject, ctx, "riseupvpn.api_failed", failure=dom, evidence=evidence)
        return decide(subject, ctx, "test.no_data", evidence=evidence)
    if gateways and not any(r.tcp_success for r in gateways):
        fails = [("tcp", r.tcp_failure or "unknown_failure") for r in gateways]
        return decide(subject, ctx, "riseupvpn.gateways_unreachable",
                      failure=dominant(fails),  # type: ignore[arg-type]
                      evidence=[describe_failure(r, f)  # type: ignore[arg-type]
                                for r, f in zip(gateways, fails, strict=True)][:6])
    ok_gw = sum(1 for r in gateways if r.tcp_success)
    if api_ok:
        evidence.append(say("riseupvpn.api_answered"))
    evidence.append(say("riseupvpn.gateways", ok=ok_gw, total=len(gateways)))
    return decide(subject, ctx, "riseupvpn.ok", evidence=evidence)


def riseup_rows(rows: list[ObservationRow]) -> tuple[list[ObservationRow],
                                                     list[ObservationRow]]:
    """(the API rows: ``*.riseup.net`` on 443; the gateway connects: every other connect)."""
    api = [r for r in rows if (url_host(r.http_request_url) or r.tls_server_name or r.hostname
                               or "").endswith("riseup.net") and r.port in (None, 443)]
    gateways = [r for r in rows if r.tcp_success is not None and r not in api]
    return api, gateways


@register("openvpn")
def score_openvpn(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """OpenVPN: ``success`` → ok; a failed TCP connect to the remote → blocked/tcp; another
    failure → blocked (the handshake failed)."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=(
            raw_needed("test_keys.success, failure, remote"),))
    remote = tk.get("remote") or subject.meta.input
    tcp_fail = [r for r in probe_rows(subject) if r.tcp_success is False]
    if tk.get("success") is True:
        boot = tk.get("bootstrap_time")
        return decide(subject, ctx, "openvpn.ok", evidence=(
            say("openvpn.handshake_in", remote=remote, bootstrap_time=float(boot))
            if isinstance(boot, int | float) else say("openvpn.handshake", remote=remote),))
    if tcp_fail:
        r = tcp_fail[0]
        f: Failure = ("tcp", r.tcp_failure or "unknown_failure")
        return decide(subject, ctx, "openvpn.tcp_failed", failure=f,
                      evidence=(describe_failure(r, f),))
    if tk.get("success") is False or tk.get("failure"):
        return decide(subject, ctx, "openvpn.failed", evidence=(
            say("openvpn.failed", remote=remote, failure=tk.get("failure")),))
    return decide(subject, ctx, "test.no_data", evidence=(say("openvpn.no_outcome"),))


@register("meek_fronted_requests_test")
def score_meek(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Domain fronting: a request failing before a response → blocked at its layer; a
    response other than 200 → the CDN no longer serves the fronted host (down); all 200 →
    ok. The ``Server`` header is not used (fastpath's ``ECAcc`` check is CDN-specific)."""
    rows = [r for r in probe_rows(subject) if r.http_success is not None]
    if not rows:
        return decide(subject, ctx, "test.no_data", evidence=(say("meek.none"),))
    for r in rows:
        f = row_failure(r)
        if f is not None and not answered(r):
            return decide(subject, ctx, "meek.failed", failure=f,
                          evidence=(describe_failure(r, f),))
    bad = [r for r in rows if r.http_response_status_code != 200]
    codes = [say("meek.answered", observation=r.observation_idx, url=r.http_request_url,
                 status_code=r.http_response_status_code) for r in rows]
    return decide(subject, ctx, "meek.not_served" if bad else "meek.ok", evidence=codes)
