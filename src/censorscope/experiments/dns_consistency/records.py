"""The archival records of one measurement, gathered from its traces.

Every lookup, whoami query and TLS check runs in its own :class:`~censorscope.trace.trace.Trace`;
:class:`Records` moves their records into OONI's lists: ``queries`` (late replies too, tagged
``late_reply``), ``tcp_connect``, ``tls_handshakes``, ``network_events``; the DoH transport's
own connections go to ``x_doh`` and the whoami lookups to ``x_dns_whoami`` so that neither is
mistaken for a lookup of the measured name or a check of its answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from censorscope.trace.trace import Trace

__all__ = ["LATE_REPLY_TAG", "Records"]

LATE_REPLY_TAG = "late_reply"


def _take(items: list[Any]) -> list[dict[str, Any]]:
    taken = [dict(x) for x in items]
    items.clear()
    return taken


@dataclass
class Records:
    """Mutable lists of records, rendered by :meth:`to_dict`."""

    queries: list[dict[str, Any]] = field(default_factory=list)
    tcp_connect: list[dict[str, Any]] = field(default_factory=list)
    tls_handshakes: list[dict[str, Any]] = field(default_factory=list)
    network_events: list[dict[str, Any]] = field(default_factory=list)
    x_doh: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {
        "queries": [], "tcp_connect": [], "tls_handshakes": [], "requests": [],
        "network_events": []})
    whoami_queries: list[dict[str, Any]] = field(default_factory=list)

    def take_lookup(self, trace: Trace) -> None:
        """A lookup of the measured name: its queries and events; late replies (read after
        the late-reply listeners ended) join ``queries`` with the ``late_reply`` tag."""
        self.queries.extend(_take(trace.queries))
        for late in _take(trace.dns_late_replies):
            late["tags"] = [*late.get("tags", []), LATE_REPLY_TAG]
            self.queries.append(late)
        self.network_events.extend(_take(trace.network_events))

    def take_doh(self, trace: Trace) -> None:
        """A DoH lookup: ``doh`` queries to ``queries``, its transport's records to
        ``x_doh`` (the lookup of the server's own name, its connect, handshake, request)."""
        for query in _take(trace.queries):
            (self.queries if query.get("engine") == "doh" else self.x_doh["queries"]).append(
                query)
        self.x_doh["tcp_connect"].extend(_take(trace.tcp_connect))
        self.x_doh["tls_handshakes"].extend(_take(trace.tls_handshakes))
        self.x_doh["requests"][:0] = _take(trace.requests)
        self.x_doh["network_events"].extend(_take(trace.network_events))

    def take_whoami(self, trace: Trace) -> None:
        """A whoami lookup: kept apart (its answer is a resolver's address, not the name's)."""
        self.whoami_queries.extend(_take(trace.queries))
        trace.network_events.clear()

    def take_check(self, trace: Trace) -> None:
        """A TLS check of one answer IP."""
        self.tcp_connect.extend(_take(trace.tcp_connect))
        self.tls_handshakes.extend(_take(trace.tls_handshakes))
        self.network_events.extend(_take(trace.network_events))

    def to_dict(self) -> dict[str, Any]:
        """The OONI lists (``network_events`` sorted by ``t``)."""
        self.network_events.sort(key=lambda e: e.get("t", 0.0))
        return {
            "network_events": self.network_events,
            "queries": self.queries,
            "tcp_connect": self.tcp_connect,
            "tls_handshakes": self.tls_handshakes,
            "x_doh": self.x_doh,
        }
