"""An event-timeline excerpt of one measurement: what the probe did for the endpoint that
failed, with the time of each step in seconds since the measurement began.

The excerpt follows one transaction (the probe gives each endpoint, or each step of Web
Connectivity, its own ``transaction_id``): the failing row's. From the raw measurement
(:mod:`.raw`) it lists the ``network_events`` of that transaction — connect, the TLS handshake
start with its server name, the write of the ClientHello, the read that timed out … — with the
DNS queries of the transaction; without the raw file it lists the stored observation rows:
DNS answer, TCP connect, TLS handshake with its server name, HTTP, with their ``t``.
Every string comes from the measurement and is cleaned of control characters and cut to a
bounded length; the renderers escape it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from censorscope.model.rows import ObservationRow

__all__ = ["MAX_LINES", "Timeline", "TimelineLine", "failing_row", "timeline_excerpt"]

MAX_LINES: Final = 16
MAX_FIELD: Final = 160


@dataclass(frozen=True)
class TimelineLine:
    """One step: its time (seconds since the measurement began; None: not recorded) and what
    happened."""

    t: float | None
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "text": self.text}


@dataclass(frozen=True)
class Timeline:
    """The excerpt of measurement ``uid``: the transaction followed, its endpoint, where the
    lines come from (``raw measurement`` or ``observation rows``) and the lines."""

    uid: str
    transaction_id: int | None
    endpoint: str
    source: str
    lines: tuple[TimelineLine, ...]
    omitted: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "transaction_id": self.transaction_id,
                "endpoint": self.endpoint, "source": self.source,
                "lines": [line.to_json() for line in self.lines], "omitted": self.omitted}


def clean(value: object) -> str:
    """``value`` as one line of at most ``MAX_FIELD`` characters, control characters
    replaced."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text if len(text) <= MAX_FIELD else text[:MAX_FIELD - 1] + "…"


def failing_row(rows: Sequence[ObservationRow], prefer: tuple[str, str] | None = None,
                layer: str | None = None) -> ObservationRow | None:
    """The row a timeline follows: the failed TLS handshake at ``prefer`` (ip, server name)
    when there is one; for a verdict at the ``dns`` layer, the first failed lookup (an empty
    AAAA answer aside) or bogon answer, then the connection to a bogon address; else the first
    failed TLS handshake, TCP connect, DNS lookup or HTTP request, in that order; else the
    first row."""
    if prefer is not None:
        for r in rows:
            if (r.ip, (r.tls_server_name or "").lower()) == prefer and r.tls_failure:
                return r

    def dns_failed(r: ObservationRow) -> object:
        return r.dns_failure and r.dns_failure != "dns_no_answer"

    tests: tuple[Callable[[ObservationRow], object], ...] = (
        lambda r: r.tls_failure, lambda r: r.tcp_failure, dns_failed, lambda r: r.http_failure)
    if layer == "dns":
        tests = (lambda r: dns_failed(r) or (r.dns_answer is not None and r.ip_is_bogon),
                 lambda r: r.ip_is_bogon and r.tcp_success is not None, *tests)
    for test in tests:
        for r in rows:
            if test(r):
                return r
    return rows[0] if rows else None


def _endpoint(row: ObservationRow) -> str:
    name = row.tls_server_name or row.hostname or ""
    where = f"{row.ip}:{row.port}" if row.ip and row.port else (row.ip or "")
    return clean(f"{name} ({where})" if name and where else (name or where or "?"))


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _answers(query: Mapping[str, Any]) -> str:
    found = [str(a.get("ipv4") or a.get("ipv6") or a.get("hostname") or "")
             for a in query.get("answers") or () if isinstance(a, Mapping)]
    return ", ".join(a for a in found if a) or "no answer"


def _event_text(ev: Mapping[str, Any], sni: str | None, hello: bool,
                handshake_failure: str | None) -> str:
    """One network event as a line; ``hello``: this write is the ClientHello (the first
    write after the TLS handshake started); ``handshake_failure``: the failure the
    transaction's ``tls_handshakes`` record gives (the done event itself carries none)."""
    op = clean(ev.get("operation") or "?")
    address = clean(ev.get("address") or "")
    failure = ev.get("failure")
    parts = [op]
    if address:
        parts.append(address)
    if op == "tls_handshake_start" and sni:
        parts.append(f"server name {clean(sni)}")
    if isinstance(ev.get("num_bytes"), int):
        parts.append(f"{ev['num_bytes']} bytes")
    if hello:
        parts.append("(the ClientHello)")
    if op == "tls_handshake_done" and not failure:
        failure = handshake_failure
    if failure:
        parts.append(f"→ {clean(failure)}")
    elif op in ("connect", "tls_handshake_done"):
        parts.append("→ ok")
    return " ".join(parts)


def _queries(keys: Mapping[str, Any], row: ObservationRow) -> list[Mapping[str, Any]]:
    """The DNS queries of the row's transaction, and those of its host in other transactions
    (Web Connectivity resolves in a transaction of its own) that failed or gave its address."""
    out = []
    host = (row.hostname or "").lower()
    for q in keys.get("queries") or ():
        if not isinstance(q, Mapping):
            continue
        if q.get("transaction_id") == row.transaction_id:
            out.append(q)
        elif host and str(q.get("hostname") or "").lower() == host and (
                (q.get("failure") and q.get("failure") != "dns_no_answer")
                or (row.ip and row.ip in _answers(q).split(", "))):
            out.append(q)
    return out


