"""A Web Connectivity measurement's observation rows, regrouped for the layer analyses.

Pure bookkeeping over :class:`ObservationRow` s (no decisions): the probe's DNS lookups per
hostname, its endpoints (TCP/TLS/HTTP per row), its HTTP requests in time order, and the
control's DNS/TCP/TLS/HTTP facts. Hostnames are compared in their IDNA (ASCII) form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from censorscope.model.rows import ObservationRow

__all__ = ["ControlView", "Lookup", "WebView", "ascii_name", "build_view"]

NXDOMAIN = frozenset({"dns_nxdomain_error", "dns_name_error"})
OTHER_RESOLVER_ENGINES = frozenset({"doh", "dot"})


@lru_cache(maxsize=65536)
def ascii_name(name: str | None) -> str:
    """``Яндекс.рф`` → ``xn--d1acpjx3f.xn--p1ai``; lower case, no trailing dot."""
    if not name:
        return ""
    text = name.strip().rstrip(".").lower()
    if text.isascii():
        return text
    try:
        return text.encode("idna").decode("ascii")
    except UnicodeError:
        return text


@dataclass
class Lookup:
    """One DNS query of the probe: its failure and its A/AAAA answers (with AS hints)."""

    hostname: str
    engine: str
    query_type: str
    resolver: str | None
    failure: str | None
    answers: list[tuple[str, int | None]] = field(default_factory=list)

    @property
    def is_other_resolver(self) -> bool:
        return self.engine in OTHER_RESOLVER_ENGINES


@dataclass
class ControlView:
    """The test helper's facts; ``present`` is False when the measurement has no control."""

    present: bool = False
    dns_addrs: list[str] = field(default_factory=list)
    dns_failure: str | None = None
    tcp: dict[tuple[str, int], tuple[bool | None, str | None]] = field(default_factory=dict)
    tls: dict[tuple[str, int], tuple[bool | None, str | None, str | None]] = field(
        default_factory=dict)
    http: ObservationRow | None = None

    @property
    def http_ok(self) -> bool:
        """The control fetched the page (following redirects)."""
        h = self.http
        return (h is not None and h.http_failure is None
                and (h.http_response_status_code or 0) > 0)


@dataclass
class WebView:
    """Everything the layer analyses read."""

    domain: str
    lookups: list[Lookup]
    endpoints: list[ObservationRow]
    requests: list[ObservationRow]
    control: ControlView

    def answers_for(self, hostname: str, *, other: bool) -> list[tuple[str, int | None]]:
        return [a for lk in self.lookups
                if lk.hostname == hostname and lk.is_other_resolver == other
                for a in lk.answers]

    @property
    def final_request(self) -> ObservationRow | None:
        return self.requests[-1] if self.requests else None


def _control(rows: Sequence[ObservationRow]) -> ControlView:
    view = ControlView(present=bool(rows))
    for r in rows:
        if r.http_request_url is not None or r.http_success is not None:
            if r.ip is None:
                view.http = r
                continue
        if r.port is not None and r.ip:
            if r.tcp_success is not None or r.tcp_failure is not None:
                view.tcp[(r.ip, r.port)] = (r.tcp_success, r.tcp_failure)
            if r.tls_success is not None or r.tls_failure is not None:
                view.tls[(r.ip, r.port)] = (r.tls_success, r.tls_failure, r.tls_server_name)
            continue
        if r.dns_failure is not None and view.dns_failure is None:
            view.dns_failure = r.dns_failure
        if r.dns_answer and r.ip:
            view.dns_addrs.append(r.ip)
    return view


def build_view(domain: str | None, observations: Sequence[ObservationRow]) -> WebView:
    """Regroup ``observations`` (probe and control rows of one measurement)."""
    lookups: dict[tuple[object, ...], Lookup] = {}
    endpoints: list[ObservationRow] = []
    requests: list[ObservationRow] = []
    control_rows: list[ObservationRow] = []
    for r in observations:
        if r.origin != "probe":
            control_rows.append(r)
            continue
        if r.dns_query_type is not None or r.dns_engine is not None:
            host = ascii_name(r.hostname)
            key = (host, r.dns_engine, r.dns_resolver_address, r.dns_query_type, r.dns_t)
            lk = lookups.get(key)
            if lk is None:
                lk = lookups[key] = Lookup(host, r.dns_engine or "system", r.dns_query_type or "",
                                           r.dns_resolver_address, r.dns_failure)
            if r.dns_answer and r.dns_answer_type in ("A", "AAAA"):
                lk.answers.append((r.dns_answer, r.dns_answer_asn))
        if r.port is not None and r.ip:
            endpoints.append(r)
        if r.http_request_url is not None:
            requests.append(r)
    requests.sort(key=lambda r: r.http_t if r.http_t is not None else -1.0)
    return WebView(ascii_name(domain), list(lookups.values()), endpoints, requests,
                   _control(control_rows))
