"""Check that a JSON object is a well-formed test-helper response.

``response_problems(obj)`` lists what is wrong (empty list = valid). ``strict`` (the default)
is the shape censorscope's control emits, identical to today's oohelperd; ``strict=False``
also accepts what older helpers sent and what OONI's archive still holds (missing
``tls_handshake``/``quic_handshake``/``http3_request``/``ip_info``, ``null`` maps, entries
without ``failure``, ``http_request`` without ``title`` or ``discovered_h3_endpoint``), which
is what a probe must tolerate from a third-party control.
"""

from __future__ import annotations

from typing import Any

TCP_FAILURES = frozenset({"generic_timeout_error", "connection_refused_error", "connect_error"})
DNS_FAILURES = frozenset({"dns_name_error", "dns_server_failure", "unknown_error"})
HTTP_FAILURES = frozenset(
    {"dns_lookup_error", "generic_timeout_error", "connection_refused_error", "unknown_error"}
)

_HTTP_KEYS = ("body_length", "discovered_h3_endpoint", "failure", "title", "headers", "status_code")


class _Checker:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def keys(self, path: str, obj: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()
             ) -> bool:
        if not isinstance(obj, dict):
            self.fail(path, f"expected object, got {type(obj).__name__}")
            return False
        for key in required:
            if key not in obj:
                if self.strict:
                    self.fail(path, f"missing key {key!r}")
        for key in obj:
            if key not in required and key not in optional:
                self.fail(path, f"unexpected key {key!r}")
        return True

    def typed(self, path: str, obj: dict[str, Any], key: str, kinds: tuple[type, ...],
              nullable: bool = False) -> None:
        if key not in obj:
            return
        value = obj[key]
        if value is None and nullable:
            return
        if isinstance(value, bool) and bool not in kinds:
            self.fail(f"{path}.{key}", "expected a number, got a boolean")
        elif not isinstance(value, kinds):
            names = "/".join(k.__name__ for k in kinds)
            self.fail(f"{path}.{key}", f"expected {names}, got {type(value).__name__}")

    def failure(self, path: str, obj: dict[str, Any], vocabulary: frozenset[str] | None) -> None:
        self.typed(path, obj, "failure", (str,), nullable=True)
        value = obj.get("failure")
        if self.strict and vocabulary is not None and isinstance(value, str) \
                and value not in vocabulary:
            self.fail(f"{path}.failure", f"{value!r} is not a legacy TH failure string")

    def map_of(self, path: str, obj: Any, check: Any) -> None:
        if obj is None and not self.strict:
            return
        if not isinstance(obj, dict):
            self.fail(path, f"expected object, got {type(obj).__name__}")
            return
        for key, value in obj.items():
            check(f"{path}[{key!r}]", value)

    def tcp_entry(self, path: str, entry: Any) -> None:
        if self.keys(path, entry, ("status", "failure")):
            self.typed(path, entry, "status", (bool,))
            self.failure(path, entry, TCP_FAILURES)
            if "status" not in entry:
                self.fail(path, "missing key 'status'")

    def tls_entry(self, path: str, entry: Any) -> None:
        if self.keys(path, entry, ("server_name", "status", "failure")):
            self.typed(path, entry, "server_name", (str,))
            self.typed(path, entry, "status", (bool,))
            self.failure(path, entry, None)

    def http(self, path: str, obj: Any) -> None:
        if not self.keys(path, obj, _HTTP_KEYS):
            return
        for key in ("body_length", "status_code"):
            self.typed(path, obj, key, (int,))
        for key in ("discovered_h3_endpoint", "title"):
            self.typed(path, obj, key, (str,))
        self.failure(path, obj, HTTP_FAILURES)
        headers = obj.get("headers")
        if headers is None and (not self.strict or "headers" not in obj):
            return
        if not isinstance(headers, dict):
            self.fail(f"{path}.headers", f"expected object, got {type(headers).__name__}")
            return
        for name, value in headers.items():
            if not isinstance(value, str):
                self.fail(f"{path}.headers[{name!r}]", "expected a string (first value)")

    def dns(self, path: str, obj: Any) -> None:
        if not self.keys(path, obj, ("failure", "addrs")):
            return
        self.failure(path, obj, DNS_FAILURES)
        addrs = obj.get("addrs")
        if addrs is None and not self.strict:
            return
        if not isinstance(addrs, list) or not all(isinstance(a, str) for a in addrs):
            self.fail(f"{path}.addrs", "expected a list of strings")

    def ip_entry(self, path: str, entry: Any) -> None:
        if self.keys(path, entry, ("asn", "flags")):
            self.typed(path, entry, "asn", (int,))
            self.typed(path, entry, "flags", (int,))
            flags = entry.get("flags")
            if isinstance(flags, int) and not 0 <= flags <= 15:
                self.fail(f"{path}.flags", f"{flags} is outside the 4-bit mask")


def response_problems(obj: Any, *, strict: bool = True) -> list[str]:
    """Everything that keeps ``obj`` from being a valid THResponse (``[]`` if valid)."""

    c = _Checker(strict)
    top_required = ("tcp_connect", "quic_handshake", "http_request", "http3_request", "dns")
    if not c.keys("$", obj, top_required, ("tls_handshake", "ip_info")):
        return c.problems
    for key in ("tcp_connect", "http_request", "dns"):
        if key not in obj:
            c.fail("$", f"missing key {key!r}")
    c.map_of("$.tcp_connect", obj.get("tcp_connect", {}), c.tcp_entry)
    if "tls_handshake" in obj:
        c.map_of("$.tls_handshake", obj["tls_handshake"], c.tls_entry)
    if "quic_handshake" in obj:
        c.map_of("$.quic_handshake", obj["quic_handshake"], c.tls_entry)
    if "http_request" in obj:
        c.http("$.http_request", obj["http_request"])
    if obj.get("http3_request") is not None:
        c.http("$.http3_request", obj["http3_request"])
    if "dns" in obj:
        c.dns("$.dns", obj["dns"])
    if "ip_info" in obj:
        c.map_of("$.ip_info", obj["ip_info"], c.ip_entry)
    # de-duplicate (strict mode reports a missing top-level key twice)
    return list(dict.fromkeys(c.problems))
