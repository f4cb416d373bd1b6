"""The same tables as :mod:`.rawview`, made from the stored observation rows: what the page
shows when the raw measurement is no longer at hand (no network events then), and the
control's (the test helper's) view of the target, which is stored only as rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from censorscope.model.rows import ObservationRow

from .rawview import BODY_EXCERPT, printable

__all__ = ["answer_asns", "control_rows", "from_rows"]


def answer_asns(rows: Sequence[ObservationRow]) -> dict[tuple[str, str], int]:
    """(hostname, answer) → the answer's ASN, as the rows know it."""
    return {((r.hostname or "").lower(), r.dns_answer): r.dns_answer_asn for r in rows
            if r.hostname and r.dns_answer and r.dns_answer_asn}


def _address(r: ObservationRow) -> str | None:
    if not r.ip:
        return None
    return f"[{r.ip}]:{r.port}" if ":" in r.ip and r.port else (
        f"{r.ip}:{r.port}" if r.port else r.ip)


def _headers(text: str | None) -> list[list[str]]:
    if not text:
        return []
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(obj, dict):
        return []
    return [[printable(k) or "", printable(v if not isinstance(v, list) else ", ".join(
        map(str, v))) or ""] for k, v in obj.items()]


def from_rows(rows: Sequence[ObservationRow]) -> dict[str, list[dict[str, Any]]]:
    """DNS, TCP, TLS and HTTP tables from the probe's observation rows."""
    probe = [r for r in rows if r.origin == "probe"]
    dns: dict[tuple[Any, ...], dict[str, Any]] = {}
    tcp: dict[tuple[Any, ...], dict[str, Any]] = {}
    tls: dict[tuple[Any, ...], dict[str, Any]] = {}
    http: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in probe:
        if r.dns_answer is not None or r.dns_failure is not None:
            key = (r.transaction_id, r.dns_engine, r.dns_resolver_address, r.hostname,
                   r.dns_query_type)
            q = dns.setdefault(key, {
                "transaction_id": r.transaction_id, "engine": printable(r.dns_engine),
                "resolver": printable(r.dns_resolver_address) or None,
                "hostname": printable(r.hostname), "query_type": printable(r.dns_query_type),
                "failure": printable(r.dns_failure), "rcode": r.dns_rcode, "t": r.dns_t,
                "answers": []})
            if r.dns_answer is not None and r.dns_answer not in [a["value"] for a in
                                                                  q["answers"]]:
                q["answers"].append({"type": printable(r.dns_answer_type),
                                     "value": printable(r.dns_answer), "asn": r.dns_answer_asn,
                                     "as_name": None, "ttl": None})
        if r.tcp_success is not None:
            tcp.setdefault((r.transaction_id, r.ip, r.port), {
                "transaction_id": r.transaction_id, "ip": printable(r.ip), "port": r.port,
                "success": r.tcp_success, "failure": printable(r.tcp_failure), "t": r.tcp_t})
        if r.tls_server_name is not None and (r.tls_success is not None or r.tls_failure):
            tls.setdefault((r.transaction_id, r.ip, r.port, r.tls_server_name), {
                "transaction_id": r.transaction_id, "address": _address(r),
                "server_name": printable(r.tls_server_name), "version": r.tls_version,
                "cipher_suite": r.tls_cipher_suite, "alpn": None,
                "no_tls_verify": r.tls_no_verify, "success": bool(r.tls_success),
                "failure": printable(r.tls_failure), "t0": None, "t": r.tls_t,
                "certificates": [], "chain_length": r.tls_cert_chain_length})
        if r.http_request_url is not None:
            body = r.http_response_body
            http.setdefault((r.transaction_id, r.http_request_url, r.ip), {
                "transaction_id": r.transaction_id, "url": printable(r.http_request_url),
                "method": printable(r.http_request_method), "address": _address(r),
                "request_headers": [], "failure": printable(r.http_failure),
                "status_code": r.http_response_status_code,
                "response_headers": _headers(r.http_response_headers),
                "body": None if body is None and r.http_response_body_length is None else {
                    "excerpt": printable(body or "", BODY_EXCERPT) or "",
                    "length": r.http_response_body_length or 0,
                    "excerpt_cut": len(body or "") > BODY_EXCERPT,
                    "encoding": "text" if body is not None else "not kept",
                    "truncated_by_probe": bool(r.http_response_body_is_truncated)},
                "t": r.http_t})
    return {"dns": list(dns.values()), "tcp": list(tcp.values()), "tls": list(tls.values()),
            "http": list(http.values())}


def _outcome(ok: bool | None, failure: str | None, ok_text: str = "ok") -> str | None:
    if failure:
        return printable(failure)
    if ok is None:
        return None
    return ok_text if ok else "failed"


def control_rows(rows: Sequence[ObservationRow]) -> list[dict[str, Any]]:
    """What the control saw, one line per row: the host, endpoint, DNS answer, TCP, TLS and
    HTTP outcomes."""
    out = []
    for r in rows:
        if r.origin != "control":
            continue
        http = (f"status {r.http_response_status_code}" if r.http_response_status_code
                else _outcome(r.http_success, r.http_failure))
        out.append({"hostname": printable(r.hostname), "address": _address(r),
                    "dns": printable(r.dns_failure or r.dns_answer),
                    "tcp": _outcome(r.tcp_success, r.tcp_failure),
                    "tls": _outcome(r.tls_success, r.tls_failure),
                    "http": http, "title": printable(r.http_response_title)})
    return out
