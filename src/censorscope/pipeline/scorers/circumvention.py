"""Scorers of the circumvention tests: tor, vanilla_tor, torsf, psiphon, riseupvpn, openvpn,
meek_fronted_requests_test.

Tor targets, bootstrap progress and VPN success flags exist only in the raw measurement
(``subject.raw``); without it these scorers say ``insufficient``. RiseupVPN and meek decide
from the observation rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject

from .common import (
    Failure,
    answered,
    decide,
    describe_failure,
    dominant,
    interference,
    probe_rows,
    row_failure,
    test_keys,
    url_host,
)

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["score_meek", "score_openvpn", "score_psiphon", "score_riseupvpn", "score_tor",
           "score_tor_bootstrap"]

_NO_RAW: Final = "the raw measurement is needed (its test-specific keys are not in the rows)"


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


@register("tor")
def score_tor(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Per target (``failure`` null = reachable, a string = failed, false = not run): every
    target failed → blocked; every directory authority OR port, or every obfs4 bridge failed
    (two or more) while others work → blocked; otherwise ok (single relays go down)."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=(_NO_RAW,))
    targets = tk.get("targets")
    if not isinstance(targets, dict) or not targets:
        return decide(subject, ctx, "test.no_data",
                      evidence=("targets is not a map of targets",))
    ok: dict[str, list[str]] = {}
    failed: dict[str, list[tuple[str, Failure | None, str]]] = {}
    for name, target in targets.items():
        if not isinstance(target, dict) or target.get("failure") is False:
            continue
        kind = str(target.get("target_protocol") or "unknown")
        addr = str(target.get("target_address") or name)
        if target.get("failure") is None:
            ok.setdefault(kind, []).append(addr)
        else:
            fail, text = _tor_target_failure(target)
            failed.setdefault(kind, []).append((addr, fail, text))
    n_ok = sum(map(len, ok.values()))
    n_fail = sum(map(len, failed.values()))
    lines = [f"{kind} {addr} failed: {text}" for kind, items in failed.items()
             for addr, _, text in items]
    evidence = [f"{n_ok} of {n_ok + n_fail} Tor targets reachable", *lines[:6]]
    all_failures = [f for items in failed.values() for _, f, _ in items if f]
    if n_ok == 0 and n_fail:
        return decide(subject, ctx, "tor.all_failed", failure=dominant(all_failures),
                      evidence=evidence)
    for kind in _TOR_KINDS:
        if len(failed.get(kind, ())) >= 2 and not ok.get(kind):
            fails = [f for _, f, _ in failed[kind] if f]
            return decide(subject, ctx, "tor.kind_failed", failure=dominant(fails),
                          evidence=[f"every {kind} target failed", *evidence])
    if n_ok == 0:
        return decide(subject, ctx, "test.no_data", evidence=("no Tor target was run",))
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
        return decide(subject, ctx, "test.no_data", evidence=(_NO_RAW,))
    logs = tk.get("tor_logs")
    log_text = "\n".join(map(str, logs)) if isinstance(logs, list) else str(logs or "")
    failure = tk.get("failure")
    boot = tk.get("bootstrap_time")
    if "Bootstrapped 100%" in log_text or tk.get("success") is True or (
            failure is None and isinstance(boot, int | float) and boot > 0):
        return decide(subject, ctx, "tor.bootstrap_ok",
                      evidence=(f"tor bootstrapped in {boot} s" if boot else "tor bootstrapped",))
    if failure is None:
        return decide(subject, ctx, "test.no_data", evidence=("no failure and no bootstrap",))
    if subject.meta.test_name == "torsf" and _broken_torsf_client(subject):
        return decide(subject, ctx, "torsf.known_bug",
                      evidence=(f"torsf failed ({failure}) on ooniprobe-android 3.8.3",))
    progress = tk.get("tor_progress")
    summary = tk.get("tor_progress_summary")
    where = f" at {progress}% ({summary})" if progress is not None else ""
    transport = tk.get("transport_name") or subject.meta.test_name
    return decide(subject, ctx, "tor.bootstrap_failed",
                  evidence=(f"tor ({transport}) failed to bootstrap{where}: {failure}",))


@register("psiphon")
def score_psiphon(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Psiphon: a failure → blocked; no failure with a bootstrap time → ok."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=(_NO_RAW,))
    failure = tk.get("failure")
    boot = tk.get("bootstrap_time")
    if failure:
        return decide(subject, ctx, "psiphon.failed",
                      evidence=(f"psiphon failed: {failure}",))
    try:
        boot_s = float(boot) if boot is not None else 0.0
    except (TypeError, ValueError):
        boot_s = 0.0
    if boot_s > 0:
        return decide(subject, ctx, "psiphon.ok",
                      evidence=(f"psiphon bootstrapped in {boot_s:.2f} s",))
    return decide(subject, ctx, "test.no_data", evidence=("no failure and no bootstrap time",))


_CERT: Final = frozenset({"ssl_invalid_certificate", "ssl_unknown_authority",
                          "ssl_invalid_hostname"})


@register("riseupvpn")
def score_riseupvpn(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """RiseupVPN: the API (``*.riseup.net`` HTTPS) must answer; certificate errors are
    ambiguous (Riseup's own CA; the 2021 Let's Encrypt root expiry) → insufficient; then at
    least one gateway must accept TCP."""
    rows = probe_rows(subject)
    api = [r for r in rows if (url_host(r.http_request_url) or r.tls_server_name or r.hostname
                               or "").endswith("riseup.net") and r.port in (None, 443)]
    gateways = [r for r in rows if r.tcp_success is not None and r not in api]
    if not api and not gateways:
        return decide(subject, ctx, "test.no_data", evidence=("no API request or gateway",))
    evidence: list[str] = []
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
    return decide(subject, ctx, "riseupvpn.ok", evidence=(
        f"the API answered; {ok_gw} of {len(gateways)} gateway connects succeeded",))


@register("openvpn")
def score_openvpn(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """OpenVPN: ``success`` → ok; a failed TCP connect to the remote → blocked/tcp; another
    failure → blocked (the handshake failed)."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=(_NO_RAW,))
    remote = tk.get("remote") or subject.meta.input
    tcp_fail = [r for r in probe_rows(subject) if r.tcp_success is False]
    if tk.get("success") is True:
        boot = tk.get("bootstrap_time")
        return decide(subject, ctx, "openvpn.ok", evidence=(
            f"OpenVPN handshake with {remote} completed"
            + (f" in {float(boot):.2f} s" if isinstance(boot, int | float) else ""),))
    if tcp_fail:
        r = tcp_fail[0]
        f: Failure = ("tcp", r.tcp_failure or "unknown_failure")
        return decide(subject, ctx, "openvpn.tcp_failed", failure=f,
                      evidence=(describe_failure(r, f),))
    if tk.get("success") is False or tk.get("failure"):
        return decide(subject, ctx, "openvpn.failed",
                      evidence=(f"OpenVPN bootstrap with {remote} failed: {tk.get('failure')}",))
    return decide(subject, ctx, "test.no_data", evidence=("no success flag and no failure",))


@register("meek_fronted_requests_test")
def score_meek(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Domain fronting: a request failing before a response → blocked at its layer; a
    response other than 200 → the CDN no longer serves the fronted host (down); all 200 →
    ok. The ``Server`` header is not used (fastpath's ``ECAcc`` check is CDN-specific)."""
    rows = [r for r in probe_rows(subject) if r.http_success is not None]
    if not rows:
        return decide(subject, ctx, "test.no_data", evidence=("no fronted requests",))
    for r in rows:
        f = row_failure(r)
        if f is not None and not answered(r):
            return decide(subject, ctx, "meek.failed", failure=f,
                          evidence=(describe_failure(r, f),))
    bad = [r for r in rows if r.http_response_status_code != 200]
    codes = ", ".join(f"{r.http_request_url} → HTTP {r.http_response_status_code}"
                      for r in rows)
    if bad:
        return decide(subject, ctx, "meek.not_served", evidence=(codes,))
    return decide(subject, ctx, "meek.ok", evidence=(codes,))
