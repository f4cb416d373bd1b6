"""Settings of a ``tls_sni`` run and the normal form of its targets.

A target is a host name, ``host:port`` or an ``https://`` URL; it is normalised to the ASCII
(IDNA) host name, followed by ``:port`` when the target names a port. IP literals are refused:
an IP cannot be a server name (measure a name, and add IPs with the ``ips`` option).

Options (``--option tls_sni.KEY=VALUE``):

- ``ips``: comma list of IPs measured in addition to the target's DNS answers (also when the
  name does not resolve, so they can replace it);
- ``control_sni``: the server name of the control handshake. Default ``example.org``: a name
  reserved for documentation (RFC 2606), served by large CDNs and by the lab's web server,
  which no censor has a reason to block. It need not be served by the target's IP: the control
  handshake only has to get an answer (a certificate for another name, or an alert, is
  enough), so it is made without certificate validation;
- ``port``: the TLS port for targets that name none (default 443).

Timeouts are the probe's (``--tcp-timeout``, ``--tls-timeout``, ``--dns-timeout``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from censorscope.experiments.interface import ExperimentSettings, Timeouts
from censorscope.model.endpoint import is_ip, split_host_port

__all__ = ["DEFAULT_CONTROL_SNI", "DEFAULT_PORT", "OPTIONS", "TLSSNIOptions", "parse_target",
           "split_target"]

DEFAULT_CONTROL_SNI = "example.org"
DEFAULT_PORT = 443

OPTIONS: Mapping[str, str] = {
    "ips": "comma list of IPs to measure in addition to the target's DNS answers",
    "control_sni": f"server name of the control handshake (default {DEFAULT_CONTROL_SNI})",
    "port": f"TLS port for targets without one (default {DEFAULT_PORT})",
}


def _server_name(host: str, what: str) -> str:
    """``host`` as an ASCII server name (IDNA, lower case); ValueError naming ``what``."""
    name = host.strip().rstrip(".").lower()
    if not name:
        raise ValueError(f"{what}: empty server name")
    if is_ip(name.strip("[]")):
        raise ValueError(f"{what}: {host!r} is an IP address, not a server name (give the "
                         "name; add IPs with --option tls_sni.ips=...)")
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"{what}: {host!r} is not a valid host name ({exc})") from None
    labels = ascii_name.split(".")
    if any(not label or len(label) > 63 for label in labels) or len(ascii_name) > 253:
        raise ValueError(f"{what}: {host!r} is not a valid host name")
    return ascii_name


def _port(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= 65535:
        raise ValueError(f"{what}: invalid port {text!r}")
    return int(text)


def parse_target(raw: str) -> str:
    """``raw`` (a host, ``host:port`` or an https URL) as ``host`` or ``host:port``."""
    text = raw.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme.lower() != "https":
            raise ValueError("tls_sni measures TLS: give an https:// URL, a host name or "
                             "host:port")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{raw!r}: invalid port") from None
        name = _server_name(parts.hostname or "", "target")
        return f"{name}:{port}" if port is not None else name
    if text.count(":") == 1:
        host, port_text = text.split(":")
        return f"{_server_name(host, 'target')}:{_port(port_text, 'target')}"
    return _server_name(text, "target")


def split_target(target: str, default_port: int) -> tuple[str, int]:
    """(server name, port) of a normalised target."""
    if ":" in target:
        host, port = split_host_port(target)
        return host, port
    return target, default_port


def _ips(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if not is_ip(item):
            raise ValueError(f"ips: {item!r} is not an IP address")
        canonical = str(ipaddress.ip_address(item))
        if canonical not in out:
            out.append(canonical)
    return tuple(out)


@dataclass(frozen=True)
class TLSSNIOptions:
    """What the measurer needs: the system resolver is always asked; ``resolver`` (Do53
    ``ip:port``) is asked too when configured; ``ca_file`` validates the target's
    certificate; ``allow_loopback`` lets tests dial 127.0.0.0/8."""

    resolver: str | None = None
    ca_file: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    ips: tuple[str, ...] = ()
    control_sni: str = DEFAULT_CONTROL_SNI
    port: int = DEFAULT_PORT
    allow_loopback: bool = False

    @classmethod
    def from_settings(cls, settings: ExperimentSettings) -> TLSSNIOptions:
        """The options for the probe's ``settings``; ValueError naming a bad option."""
        opts = settings.options
        unknown = sorted(set(opts) - set(OPTIONS))
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown tls_sni option (known: "
                             f"{', '.join(sorted(OPTIONS))})")
        control = opts.get("control_sni")
        port = opts.get("port")
        return cls(
            resolver=settings.resolver,
            ca_file=settings.ca_file,
            timeouts=settings.timeouts,
            ips=_ips(opts.get("ips", "")),
            control_sni=_server_name(control, "control_sni") if control is not None
            else DEFAULT_CONTROL_SNI,
            port=_port(port.strip(), "port") if port is not None else DEFAULT_PORT,
            allow_loopback=settings.allow_loopback,
        )
