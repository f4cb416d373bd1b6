"""Settings of one ``service`` run: the probe's (trust anchors, timeouts, loopback) and the
experiment's own options, parsed and checked before anything is measured.

Options (``--option service.KEY=VALUE``): ``endpoints_file`` (a user's endpoint set, format in
:mod:`.endpoints`), ``concurrency`` (endpoints measured at once, default 8),
``max_addresses`` (addresses tried per endpoint until one works, default 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from censorscope.experiments.interface import ExperimentSettings, Timeouts
from censorscope.experiments.web_connectivity.options import USER_AGENT

from .endpoints import KNOWN_SERVICES, Endpoint, EndpointFileError, load_endpoint_file

__all__ = ["OPTIONS", "ServiceOptions"]

OPTIONS = {
    "endpoints_file": "a CSV of endpoints (service,host,port,protocol[,path][,note]) measured "
                      "instead of the bundled set of the services it names",
    "concurrency": "endpoints measured at once (default 8)",
    "max_addresses": "addresses tried per endpoint until one works (default 2)",
}


def _positive(options: dict[str, str], key: str, default: int, top: int) -> int:
    raw = options.get(key)
    if raw is None:
        return default
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) <= top:
        raise ValueError(f"{key}: {raw!r} is not a whole number from 1 to {top}")
    return int(text)


@dataclass(frozen=True)
class ServiceOptions:
    """What the measurer needs: trust anchors, timeouts, the user's endpoints (empty: the
    bundled sets), the concurrency bound and addresses per endpoint."""

    ca_file: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    allow_loopback: bool = False
    own_endpoints: tuple[Endpoint, ...] = ()
    endpoints_file: str | None = None
    concurrency: int = 8
    max_addresses: int = 2
    max_body: int = 1 << 16
    user_agent: str = USER_AGENT

    @classmethod
    def from_settings(cls, settings: ExperimentSettings) -> ServiceOptions:
        """The options for ``settings`` (ValueError naming the key for a bad option)."""
        opts = dict(settings.options)
        unknown = sorted(set(opts) - set(OPTIONS))
        if unknown:
            raise ValueError(f"unknown option {unknown[0]!r} (known: {', '.join(OPTIONS)})")
        own: tuple[Endpoint, ...] = ()
        path = opts.get("endpoints_file")
        if path:
            try:
                own = tuple(load_endpoint_file(path))
            except EndpointFileError as exc:
                raise ValueError(f"endpoints_file: {exc}") from exc
            for ep in own:
                if ep.service not in KNOWN_SERVICES:
                    raise ValueError(
                        f"endpoints_file: {ep.source}: unknown service {ep.service!r} "
                        f"(known: {', '.join(KNOWN_SERVICES)})")
        return cls(
            ca_file=settings.ca_file,
            timeouts=settings.timeouts,
            allow_loopback=settings.allow_loopback,
            own_endpoints=own,
            endpoints_file=path or None,
            concurrency=_positive(opts, "concurrency", 8, 256),
            max_addresses=_positive(opts, "max_addresses", 2, 16),
        )
