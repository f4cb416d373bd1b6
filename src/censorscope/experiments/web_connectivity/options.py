"""Settings of one Web Connectivity run: resolvers, control, trust, timeouts, windows.

Defaults are OONI's (DNS 4 s, TCP/TLS/HTTP 10 s, control 30 s, 500 ms late-reply and
priority windows, 10 redirects, 512 KiB body, throttling samples every ~250 ms). Tests and
the lab shrink them. ``Timeouts`` is shared by every experiment (``experiments.interface``)
and re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from censorscope.experiments.interface import ExperimentSettings, Network, Timeouts
from censorscope.model.ipinfo import ASNTable
from censorscope.trace.throttling import SamplerInterval

__all__ = ["ACCEPT", "ACCEPT_LANGUAGE", "USER_AGENT", "Timeouts", "WebConnectivityOptions"]

# model.HTTPHeaderUserAgent in probe-cli (a Safari 17 string) and the two fixed headers.
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Safari/605.1.15"
)
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPT_LANGUAGE = "en-US,en;q=0.9"

@dataclass
class WebConnectivityOptions:
    """Everything the measurer needs to know about its environment.

    ``resolver`` is the Do53 server (``ip:port``), ``doh_url`` the DoH endpoint (``None`` skips
    DoH), ``doh_connect_ip`` pins the DoH server's IP (the lab has no resolver for it),
    ``control_url`` the test helper (``None`` → ``control_failure`` "no available helpers"),
    ``ca_file`` the trust anchors for web sites, ``control_ca_file`` for the control and DoH
    (defaults to ``ca_file``), ``public_ranges`` networks counted as public (not bogons),
    ``client_resolver`` the system resolver's address as seen from outside (configured: this
    test makes no whoami lookup), ``asn_table`` annotates DNS answers.
    ``fetch_alpn`` is offered by flows that may send the GET (our HTTP client speaks
    HTTP/1.1 only), ``probe_alpn`` by TLS-only flows (OONI's ``h2``, ``http/1.1``).
    ``doh_always`` runs DoH in every DNS stage instead of OONI's opportunistic schedule
    (first lookup, then once per 20–39 s). ``allow_loopback`` lets tests on 127.0.0.0/8 dial
    loopback addresses, which OONI (and the default here) never does. ``sampler`` is the
    throttling sampler's interval distribution (``None``: no ``bytes_received_cumulative``
    samples).
    """

    resolver: str | None = None
    doh_url: str | None = None
    doh_connect_ip: str | None = None
    control_url: str | None = None
    control_connect_ip: str | None = None
    ca_file: str | None = None
    control_ca_file: str | None = None
    client_resolver: str = ""
    public_ranges: tuple[Network, ...] = ()
    asn_table: ASNTable | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_redirects: int = 10
    max_body: int = 1 << 19
    user_agent: str = USER_AGENT
    control_user_agent: str = "censorscope/0.1.0 ooniprobe-engine/censorscope"
    fetch_alpn: tuple[str, ...] = ("http/1.1",)
    probe_alpn: tuple[str, ...] = ("h2", "http/1.1")
    doh_always: bool = False
    allow_loopback: bool = False
    sampler: SamplerInterval | None = field(default_factory=SamplerInterval)

    @classmethod
    def from_settings(cls, settings: ExperimentSettings) -> WebConnectivityOptions:
        """The options for the probe's ``settings`` (the rest keep their defaults)."""

        return cls(
            resolver=settings.resolver,
            doh_url=settings.doh_url,
            control_url=settings.control_url,
            ca_file=settings.ca_file,
            control_ca_file=settings.control_ca_file,
            client_resolver=settings.client_resolver,
            public_ranges=settings.public_ranges,
            asn_table=settings.asn_table,
            timeouts=settings.timeouts,
            doh_always=settings.doh_always,
            allow_loopback=settings.allow_loopback,
        )

    def asn_of(self, ip: str) -> int:
        return self.asn_table.asn(ip) if self.asn_table is not None else 0

    def as_name_of(self, ip: str) -> str:
        if self.asn_table is None:
            return ""
        info = self.asn_table.lookup(ip)
        return info.as_name if info is not None else ""
