"""The probe's own observations: ``test_keys`` archival records → one row per endpoint.

Works for every test that records df-00x keys (``queries``, ``tcp_connect``,
``tls_handshakes``, ``requests``, ``network_events``): web_connectivity, telegram, whatsapp,
signal, urlgetter, dnscheck … Merging follows OONI's ``obs_web`` (§2.3), simplified:

1. each ``tcp_connect`` entry opens an endpoint row keyed by its transaction id and ``ip:port``;
2. a TLS handshake joins the row with its transaction id, else the first row of its address
   without TLS facts, else opens a row;
3. an HTTP transaction joins the row with its transaction id, else opens a row;
4. each DNS answer joins the first endpoint row of its IP without DNS facts, else becomes a
   row of its own; a failed lookup (or one without answers) is one row.

Rows are numbered in that order (endpoints first, then DNS-only rows).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from typing import Any, Final

import orjson

from censorscope.model.endpoint import split_address
from censorscope.model.http import page_title
from censorscope.model.ipinfo import is_bogon
from censorscope.model.rows import ObservationRow, make_observation

__all__ = ["BODY_KEEP_BYTES", "as_text", "body_facts", "body_text", "bogon", "headers_json",
           "probe_observations", "split_address"]

# response bodies up to this size are kept in the observation row (for fingerprints)
BODY_KEEP_BYTES: Final = 8192

Row = dict[str, Any]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _entries(value: Any) -> list[Any]:
    """A list of records; a lone record (some tests write one dict) becomes a list of one."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def _port(value: Any) -> int | None:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return _int(value)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("format") == "base64":
        try:
            return base64.b64decode(str(value.get("data", ""))).decode("latin-1")
        except ValueError:
            return None
    return str(value)


def _body(body: Any, digest: bool = True
          ) -> tuple[int | None, str | None, str | None, bytes | None]:
    """(length, sha1 hex, title, raw bytes) of a body; ``body_facts`` plus the bytes
    (``digest`` False: no SHA-1, None in its place)."""
    if body is None:
        return None, None, None, None
    if isinstance(body, dict):
        try:
            raw = base64.b64decode(str(body.get("data", "")))
        except ValueError:
            return None, None, None, None
        title = page_title(raw)
    elif isinstance(body, str):
        title = page_title(body)
        if not digest and body.isascii():  # no bytes needed: an ASCII text's length is theirs
            return len(body), None, title or None, None
        raw = body.encode("utf-8", "surrogatepass")
    else:
        return None, None, None, None
    return len(raw), hashlib.sha1(raw).hexdigest() if digest else None, title or None, raw


def body_facts(body: Any) -> tuple[int | None, str | None, str | None]:
    """(length in bytes, sha1 hex, ``<title>``) of an HTTP body (text or OONI base64)."""
    length, sha1, title, _ = _body(body)
    return length, sha1, title


def _body_text_of(body: Any, raw: bytes | None, length: int | None) -> str | None:
    """``body_text(body)`` reusing what ``_body`` found: ``raw``, the bytes it decoded, and
    ``length``, their count."""
    if isinstance(body, str):
        if length is None:
            return None
        return body if len(body) <= BODY_KEEP_BYTES // 4 or length <= BODY_KEEP_BYTES \
            else None
    if raw is None:
        return None
    if isinstance(body, dict) and body.get("format") == "base64":
        data = str(body.get("data", ""))
        if len(data) > BODY_KEEP_BYTES * 4 // 3 + 4:
            return None
        return raw.decode("utf-8", "replace")
    return None


def body_text(body: Any) -> str | None:
    """The body as text when it is at most ``BODY_KEEP_BYTES`` (base64 bodies decoded as
    UTF-8, invalid bytes replaced); None for larger or missing bodies."""
    if isinstance(body, str):
        return body if len(body) <= BODY_KEEP_BYTES // 4 or \
            len(body.encode("utf-8", "surrogatepass")) <= BODY_KEEP_BYTES else None
    if isinstance(body, dict) and body.get("format") == "base64":
        data = str(body.get("data", ""))
        if len(data) > BODY_KEEP_BYTES * 4 // 3 + 4:
            return None
        try:
            return base64.b64decode(data).decode("utf-8", "replace")
        except ValueError:
            return None
    return None


def headers_json(headers: Any) -> str | None:
    """Response headers as a JSON object text (name → value as text), None when absent."""
    if not isinstance(headers, dict) or not headers:
        return None
    return orjson.dumps({str(k): _text(v) for k, v in headers.items()}).decode()


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return _text(value)
    return None


_BOGON_CACHE: dict[str, bool] = {}


def bogon(ip: str | None) -> bool | None:
    """``is_bogon`` memoised (the same CDN addresses recur in every measurement)."""
    if not ip:
        return None
    known = _BOGON_CACHE.get(ip)
    if known is None:
        if len(_BOGON_CACHE) > 200_000:
            _BOGON_CACHE.clear()
        known = _BOGON_CACHE[ip] = is_bogon(ip)
    return known


