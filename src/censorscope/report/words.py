"""The small words of a report, said once for the Markdown and the HTML renderers: how a time,
a network, a duration and a count are written, and what each technique name means.

Times are naive UTC datetimes (the store's) written ``YYYY-MM-DD HH:MM:SS``; networks are
written ``AS29049`` (plus the AS name where the reader needs it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

__all__ = [
    "SCOPE_WORDS", "TECHNIQUES", "as_label", "count_noun", "duration",
    "technique_text", "when", "when_or",
]

# what each mechanism of the taxonomy (model.verdict.MECHANISMS) means, for the methods section
TECHNIQUES: Final[dict[str, str]] = {
    "dns.nxdomain": "the resolver answered that the name does not exist (NXDOMAIN)",
    "dns.refused": "the resolver refused the query",
    "dns.servfail": "the resolver answered with a server failure (SERVFAIL)",
    "dns.timeout": "the DNS query got no answer in time",
    "dns.no_answer": "the resolver answered without an address",
    "dns.injection.bogon": "the DNS answer was a private or otherwise non-routable address",
    "dns.injection.blockpage": "the DNS answer pointed to a known blockpage server",
    "dns.injection.other": "the DNS answer differed from the control's and did not work for "
                           "the name",
    "tcp.timeout": "the TCP connection to the address timed out",
    "tcp.reset": "the TCP connection was reset",
    "tcp.refused": "the TCP connection was refused",
    "tls.timeout.sni": "the TLS handshake timed out after the ClientHello was written, and the "
                       "same address completed a handshake with another server name: the "
                       "server name (SNI) triggers the interference",
    "tls.reset.sni": "the TLS handshake was reset after the ClientHello, and the same address "
                     "completed a handshake with another server name (SNI-triggered)",
    "tls.eof.sni": "the connection was closed after the ClientHello, and the same address "
                   "completed a handshake with another server name (SNI-triggered)",
    "tls.timeout": "the TLS handshake timed out after the ClientHello was written",
    "tls.reset": "the TLS handshake was reset",
    "tls.eof": "the connection was closed during the TLS handshake",
    "tls.mitm": "the TLS handshake completed with a certificate not valid for the name",
    "tls.cert": "the server's certificate was not valid for the name",
    "http.blockpage": "the HTTP response was a known blockpage",
    "http.reset": "the HTTP exchange was reset",
    "http.timeout": "the HTTP exchange timed out",
    "http.eof": "the connection was closed during the HTTP exchange",
    "http.diff": "the HTTP response differed from the control's",
    "throttle.sni": "transfers with the server name were slowed down",
    "throttle.ip": "transfers to the address were slowed down",
    "ip.unreachable": "the address was unreachable",
    "shutdown": "the network lost connectivity",
}

SCOPE_WORDS: Final[dict[str, str]] = {
    "one_isp": "one network", "several_isps": "several networks",
    "national": "every network measured (national)", "server_side": "server side",
}

def when(t: datetime | None) -> str:
    """``t`` as ``YYYY-MM-DD HH:MM:SS`` (UTC), or an empty string."""
    if t is None:
        return ""
    return t.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")


def when_or(t: datetime | None, missing: str) -> str:
    """``when(t)``, or ``missing`` for None."""
    return missing if t is None else when(t)


def as_label(asn: int | None, as_name: str | None = None) -> str:
    """``AS29049`` or ``AS29049 Delta Telecom Ltd``; ``the country`` for None."""
    if asn is None:
        return "the country"
    return f"AS{asn} {as_name}".rstrip() if as_name else f"AS{asn}"


def duration(span: timedelta | None) -> str:
    """A duration a person reads: ``2 d 3 h``, ``5 h 12 min``, ``42 min``, ``30 s``."""
    if span is None:
        return ""
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def count_noun(n: int, singular: str, plural: str | None = None) -> str:
    """``1 measurement``, ``3 measurements``."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def technique_text(mechanism: str) -> str:
    """What ``mechanism`` means (the name itself when the taxonomy has no sentence for it)."""
    return TECHNIQUES.get(mechanism, "a mechanism the analysis names " + mechanism)
