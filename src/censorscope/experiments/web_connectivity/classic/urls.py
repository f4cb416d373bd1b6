"""URL host extraction with Go's ``net/url`` semantics (no lower-casing, no IDNA)."""

from __future__ import annotations


def go_hostname(url: str) -> str:
    """``url.Parse(url).Hostname()``: the host without port or IPv6 brackets, case kept.

    Python's ``urlsplit().hostname`` lower-cases, which would break the exact domain
    comparison OONI makes between DNS lookups and the TH's input URL.
    """
    rest = url.split("://", 1)[1] if "://" in url else url
    for sep in "/?#":
        rest = rest.split(sep, 1)[0]
    host = rest.rsplit("@", 1)[-1]
    colon = host.rfind(":")
    if colon != -1 and (host[colon + 1:].isdigit() or host.endswith(":")):
        host = host[:colon]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host
