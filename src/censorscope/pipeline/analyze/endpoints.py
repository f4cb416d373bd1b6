"""TCP and TLS layers: per probe endpoint (ip, port) whose address the DNS layer trusts.

A connect failure is blocking when the control connected to the same endpoint, or fetched the
page through the whole redirect chain (the probe's later hops have no control endpoint of their
own). A TLS failure counts only after a successful connect; it is SNI-triggered only when the
failure came after the ClientHello write (the write count is recorded and > 0: the name had
been sent) and the same IP completed a handshake with another server name in this measurement
or in another measurement of the same probe session (same network, same report). A failure
before the ClientHello is connection-level interference (never ``.sni``), and one without
network events cannot be placed in time. Evidence gives the address, server name, failure and
timing, one statement per item.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from functools import lru_cache
from typing import Any

from censorscope.model.evidence import Evidence
from censorscope.model.rows import ObservationRow
from censorscope.model.verdict import LayerVerdict
from censorscope.pipeline.evidence import say

from .claims import endpoint, tls_verb
from .context import AnalysisContext
from .dns import Scope
from .mechanisms import layer_verdict, tcp_mechanism, tls_mechanism
from .webview import ControlView, WebView, ascii_name

__all__ = ["analyze_tcp", "analyze_tls", "endpoint", "no_control", "sni_proof", "tls_failure"]

_UNREACHABLE = frozenset({"host_unreachable", "network_unreachable"})


@lru_cache(maxsize=65536)
def _is_v6(ip: str) -> bool:
    """True for an IPv6 address (memoised: the same addresses recur in every batch)."""
    try:
        return ipaddress.ip_address(ip).version == 6
    except ValueError:
        return False


def _ep(ip: str, port: int | None) -> dict[str, Any]:
    return {"ip": ip, "port": port, "endpoint": endpoint(ip, port)}


def no_control(ctrl: ControlView, ip: str, port: int | None, step: str) -> list[Evidence]:
    """Why there is no control result for the ``step`` (``tcp``/``tls``) at ``ip:port``."""
    if not ctrl.present:
        return [say("control.absent", source="control")]
    ev = [say(f"control.no_{step}", source="control", **_ep(ip, port))]
    if ctrl.http is not None and ctrl.http.http_failure is not None:
        ev.append(say("control.http_failed", source="control", failure=ctrl.http.http_failure))
    return ev


def control_fetched(ctrl: ControlView) -> Evidence:
    assert ctrl.http is not None
    return say("control.http_ok", source="control",
               status=ctrl.http.http_response_status_code)


def analyze_tcp(view: WebView, untrusted: Collection[str]) -> LayerVerdict | None:
    """The TCP verdict: the first failing trusted endpoint decides, else ``connect_ok``."""
    rows = [r for r in view.endpoints if r.ip not in untrusted
            and (r.tcp_success is not None or r.tcp_failure is not None)]
    if not rows:
        return None
    failed = [r for r in rows if r.tcp_failure is not None or r.tcp_success is False]
    if not failed:
        return layer_verdict("tcp.connect_ok")
    v4_failed = [r for r in failed if not (_is_v6(r.ip or "") and r.tcp_failure in _UNREACHABLE)]
    if not v4_failed:
        eps = [endpoint(r.ip or "", r.port) for r in failed]
        return layer_verdict("tcp.ipv6_unreachable", [
            *(say("tcp.connect_failed", failure=r.tcp_failure, observation=r.observation_idx,
                  **_ep(r.ip or "", r.port)) for r in failed[:3]),
            say("tcp.only_ipv6_failed", source="rules", endpoints=sorted(set(eps)))])
    ctrl = view.control
    down: LayerVerdict | None = None
    for r in v4_failed:
        assert r.ip is not None
        said = say("tcp.connect_failed", failure=r.tcp_failure, observation=r.observation_idx,
                   **_ep(r.ip, r.port))
        known = ctrl.tcp.get((r.ip, r.port or 0))
        if known is not None and known[0]:
            return layer_verdict("tcp.failure_ctrl_ok", [
                said, say("control.tcp_ok", source="control", **_ep(r.ip, r.port))],
                tcp_mechanism(r.tcp_failure))
        if known is None and ctrl.http_ok:
            return layer_verdict("tcp.failure_ctrl_ok", [said, control_fetched(ctrl)],
                                 tcp_mechanism(r.tcp_failure))
        if known is not None and down is None:
            down = layer_verdict("tcp.failure_ctrl_also_failing", [
                said, say("control.tcp_failed", source="control", failure=known[1],
                          **_ep(r.ip, r.port))])
    if down is not None:
        return down
    r = v4_failed[0]
    return layer_verdict("tcp.failure_no_ctrl", [
        say("tcp.connect_failed", failure=r.tcp_failure, observation=r.observation_idx,
            **_ep(r.ip or "", r.port)),
        *no_control(ctrl, r.ip or "", r.port, "tcp")])


def tls_failure(r: ObservationRow) -> Evidence:
    """The statement of a failed handshake, placed in time by the network events."""
    facts = {**_ep(r.ip or "", r.port), "server_name": r.tls_server_name,
             "failure": r.tls_failure, "verb": tls_verb(r.tls_failure),
             "observation": r.observation_idx}
    writes = r.tls_handshake_write_count
    if writes is None:
        return say("tls.failed", **facts)
    if writes == 0:
        return say("tls.failed_before_hello", **facts)
    sent = r.tls_handshake_write_bytes
    if r.tls_t is not None and r.tcp_t is not None and r.tls_t >= r.tcp_t:
        return say("tls.failed_after_hello", wait=round(r.tls_t - r.tcp_t, 1),
                   write_bytes=sent, tls_t=r.tls_t, tcp_t=r.tcp_t, **facts)
    return say("tls.failed_after_hello_untimed", write_bytes=sent, **facts)


def hello_sent(r: ObservationRow) -> bool:
    """The ClientHello (with the server name) was written before the failure."""
    return r.tls_handshake_write_count is not None and r.tls_handshake_write_count > 0


def sni_proof(view: WebView, ctx: AnalysisContext, scope: Scope, ip: str, name: str,
              limit: int = 3) -> list[Evidence]:
    """Handshakes with other server names that completed at ``ip``: in this measurement
    (probe) or in other measurements of the same probe session (context)."""
    ev: list[Evidence] = []
    wanted = ascii_name(name)
    here: dict[str, ObservationRow] = {}
    for r in view.endpoints:
        other = ascii_name(r.tls_server_name)
        if r.ip == ip and r.tls_success and other and other != wanted:
            here.setdefault(other, r)
    for _name, r in sorted(here.items())[:limit]:
        ev.append(say("tls.ok_here", server_name=r.tls_server_name,
                      observation=r.observation_idx, **_ep(ip, r.port)))
    for other, support in ctx.names_ok_in_report(scope.asn, scope.report_id, ip, name):
        if len(ev) >= limit or other in here:
            continue
        uids, count = support.others(scope.uid, own=(ip, other) in scope.own.tls_ok)
        if count > 0 and uids:
            ev.append(say("tls.ok_in_report", source="context", context_uids=uids,
                          context_count=count, ip=ip, server_name=other, count=count,
                          asn=scope.asn))
    return ev


def analyze_tls(view: WebView, ctx: AnalysisContext, scope: Scope,
                untrusted: Collection[str]) -> LayerVerdict | None:
    """The TLS verdict: the first failing handshake on a trusted, connected endpoint."""
    rows = [r for r in view.endpoints if r.ip not in untrusted and r.tls_server_name
            and (r.tls_success is not None or r.tls_failure is not None)
            and r.tcp_success is not False and r.tcp_failure is None]
    if not rows:
        return None
    failed = [r for r in rows if r.tls_failure is not None]
    if not failed:
        return layer_verdict("tls.handshake_ok")
    ctrl = view.control
    down: LayerVerdict | None = None
    for r in failed:
        ip, sni = r.ip or "", r.tls_server_name or ""
        said = tls_failure(r)
        known = ctrl.tls.get((ip, r.port or 0))
        ctrl_ev = (say("control.tls_ok", source="control", server_name=known[2] or sni,
                       **_ep(ip, r.port)) if known is not None and known[0] else
                   control_fetched(ctrl) if known is None and ctrl.http_ok else None)
        ctrl_failed = known is not None and not known[0]
        proof = (sni_proof(view, ctx, scope, ip, sni)
                 if hello_sent(r) and not ctrl_failed
                 and not (r.tls_failure or "").startswith("ssl_") else [])
        if proof:
            ev = [said, *proof] + ([ctrl_ev] if ctrl_ev is not None else [])
            return layer_verdict("tls.failure_sni", ev, tls_mechanism(r.tls_failure, sni=True))
        if ctrl_ev is not None:
            return layer_verdict("tls.failure_ctrl_ok", [said, ctrl_ev],
                                 tls_mechanism(r.tls_failure))
        if known is not None and down is None:
            down = layer_verdict("tls.failure_ctrl_also_failing", [
                said, say("control.tls_failed", source="control", failure=known[1],
                          **_ep(ip, r.port))])
    if down is not None:
        return down
    r = failed[0]
    return layer_verdict("tls.failure_no_ctrl", [tls_failure(r),
                                                 *no_control(ctrl, r.ip or "", r.port, "tls")])