_ADDRESS_CACHE: dict[str, tuple[str | None, int | None]] = {}


def address_parts(address: Any) -> tuple[str | None, int | None]:
    """``split_address`` memoised for text (the same endpoints recur in every record)."""
    if type(address) is not str:
        return split_address(address)
    known = _ADDRESS_CACHE.get(address)
    if known is None:
        if len(_ADDRESS_CACHE) > 200_000:
            _ADDRESS_CACHE.clear()
        known = _ADDRESS_CACHE[address] = split_address(address)
    return known


def as_text(value: Any) -> str | None:
    """Text as the str columns want it: None stays None, ``false`` (old "no failure") is None."""
    if value is None or type(value) is str:
        return value
    if value is False:
        return None
    return str(value)


def _host_of(url: Any) -> str | None:
    if not isinstance(url, str) or "://" not in url:
        return None
    rest = url.split("://", 1)[1]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    return address_parts(host)[0] if host else host


def _tcp_rows(test_keys: dict[str, Any], rows: list[Row]) -> None:
    append = rows.append
    for entry in _entries(test_keys.get("tcp_connect")):
        if not isinstance(entry, dict):
            continue
        get = entry.get
        status = get("status")
        if isinstance(status, dict):
            success = bool(status.get("success")) if "success" in status else None
            failure = as_text(status.get("failure"))
        else:
            success = failure = None
        ip = as_text(get("ip"))
        append({
            "transaction_id": _int(get("transaction_id")),
            "ip": ip, "port": _port(get("port")), "ip_is_bogon": bogon(ip),
            "tcp_success": success, "tcp_failure": failure, "tcp_t": _num(get("t")),
        })


_Events = dict[int, tuple[int, int, int, int, str | None]]


def _handshake_events(test_keys: dict[str, Any]) -> _Events:
    """Per transaction id: reads, writes, bytes read, bytes written, last read/write op."""
    out: dict[int, list[Any]] = {}
    done: set[int] = set()
    for ev in _entries(test_keys.get("network_events")):
        if not isinstance(ev, dict):
            continue
        tid = ev.get("transaction_id")
        if not isinstance(tid, int) or tid in done:
            continue
        op = ev.get("operation")
        if op == "tls_handshake_done":
            done.add(tid)
            continue
        if op not in ("read", "write"):
            continue
        acc = out.setdefault(tid, [0, 0, 0, 0, None])
        nbytes = ev.get("num_bytes") if isinstance(ev.get("num_bytes"), int) else 0
        if op == "read":
            acc[0] += 1
            acc[2] += nbytes
        else:
            acc[1] += 1
            acc[3] += nbytes
        acc[4] = op
    return {tid: (a[0], a[1], a[2], a[3], a[4]) for tid, a in out.items()}


def _tls_rows(test_keys: dict[str, Any], rows: list[Row]) -> None:
    handshakes = _entries(test_keys.get("tls_handshakes"))
    if not handshakes:
        return
    events = _handshake_events(test_keys)
    # the rows there before (the ones this adds have TLS facts, so they never match)
    by_tid = _index(rows, "transaction_id")
    by_address: dict[Any, list[Row]] = {}
    for r in rows:
        by_address.setdefault((r.get("ip"), r.get("port")), []).append(r)
    for hs in handshakes:
        if not isinstance(hs, dict):
            continue
        get = hs.get
        tid = _int(get("transaction_id"))
        ip, port = address_parts(get("address"))
        row = _first_without(by_tid.get(tid, ()) if tid is not None else (), "tls_t")
        if row is None and ip:
            row = _first_without(by_address.get((ip, port), ()), "tls_t")
        if row is None:
            row = {"transaction_id": tid, "ip": ip, "port": port, "ip_is_bogon": bogon(ip)}
            rows.append(row)
        certs = get("peer_certificates")
        failure = as_text(get("failure"))
        no_verify = get("no_tls_verify")
        row["tls_server_name"] = as_text(get("server_name"))
        row["tls_version"] = as_text(get("tls_version"))
        row["tls_cipher_suite"] = as_text(get("cipher_suite"))
        row["tls_failure"] = failure
        row["tls_success"] = failure is None
        row["tls_no_verify"] = no_verify if isinstance(no_verify, bool) else None
        row["tls_cert_chain_length"] = len(certs) if isinstance(certs, list) else None
        row["tls_t"] = _num(get("t"))
        if tid is not None and tid in events:
            reads, writes, rbytes, wbytes, last = events[tid]
            row.update({
                "tls_handshake_read_count": reads, "tls_handshake_write_count": writes,
                "tls_handshake_read_bytes": rbytes, "tls_handshake_write_bytes": wbytes,
                "tls_handshake_last_operation": last,
            })


def _index(rows: list[Row], key: str) -> dict[Any, list[Row]]:
    """``rows`` by their value of ``key`` (None left out), in order."""
    out: dict[Any, list[Row]] = {}
    for r in rows:
        value = r.get(key)
        if value is not None:
            out.setdefault(value, []).append(r)
    return out


