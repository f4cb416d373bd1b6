"""What a raw measurement's ``test_keys`` say, as tables a reader can check: DNS queries and
their answers, TCP connects, TLS handshakes (with the certificate chain), HTTP requests and
responses, and the network events of each connection as a timeline.

Measurements come from many probes and years, so every key is read defensively: a value of the
wrong type is treated as absent, never trusted. Text is kept as text (the templates escape it);
control characters are replaced, and bodies are cut to an excerpt. Connections are OONI's
transactions (``transaction_id``): the events of one connect → TLS → HTTP exchange.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final

from .certs import describe_chain

__all__ = ["BODY_EXCERPT", "connections", "dns_queries", "http_requests", "tcp_connects",
           "tls_handshakes"]

BODY_EXCERPT: Final = 4096  # characters of a body shown
FIELD_MAX: Final = 2000  # characters of any other value shown
TLS_OPS: Final = ("tls_handshake_start", "tls_handshake_done")


def printable(value: Any, limit: int = FIELD_MAX) -> str | None:
    """``value`` as text with control characters (but newlines and tabs) replaced by U+FFFD,
    at most ``limit`` characters; None stays None."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text[:limit])
    return text


def _dicts(keys: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    items = keys.get(name)
    return [x for x in items if isinstance(x, Mapping)] if isinstance(items, list) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _tid(item: Mapping[str, Any]) -> int | None:
    return _int(item.get("transaction_id"))


def _failure(value: Any) -> str | None:
    return printable(value) if value not in (None, "", False) else None


def dns_queries(keys: Mapping[str, Any], asn_of: Mapping[tuple[str, str], int] | None = None
                ) -> list[dict[str, Any]]:
    """Each query with its answers (type, value, ASN and AS name where the probe or the
    stored observation rows ``asn_of[(hostname, answer)]`` know them)."""
    out = []
    for q in _dicts(keys, "queries"):
        host = printable(q.get("hostname"))
        answers = []
        for a in q.get("answers") or ():
            if not isinstance(a, Mapping):
                continue
            value = a.get("ipv4") or a.get("ipv6") or a.get("hostname") or a.get("answer")
            value = printable(value)
            asn = _int(a.get("asn")) or None
            if asn is None and asn_of and host and value:
                asn = asn_of.get((host.lower(), value))
            answers.append({"type": printable(a.get("answer_type")), "value": value,
                            "asn": asn, "as_name": printable(a.get("as_org_name")) or None,
                            "ttl": _int(a.get("ttl"))})
        resolver = q.get("resolver_address") or q.get("resolver_hostname")
        out.append({
            "transaction_id": _tid(q), "engine": printable(q.get("engine")),
            "resolver": printable(resolver) or None, "hostname": host,
            "query_type": printable(q.get("query_type")), "failure": _failure(q.get("failure")),
            "rcode": _int(q.get("rcode")), "t": _num(q.get("t")), "answers": answers})
    return out


def tcp_connects(keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for c in _dicts(keys, "tcp_connect"):
        status = _mapping(c.get("status"))
        success = status.get("success") if isinstance(status.get("success"), bool) else None
        out.append({"transaction_id": _tid(c), "ip": printable(c.get("ip")),
                    "port": _int(c.get("port")), "success": success,
                    "failure": _failure(status.get("failure")), "t": _num(c.get("t"))})
    return out


def tls_handshakes(keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for h in _dicts(keys, "tls_handshakes"):
        failure = _failure(h.get("failure"))
        out.append({
            "transaction_id": _tid(h), "address": printable(h.get("address")),
            "server_name": printable(h.get("server_name")),
            "version": printable(h.get("tls_version")) or None,
            "cipher_suite": printable(h.get("cipher_suite")) or None,
            "alpn": printable(h.get("negotiated_protocol")) or None,
            "no_tls_verify": h.get("no_tls_verify") if isinstance(h.get("no_tls_verify"), bool)
            else None,
            "success": failure is None, "failure": failure, "t0": _num(h.get("t0")),
            "t": _num(h.get("t")), "certificates": describe_chain(h.get("peer_certificates"))})
    return out


def _headers(message: Mapping[str, Any]) -> list[list[str]]:
    """A request's or response's headers as [[name, value]], from ``headers_list`` or
    ``headers`` (values may be lists)."""
    pairs: list[list[str]] = []
    listed = message.get("headers_list")
    if isinstance(listed, list):
        for item in listed:
            if isinstance(item, list) and len(item) == 2:
                pairs.append([printable(_body_text(item[0])[0]) or "",
                              printable(_body_text(item[1])[0]) or ""])
        return pairs
    headers = message.get("headers")
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            for v in value if isinstance(value, list) else [value]:
                pairs.append([printable(name) or "", printable(_body_text(v)[0]) or ""])
    return pairs


def _body_text(body: Any) -> tuple[str, str]:
    """(text, encoding) of a body as recorded: text as is, ``{"format": "base64"}`` decoded
    when it is UTF-8 text (``base64 → text``), else its base64 (``base64``)."""
    if body is None:
        return "", "none"
    if isinstance(body, str):
        return body, "text"
    if isinstance(body, Mapping) and isinstance(body.get("data"), str):
        data = body["data"]
        if body.get("format") == "base64":
            try:
                raw = base64.b64decode(data, validate=False)
            except (binascii.Error, ValueError):
                return data, "base64 (undecodable)"
            try:
                return raw.decode("utf-8"), "base64 → text"
            except UnicodeDecodeError:
                return data, "base64 (binary)"
        return data, "text"
    return str(body), "text"


def _body(message: Mapping[str, Any]) -> dict[str, Any]:
    text, encoding = _body_text(message.get("body"))
    return {"excerpt": printable(text, BODY_EXCERPT) or "", "length": len(text),
            "excerpt_cut": len(text) > BODY_EXCERPT, "encoding": encoding,
            "truncated_by_probe": bool(message.get("body_is_truncated"))}


def http_requests(keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for r in _dicts(keys, "requests"):
        req = _mapping(r.get("request"))
        res = r.get("response") if isinstance(r.get("response"), Mapping) else None
        out.append({
            "transaction_id": _tid(r), "url": printable(req.get("url")),
            "method": printable(req.get("method")), "address": printable(r.get("address")),
            "request_headers": _headers(req), "failure": _failure(r.get("failure")),
            "status_code": _int(res.get("code")) if res else None,
            "response_headers": _headers(res) if res else [],
            "body": _body(res) if res else None, "t": _num(r.get("t"))})
    return out


def _event(ev: Mapping[str, Any], note: str | None) -> dict[str, Any]:
    t0, t = _num(ev.get("t0")), _num(ev.get("t"))
    return {"t0": t0, "t": t,
            "duration": t - t0 if t is not None and t0 is not None else None,
            "operation": printable(ev.get("operation")) or "?",
            "address": printable(ev.get("address")) or None,
            "proto": printable(ev.get("proto")) or None,
            "num_bytes": _int(ev.get("num_bytes")), "failure": _failure(ev.get("failure")),
            "note": note}


def connections(keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The network events grouped by connection (transaction), each group in time order,
    with its addresses, the server name its TLS handshake sent, and notes: the ClientHello
    (the first write after the TLS handshake started) and the handshake's failure at its
    ``tls_handshake_done`` (the event itself carries none)."""
    handshakes = {_tid(h): h for h in _dicts(keys, "tls_handshakes")}
    groups: dict[int | None, list[Mapping[str, Any]]] = {}
    for ev in _dicts(keys, "network_events"):
        groups.setdefault(_tid(ev), []).append(ev)
    out: list[dict[str, Any]] = []
    for tid, events in groups.items():
        events = sorted(events, key=lambda e: (_num(e.get("t")) is None,
                                               _num(e.get("t")) or 0.0))
        record = handshakes.get(tid) if tid is not None else None
        tls_failure = _failure(record.get("failure")) if record else None
        rows = []
        tls_started = hello_sent = False
        for ev in events:
            op = ev.get("operation")
            note = None
            if op == "write" and tls_started and not hello_sent:
                note, hello_sent = "ClientHello", True
            elif op == "tls_handshake_done" and tls_failure and not _failure(ev.get("failure")):
                note = f"handshake failed: {tls_failure}"
            tls_started = tls_started or op == "tls_handshake_start"
            rows.append(_event(ev, note))
        addresses = list(dict.fromkeys(r["address"] for r in rows if r["address"]))
        first_failure = next((r for r in rows if r["failure"]), None)
        out.append({
            "transaction_id": tid, "addresses": addresses,
            "server_name": printable(record.get("server_name")) if record else None,
            "tls_failure": tls_failure,
            "outcome": (f"{first_failure['operation']} → {first_failure['failure']}"
                        if first_failure else (f"TLS handshake → {tls_failure}"
                                               if tls_failure else "no failure")),
            "events": rows})
    def first_t(c: dict[str, Any]) -> tuple[bool, float]:
        t = c["events"][0]["t"]
        return t is None, t or 0.0

    out.sort(key=first_t)
    return out
