"""The test helper's view (web_connectivity ``test_keys.control``) as observation rows.

Like OONI's ``obs_web_ctrl`` (§2.3) but in the same table, with ``origin = "control"``: one row
per control TCP endpoint (joined with its TLS handshake), one per control DNS address (or one
for a failed lookup), one for the control HTTP request.
"""

from __future__ import annotations

from typing import Any

from censorscope.model.rows import ObservationRow, make_observation

from .probe_observations import address_parts, as_text, bogon

__all__ = ["control_observations"]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def control_observations(measurement_uid: str, test_keys: Any, hostname: str | None,
                         start_idx: int = 0) -> list[ObservationRow]:
    """Rows (origin ``control``) from ``test_keys["control"]``; empty when there is none."""
    control = test_keys.get("control") if isinstance(test_keys, dict) else None
    if not isinstance(control, dict):
        return []
    rows: list[dict[str, Any]] = []
    by_address: dict[str, dict[str, Any]] = {}
    tcp = control.get("tcp_connect")
    for address, result in (tcp.items() if isinstance(tcp, dict) else ()):
        if not isinstance(result, dict):
            continue
        ip, port = address_parts(address)
        status = result.get("status")
        row: dict[str, Any] | None = {
               "ip": ip, "port": port, "ip_is_bogon": bogon(ip),
               "tcp_success": status if isinstance(status, bool) else None,
               "tcp_failure": as_text(result.get("failure"))}
        assert row is not None
        rows.append(row)
        by_address[address] = row
    tls = control.get("tls_handshake")
    for address, result in (tls.items() if isinstance(tls, dict) else ()):
        if not isinstance(result, dict):
            continue
        row = by_address.get(address)
        if row is None:
            ip, port = address_parts(address)
            row = {"ip": ip, "port": port, "ip_is_bogon": bogon(ip)}
            rows.append(row)
        status = result.get("status")
        row["tls_server_name"] = as_text(result.get("server_name"))
        row["tls_failure"] = as_text(result.get("failure"))
        row["tls_success"] = status if isinstance(status, bool) else None
    dns = control.get("dns")
    if isinstance(dns, dict):
        addrs = [a for a in (dns.get("addrs") or ()) if isinstance(a, str)]
        if not addrs and dns.get("failure") is not None:
            rows.append({"dns_failure": as_text(dns.get("failure"))})
        for addr in addrs:
            is_ip = addr.replace(".", "").isdigit() or ":" in addr
            rows.append({"dns_failure": as_text(dns.get("failure")), "dns_answer": addr,
                         "dns_answer_type": ("AAAA" if ":" in addr else "A") if is_ip
                         else "CNAME",
                         "ip": addr if is_ip else None,
                         "ip_is_bogon": bogon(addr) if is_ip else None})
    http = control.get("http_request")
    if isinstance(http, dict) and http:
        failure = as_text(http.get("failure"))
        headers = http.get("headers")
        hdr = {str(k).lower(): v for k, v in headers.items()} if isinstance(headers, dict) else {}
        rows.append({
            "http_failure": failure, "http_success": failure is None,
            "http_response_status_code": _int(http.get("status_code")),
            "http_response_body_length": _int(http.get("body_length")),
            "http_response_title": as_text(http.get("title")),
            "http_response_header_location": as_text(hdr.get("location")),
            "http_response_header_server": as_text(hdr.get("server")),
        })
    for row in rows:
        row["hostname"] = hostname
    return [make_observation(measurement_uid, start_idx + i, "control", row)
            for i, row in enumerate(rows)]
