"""The Web Connectivity 0.5 test keys (OONI's ``testkeys.go``) as the measurer collects them.

Records arrive from many concurrent flows; ``TestKeys`` keeps them in OONI's containers
(``requests`` newest first, ``x_do53``/``x_doh`` for resolver transport details) and renders
the final dictionary in OONI's key order, with the analysis keys filled in afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from censorscope.trace.trace import Trace

__all__ = ["ANALYSIS_KEYS", "TestKeys"]

# Keys computed by the classic analysis, with their value when nothing could be computed.
ANALYSIS_KEYS: dict[str, Any] = {
    "x_dns_flags": 0,
    "dns_experiment_failure": None,
    "dns_consistency": None,
    "http_experiment_failure": None,
    "x_blocking_flags": 0,
    "x_null_null_flags": 0,
    "body_proportion": 0,
    "body_length_match": None,
    "headers_match": None,
    "status_code_match": None,
    "title_match": None,
    "blocking": None,
    "accessible": None,
}


@dataclass
class TestKeys:
    """Mutable collector of one measurement's records."""

    client_resolver: str = ""
    network_events: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    tcp_connect: list[dict[str, Any]] = field(default_factory=list)
    tls_handshakes: list[dict[str, Any]] = field(default_factory=list)
    x_dns_whoami: dict[str, Any] = field(
        default_factory=lambda: {"system_v4": [], "udp_v4": {}}
    )
    x_doh: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {
            "network_events": [], "queries": [], "requests": [], "tcp_connect": [],
            "tls_handshakes": [],
        }
    )
    x_do53: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"network_events": [], "queries": []}
    )
    x_dns_duplicate_responses: list[dict[str, Any]] = field(default_factory=list)
    x_conn_priority_log: list[dict[str, Any]] = field(default_factory=list)
    x_control_request: dict[str, Any] | None = None
    control: dict[str, Any] | None = None
    control_failure: str | None = None

    # --- collecting ----------------------------------------------------------------------
    def take_endpoint(self, trace: Trace) -> None:
        """Move an endpoint flow's records here (requests are prepended: newest first)."""

        self.network_events.extend(_pop(trace.network_events))
        self.tcp_connect.extend(_pop(trace.tcp_connect))
        self.tls_handshakes.extend(_pop(trace.tls_handshakes))
        self.requests[:0] = _pop(trace.requests)
        self.queries.extend(_pop(trace.queries))

    def take_system_resolver(self, trace: Trace) -> None:
        """getaddrinfo: the query goes to ``queries``; its annotations are not kept."""

        self.queries.extend(_pop(trace.queries))
        trace.network_events.clear()

    def take_do53(self, trace: Trace) -> None:
        """Do53: ``udp``/``tcp`` queries to ``queries``, the rest and events to ``x_do53``;
        late replies to ``x_dns_duplicate_responses``."""

        for query in _pop(trace.queries):
            in_queries = query.get("engine") in ("udp", "tcp")
            (self.queries if in_queries else self.x_do53["queries"]).append(query)
        self.x_do53["network_events"].extend(_pop(trace.network_events))
        self.x_dns_duplicate_responses.extend(_pop(trace.dns_late_replies))

    def take_doh(self, trace: Trace) -> None:
        """DoH: ``doh`` queries to ``queries``; the transport's records to ``x_doh``."""

        for query in _pop(trace.queries):
            target = self.queries if query.get("engine") == "doh" else self.x_doh["queries"]
            target.append(query)
        self.x_doh["network_events"].extend(_pop(trace.network_events))
        self.x_doh["tcp_connect"].extend(_pop(trace.tcp_connect))
        self.x_doh["tls_handshakes"].extend(_pop(trace.tls_handshakes))
        self.x_doh["requests"][:0] = _pop(trace.requests)

    # --- rendering -----------------------------------------------------------------------
    def all_queries(self) -> list[dict[str, Any]]:
        """Every DNS query record, wherever it is kept (for ASN annotation)."""

        return [
            *self.queries, *self.x_do53["queries"], *self.x_doh["queries"],
            *self.x_dns_duplicate_responses,
        ]

    def to_dict(self) -> dict[str, Any]:
        """The test keys in OONI's order; analysis keys at their 'unknown' values."""

        self.network_events.sort(key=lambda e: e.get("t", 0.0))
        out: dict[str, Any] = {
            "agent": "redirect",
            "client_resolver": self.client_resolver,
            "retries": None,
            "socksproxy": None,
            "network_events": self.network_events,
            "x_dns_whoami": self.x_dns_whoami,
            "x_doh": self.x_doh,
            "x_do53": self.x_do53,
            "x_dns_duplicate_responses": self.x_dns_duplicate_responses,
            "queries": self.queries,
            "requests": self.requests,
            "tcp_connect": self.tcp_connect,
            "tls_handshakes": self.tls_handshakes,
            "x_control_request": self.x_control_request,
            "control": self.control,
            "x_conn_priority_log": self.x_conn_priority_log,
            "control_failure": self.control_failure,
        }
        out.update(ANALYSIS_KEYS)
        return out


def _pop(items: list[Any]) -> list[dict[str, Any]]:
    taken = [dict(x) for x in items]
    items.clear()
    return taken