def _from_raw(raw: Mapping[str, Any], row: ObservationRow) -> list[TimelineLine]:
    keys = raw.get("test_keys")
    if not isinstance(keys, Mapping):
        return []
    tid = row.transaction_id

    def of_tid(name: str) -> list[Mapping[str, Any]]:
        items = keys.get(name) or ()
        return [e for e in items if isinstance(e, Mapping) and e.get("transaction_id") == tid]

    records = of_tid("tls_handshakes")
    sni = next((str(h.get("server_name")) for h in records if h.get("server_name")), None)
    handshake_failure = next((str(h["failure"]) for h in records if h.get("failure")), None)
    lines: list[tuple[float, int, TimelineLine]] = []
    for q in _queries(keys, row):
        t = _float(q.get("t"))
        failure = q.get("failure")
        answer = f"→ {clean(failure)}" if failure else f"→ {clean(_answers(q))}"
        text = (f"DNS {clean(q.get('engine') or '?')} {clean(q.get('query_type') or '?')} "
                f"{clean(q.get('hostname') or '?')} {answer}")
        lines.append((t if t is not None else -1.0, 0, TimelineLine(t, text)))
    tls_started = hello_written = False
    for i, ev in enumerate(of_tid("network_events")):
        t = _float(ev.get("t"))
        op = ev.get("operation")
        hello = op == "write" and tls_started and not hello_written
        hello_written = hello_written or hello
        tls_started = tls_started or op == "tls_handshake_start"
        lines.append((t if t is not None else -1.0, 1 + i,
                      TimelineLine(t, _event_text(ev, sni, hello, handshake_failure))))
    lines.sort(key=lambda x: (x[0], x[1]))
    return [line for _, _, line in lines]


def _row_lines(r: ObservationRow) -> list[TimelineLine]:
    out = []
    if r.dns_answer is not None or r.dns_failure is not None:
        result = clean(r.dns_failure) if r.dns_failure else clean(r.dns_answer)
        out.append(TimelineLine(r.dns_t, f"DNS {clean(r.dns_engine or '?')} "
                                f"{clean(r.dns_query_type or '?')} {clean(r.hostname or '?')} "
                                f"→ {result}"))
    if r.tcp_success is not None:
        result = "ok" if r.tcp_success else clean(r.tcp_failure or "failed")
        out.append(TimelineLine(r.tcp_t, f"TCP connect {clean(r.ip)}:{r.port} → {result}"))
    if r.tls_server_name is not None and (r.tls_success is not None or r.tls_failure):
        result = "ok" if r.tls_success else clean(r.tls_failure or "failed")
        writes = r.tls_handshake_write_count
        detail = f" after {writes} write(s)" if writes is not None else ""
        last = r.tls_handshake_last_operation
        detail += f", last operation {clean(last)}" if last else ""
        out.append(TimelineLine(r.tls_t, f"TLS handshake {clean(r.ip)}:{r.port} server name "
                                f"{clean(r.tls_server_name)} → {result}{detail}"))
    if r.http_success is not None or r.http_failure:
        result = (clean(r.http_failure) if r.http_failure
                  else f"status {r.http_response_status_code}")
        out.append(TimelineLine(r.http_t, f"HTTP {clean(r.http_request_method or 'GET')} "
                                f"{clean(r.http_request_url or '?')} → {result}"))
    return out


def _from_rows(rows: Sequence[ObservationRow], row: ObservationRow) -> list[TimelineLine]:
    picked = [r for r in rows if r.transaction_id == row.transaction_id] \
        if row.transaction_id is not None else [row]
    host = (row.hostname or "").lower()
    picked += [r for r in rows if r not in picked and (r.hostname or "").lower() == host
               and (r.dns_answer == row.ip and r.dns_answer is not None)]
    lines = [line for r in picked for line in _row_lines(r)]
    lines.sort(key=lambda line: (line.t is None, line.t or 0.0))
    return lines


def _bounded(lines: list[TimelineLine]) -> tuple[tuple[TimelineLine, ...], int]:
    if len(lines) <= MAX_LINES:
        return tuple(lines), 0
    head, tail = lines[:MAX_LINES - 4], lines[-3:]
    omitted = len(lines) - len(head) - len(tail)
    return (*head, TimelineLine(None, f"… {omitted} more events …"), *tail), omitted


def timeline_excerpt(uid: str, rows: Sequence[ObservationRow], raw: Mapping[str, Any] | None,
                     prefer: tuple[str, str] | None = None, layer: str | None = None
                     ) -> Timeline | None:
    """The excerpt of measurement ``uid`` from its probe ``rows`` and its ``raw`` body (None:
    not readable), following the failing row (:func:`failing_row`, given the verdict's
    ``layer``); None without rows."""
    row = failing_row(rows, prefer, layer)
    if row is None:
        return None
    lines: list[TimelineLine] = []
    source = "observation rows"
    if raw is not None and row.transaction_id is not None:
        lines = _from_raw(raw, row)
        source = "raw measurement"
    if not lines:
        lines = _from_rows(rows, row)
        source = "observation rows"
    if not lines:
        return None
    shown, omitted = _bounded(lines)
    return Timeline(uid, row.transaction_id, _endpoint(row), source, shown, omitted)
