"""The OONI test names the collector accepts (nettests of ooni/spec and probe-cli, old and new)."""

from __future__ import annotations

__all__ = ["KNOWN_TEST_NAMES", "canonical_test_name"]

KNOWN_TEST_NAMES: frozenset[str] = frozenset(
    {
        "bridge_reachability", "browser_web", "dash", "dns_consistency", "dnscheck", "dnsping",
        "echcheck", "example", "facebook_messenger", "http_header_field_manipulation",
        "http_host", "http_invalid_request_line", "http_requests", "meek_fronted_requests_test",
        "multi_protocol_traceroute", "ndt", "openvpn", "portfiltering", "psiphon", "quicping",
        "riseupvpn", "signal", "simplequicping", "sni_blocking", "stunreachability",
        "tcp_connect", "tcpping", "telegram", "tlsmiddlebox", "tlsping", "tlstool", "tor",
        "torsf", "urlgetter", "vanilla_tor", "web_connectivity", "whatsapp",
        "service",  # censorscope's own experiment (experiments/service)
        "tls_sni",  # censorscope's own experiment (experiments/tls_sni)
        "throttling",  # censorscope's own experiment (experiments/throttling)
    }
)

_BY_SQUASHED = {name.replace("_", ""): name for name in KNOWN_TEST_NAMES}


def canonical_test_name(name: str) -> str | None:
    """The known snake-case test name for ``name`` (with or without underscores), or None."""

    if name in KNOWN_TEST_NAMES:
        return name
    return _BY_SQUASHED.get(name.replace("_", "").lower())