def _first_without(candidates: Iterable[Row], key: str) -> Row | None:
    """The first of ``candidates`` that has no ``key`` yet."""
    for r in candidates:
        if key not in r:
            return r
    return None


def _http_rows(test_keys: dict[str, Any], rows: list[Row], digest: bool = True) -> None:
    requests = _entries(test_keys.get("requests"))
    # the rows there before (the ones this adds have HTTP facts, so they never match)
    by_tid = _index(rows, "transaction_id") if requests else {}
    for tx in requests:
        if not isinstance(tx, dict):
            continue
        tid = _int(tx.get("transaction_id"))
        row = _first_without(by_tid.get(tid, ()) if tid is not None else (), "http_t")
        if row is None:
            ip, port = address_parts(tx.get("address"))
            row = {"transaction_id": tid, "ip": ip, "port": port, "ip_is_bogon": bogon(ip)}
            rows.append(row)
        req_raw, resp_raw = tx.get("request"), tx.get("response")
        req: dict[str, Any] = req_raw if isinstance(req_raw, dict) else {}
        resp: dict[str, Any] = resp_raw if isinstance(resp_raw, dict) else {}
        body = resp.get("body")
        length, sha1, title, raw = _body(body, digest)
        failure = as_text(tx.get("failure"))
        url = req.get("url") if isinstance(req.get("url"), str) else None
        row.update({
            "http_request_url": url,
            "http_request_method": req.get("method") if isinstance(req.get("method"), str)
            else None,
            "http_failure": failure, "http_success": failure is None,
            "http_response_status_code": _int(resp.get("code")),
            "http_response_body_length": length,
            "http_response_body_is_truncated": resp.get("body_is_truncated")
            if isinstance(resp.get("body_is_truncated"), bool) else None,
            "http_response_body_sha1": sha1, "http_response_title": title,
            "http_response_header_location": _header(resp.get("headers"), "location"),
            "http_response_header_server": _header(resp.get("headers"), "server"),
            "http_t": _num(tx.get("t")),
            "http_response_headers": headers_json(resp.get("headers")),
            "http_response_body": _body_text_of(body, raw, length),
        })
        if row.get("hostname") is None:
            row["hostname"] = _host_of(url)


def _dns_rows(test_keys: dict[str, Any], rows: list[Row]) -> None:
    endpoint_count = len(rows)
    by_ip: dict[str, list[Row]] = {}
    for row in rows:
        ip = row.get("ip")
        if ip:
            by_ip.setdefault(ip, []).append(row)
    append = rows.append
    for query in _entries(test_keys.get("queries")):
        if not isinstance(query, dict):
            continue
        get = query.get
        base = {
            "hostname": as_text(get("hostname")),
            "transaction_id": _int(get("transaction_id")),
            "dns_query_type": as_text(get("query_type")),
            "dns_engine": as_text(get("engine")),
            "dns_resolver_address": as_text(get("resolver_address")),
            "dns_failure": as_text(get("failure")), "dns_rcode": _int(get("rcode")),
            "dns_t": _num(get("t")),
        }
        answers = [a for a in (get("answers") or ()) if isinstance(a, dict)]
        if not answers:
            append(base)
            continue
        for ans in answers:
            aget = ans.get
            value = as_text(aget("ipv4") or aget("ipv6"))
            answer_type = as_text(aget("answer_type"))
            answer = value or as_text(aget("hostname"))
            asn = _int(aget("asn"))
            target = None
            if value and by_ip:
                candidates = by_ip.get(value)
                if candidates:
                    target = next((r for r in candidates if "dns_answer" not in r), None)
            if target is None:
                row = base.copy()
                row["dns_answer_type"] = answer_type
                row["dns_answer"] = answer
                row["dns_answer_asn"] = asn
                row["ip"] = value
                row["ip_is_bogon"] = bogon(value)
                append(row)
            else:
                tid = target.get("transaction_id")
                target.update(base)
                target["dns_answer_type"] = answer_type
                target["dns_answer"] = answer
                target["dns_answer_asn"] = asn
                target["transaction_id"] = tid
    for row in rows[:endpoint_count]:
        if row.get("hostname") is None and row.get("tls_server_name"):
            row["hostname"] = row["tls_server_name"]


def probe_observations(measurement_uid: str, test_keys: Any, start_idx: int = 0, *,
                       body_sha1: bool = True) -> list[ObservationRow]:
    """Observation rows (origin ``probe``) of ``test_keys``; empty if it is not a dict.
    ``body_sha1`` False leaves ``http_response_body_sha1`` None (no analysis reads it: for
    rows that are only scored, never stored)."""
    if not isinstance(test_keys, dict):
        return []
    rows: list[Row] = []
    _tcp_rows(test_keys, rows)
    _tls_rows(test_keys, rows)
    _http_rows(test_keys, rows, body_sha1)
    _dns_rows(test_keys, rows)
    return [make_observation(measurement_uid, start_idx + i, "probe", row)
            for i, row in enumerate(rows)]
