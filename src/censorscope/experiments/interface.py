"""What an experiment is to the probe: its description, what it is given, what it returns.

The probe (``censorscope.probe``) runs any registered :class:`Experiment` the same way: it
builds :class:`ExperimentSettings` from its configuration, asks the experiment's ``factory``
for one :class:`Measurer` per run, and calls ``Measurer.run`` once per input (once in all
for an experiment without input), writing every returned measurement. Nothing here knows a
particular experiment; ``registry`` lists them.

:class:`ProbeMetadata` (who and where the probe is) and :class:`Timeouts` (per-step
timeouts) are shared by every experiment, so they live here;
``experiments.web_connectivity`` re-exports them (``envelope.ProbeMetadata``,
``options.Timeouts``).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from censorscope import __version__
from censorscope.model.ipinfo import ASNTable

__all__ = [
    "Experiment",
    "ExperimentSettings",
    "InputKind",
    "Measurer",
    "MeasurerFactory",
    "Network",
    "ProbeMetadata",
    "Timeouts",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class InputKind(enum.Enum):
    """What an experiment measures: one URL per measurement; one target of the experiment's
    own kind per measurement (a host name, an IP, a service name …, normalised by
    :attr:`Experiment.parse_input`); or nothing (one measurement per run)."""

    URLS = "urls"
    TARGETS = "targets"
    NONE = "none"


@dataclass(frozen=True)
class Timeouts:
    """Per-step timeouts in seconds, and the selector/late-reply windows.

    OONI's defaults (DNS 4 s, TCP/TLS/HTTP 10 s, control 30 s, 500 ms windows); the
    ``priority_*`` and ``dns_late_window`` values are Web Connectivity's.
    """

    dns: float = 4.0
    tcp: float = 10.0
    tls: float = 10.0
    http: float = 10.0
    control: float = 30.0
    dns_late_window: float = 0.5
    priority_window: float = 0.5
    priority_answer: float = 1.0
    priority_send: float = 0.01

    def scaled(self, factor: float) -> Timeouts:
        """Every value multiplied by ``factor`` (``--timeout-scale``)."""

        return Timeouts(**{k: v * factor for k, v in self.__dict__.items()})

    def with_(self, **changes: float) -> Timeouts:
        return replace(self, **changes)


@dataclass(frozen=True)
class ProbeMetadata:
    """Who and where the probe is (``probe_asn`` as an int; 0 = unknown)."""

    probe_cc: str = "ZZ"
    probe_asn: int = 0
    probe_network_name: str = ""
    resolver_ip: str = ""
    resolver_asn: int = 0
    resolver_network_name: str = ""
    software_name: str = "censorscope"
    software_version: str = __version__


@dataclass(frozen=True)
class ExperimentSettings:
    """The probe's environment, as every experiment's factory receives it.

    Built by ``censorscope.probe.config.ProbeConfig.to_settings`` (the only place that reads
    the configuration file). ``resolver`` is the Do53 server (``ip:port``), ``doh_url`` the
    DoH endpoint, ``control_url`` the test helper (``None``: no control), ``ca_file`` the
    trust anchors for web sites and ``control_ca_file`` for the control and DoH,
    ``client_resolver`` the system resolver's address as seen from outside,
    ``public_ranges`` networks counted as public (not bogons), ``asn_table`` annotates
    addresses, ``doh_always`` turns off opportunistic DoH scheduling and ``allow_loopback``
    lets tests dial 127.0.0.0/8. ``options`` are this experiment's own settings (the keys
    its :attr:`Experiment.options` documents; values as given, the experiment parses them
    and raises ``ValueError`` naming the key for a bad one). An experiment uses what it
    needs and ignores the rest.
    """

    resolver: str | None = None
    doh_url: str | None = None
    control_url: str | None = None
    ca_file: str | None = None
    control_ca_file: str | None = None
    client_resolver: str = ""
    public_ranges: tuple[Network, ...] = ()
    asn_table: ASNTable | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    doh_always: bool = False
    allow_loopback: bool = False
    options: Mapping[str, str] = field(default_factory=dict)


class Measurer(Protocol):
    """Measures one input (or, for an experiment without input, the network once).

    ``input`` is written to the measurement's ``input`` key as given, ``url`` is its
    normalised form (both ``None`` for an experiment of :attr:`InputKind.NONE`). It returns a
    complete df-000 measurement (``censorscope.model.measurement.make_measurement``) carrying
    ``report_id`` and ``test_start_time``. One instance serves a whole run, so it may keep
    state across inputs (Web Connectivity keeps OONI's DoH schedule). Network failures are
    facts to record, not exceptions; an exception is a bug and costs only that input.
    """

    async def run(
        self,
        input: str | None,
        url: str | None,
        *,
        probe: ProbeMetadata,
        report_id: str,
        test_start_time: datetime,
    ) -> dict[str, Any]: ...


MeasurerFactory = Callable[[ExperimentSettings], Measurer]


def _no_warnings(settings: ExperimentSettings) -> list[str]:
    return []


def _no_parser(raw: str) -> str:
    raise ValueError("this experiment takes no free-form targets")


@dataclass(frozen=True)
class Experiment:
    """One experiment as the registry holds it.

    ``name`` is what ``censorscope probe run --experiment`` takes; ``test_name`` and
    ``test_version`` are OONI's (the envelope's keys, and the report id's test part);
    ``inputs`` says whether it measures URLs or runs without input; ``factory`` builds the
    run's measurer from the settings; ``warnings`` says, before a run, what the settings
    leave out (e.g. no control configured) in sentences for the person running it.
    ``parse_input`` normalises one target of a :attr:`InputKind.TARGETS` experiment (raises
    ``ValueError`` with the reason for one it cannot measure); ``options`` documents the
    experiment's own settings (key → one-line help), given as ``--option NAME.KEY=VALUE``
    or the config file's ``"options": {"NAME": {"KEY": "VALUE"}}``. ``summary`` gives the
    probe's summary table its two columns for one of the experiment's measurements: a short
    verdict hint (``ok``, ``anomaly: sni_triggered`` …) and the first failing step (``-``
    when none); ``None`` uses Web Connectivity's reading of OONI's ``blocking`` keys.
    """

    name: str
    test_name: str
    test_version: str
    inputs: InputKind
    factory: MeasurerFactory
    description: str
    warnings: Callable[[ExperimentSettings], list[str]] = _no_warnings
    parse_input: Callable[[str], str] = _no_parser
    options: Mapping[str, str] = field(default_factory=dict)
    summary: Callable[[dict[str, Any]], tuple[str, str]] | None = None
