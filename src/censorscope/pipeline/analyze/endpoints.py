"""TCP and TLS layers: per probe endpoint (ip, port) whose address the DNS layer trusts.

A connect failure is blocking when the control connected to the same endpoint, or fetched the
page through the whole redirect chain (the probe's later hops have no control endpoint of their
own). A TLS failure counts only after a successful connect; it is SNI-triggered when the same
IP completed a handshake with another server name from the same network (this measurement or
another one in the context). Evidence gives the address, server name, failure and timing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from functools import lru_cache

from censorscope.model.verdict import LayerVerdict
from censorscope.model.rows import ObservationRow

from .context import AnalysisContext
from .mechanisms import layer_verdict, tcp_mechanism, tls_mechanism
from .webview import WebView

__all__ = ["analyze_tcp", "analyze_tls", "endpoint"]

_UNREACHABLE = frozenset({"host_unreachable", "network_unreachable"})


def endpoint(ip: str, port: int | None) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


@lru_cache(maxsize=65536)
def _is_v6(ip: str) -> bool:
    """True for an IPv6 address (memoised: the same addresses recur in every batch)."""
    try:
        return ipaddress.ip_address(ip).version == 6
    except ValueError:
        return False


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
        return layer_verdict("tcp.ipv6_unreachable", [
            f"Only IPv6 endpoints were unreachable ({failed[0].tcp_failure})."])
    ctrl = view.control
    down: LayerVerdict | None = None
    for r in v4_failed:
        assert r.ip is not None
        where = endpoint(r.ip, r.port)
        said = f"TCP connect to {where} failed with {r.tcp_failure}"
        known = ctrl.tcp.get((r.ip, r.port or 0))
        if known is not None and known[0]:
            return layer_verdict("tcp.failure_ctrl_ok", [
                f"{said}; the control connected to {where}."], tcp_mechanism(r.tcp_failure))
        if known is None and ctrl.http_ok:
            return layer_verdict("tcp.failure_ctrl_ok", [
                f"{said}; the control fetched the page through every redirect."],
                tcp_mechanism(r.tcp_failure))
        if known is not None and down is None:
            down = layer_verdict("tcp.failure_ctrl_also_failing", [
                f"{said}; the control failed too ({known[1]})."])
    if down is not None:
        return down
    r = v4_failed[0]
    return layer_verdict("tcp.failure_no_ctrl", [
        f"TCP connect to {endpoint(r.ip or '', r.port)} failed with {r.tcp_failure}; "
        "no control for it."])


def _timing(r: ObservationRow) -> str:
    write = r.tls_handshake_write_bytes
    if not r.tls_handshake_write_count:
        return "before the ClientHello was written"
    size = f" ({write} bytes)" if write else ""
    if r.tls_t is not None and r.tcp_t is not None and r.tls_t >= r.tcp_t:
        return f"{r.tls_t - r.tcp_t:.1f} s after the ClientHello write{size}"
    return f"after the ClientHello write{size}"


_VERB = {"generic_timeout_error": "timed out", "connection_reset": "was reset",
         "eof_error": "was closed (EOF)"}


def analyze_tls(view: WebView, ctx: AnalysisContext, probe_asn: int,
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
        where = endpoint(ip, r.port)
        verb = _VERB.get(r.tls_failure or "", f"failed with {r.tls_failure}")
        said = f"TLS handshake to {where} with SNI {sni} {verb} {_timing(r)}"
        others = sorted(set(ctx.other_names_ok(probe_asn, ip, sni)))
        known = ctrl.tls.get((ip, r.port or 0))
        ctrl_words = (f"the control completed the handshake with SNI {known[2] or sni} at "
                      f"{where}" if known is not None and known[0] else
                      "the control fetched the page through every redirect"
                      if known is None and ctrl.http_ok else None)
        ctrl_failed = known is not None and not known[0]
        sni_based = (bool(others) and r.tls_handshake_write_count != 0 and not ctrl_failed
                     and not (r.tls_failure or "").startswith("ssl_"))
        if sni_based:
            ev = [f"{said}; the same IP completed a handshake with SNI {', '.join(others[:3])} "
                  f"from this network (AS{probe_asn})."]
            if ctrl_words:
                ev.append(ctrl_words[0].upper() + ctrl_words[1:] + ".")
            return layer_verdict("tls.failure_sni", ev, tls_mechanism(r.tls_failure, sni=True))
        if ctrl_words is not None:
            return layer_verdict("tls.failure_ctrl_ok", [f"{said}; {ctrl_words}."],
                                 tls_mechanism(r.tls_failure))
        if known is not None and down is None:
            down = layer_verdict("tls.failure_ctrl_also_failing", [
                f"{said}; the control failed too ({known[1]})."])
    if down is not None:
        return down
    r = failed[0]
    return layer_verdict("tls.failure_no_ctrl", [
        f"TLS handshake to {endpoint(r.ip or '', r.port)} with SNI {r.tls_server_name} failed "
        f"with {r.tls_failure}; no control for it."])
