"""Probe configuration: who the probe is and which resolver, control, CA and timeouts it uses.

Read from a JSON file (``--config``), typically the ``probe-<isp>.json`` the lab writes
(keys ``probe_cc``, ``probe_asn``, ``probe_network_name``, ``resolver_ip``, ``control_urls``,
``collector_urls``, ``ca_file``, ``public_resolver``, ``doh_url``, ``asn_table``); command-line
flags override it. Plain keys are accepted too: ``control_url``, ``collector_url``,
``resolver`` (Do53 ``ip:port``), ``public_ranges``, ``timeouts`` (``{"dns": 4, "tcp": 10, …}``),
``timeout_scale``, ``report_id``, ``parallel``, ``options`` (each experiment's own settings:
``{"tls_sni": {"control_sni": "example.org"}}``; ``--option tls_sni.control_sni=…`` on the
command line). This module is the only one that reads the
file; the experiments get :class:`~censorscope.experiments.interface.ExperimentSettings`
(``to_settings``), the uploader the ``collector_url`` and ``ca_file`` fields.

A lab config (it has an ``isp`` key) counts the lab's address ranges as public unless it
lists ``public_ranges`` itself: in the lab, 198.18.0.0/15 and the documentation ranges play
the public internet, while in the real world they are bogons. Only a lab config's
``lab_clock`` (the lab's ``clock.json``) is honoured: the probe then stamps measurements with
the scenario's clock (``probe/labclock.py``); a plain config never gets a clock.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from censorscope.experiments.interface import (
    Experiment,
    ExperimentSettings,
    ProbeMetadata,
    Timeouts,
)
from censorscope.model.endpoint import is_ip, join_host_port, split_ip_port
from censorscope.model.ipinfo import ASNTable

__all__ = ["LAB_RANGES", "ConfigError", "ProbeConfig", "load_config_file"]

LAB_RANGES = ("198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")


class ConfigError(ValueError):
    """A configuration value that cannot be used, with the key it came from."""


def _asn(value: Any, key: str) -> int:
    if value is None or value == "":
        return 0
    try:
        return int(str(value).strip().upper().removeprefix("AS"))
    except ValueError as exc:
        raise ConfigError(f"{key}: {value!r} is not an AS number (like AS29049)") from exc


def _network(text: str, key: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise ConfigError(f"{key}: {text!r} is not a CIDR range") from exc


def _endpoint(text: str, key: str) -> str:
    """``ip:port`` (port 53 when omitted), IPv6 in brackets."""

    value = text.strip()
    if is_ip(value):
        return join_host_port(value, 53)
    try:
        ip, port = split_ip_port(value)
        if port == 0:
            raise ValueError(port)
    except ValueError as exc:
        raise ConfigError(f"{key}: {text!r} is not an ip:port resolver address") from exc
    return join_host_port(ip, port)


@dataclass
class ProbeConfig:
    """Everything ``censorscope probe run`` needs besides the inputs."""

    probe_cc: str = "ZZ"
    probe_asn: int = 0
    probe_network_name: str = ""
    resolver_ip: str = ""
    control_url: str | None = None
    collector_url: str | None = None
    ca_file: str | None = None
    control_ca_file: str | None = None
    resolver: str | None = None
    doh_url: str | None = None
    asn_table: str | None = None
    public_ranges: tuple[str, ...] = ()
    timeouts: Timeouts = field(default_factory=Timeouts)
    report_id: str | None = None
    parallel: int = 1
    allow_loopback: bool = False
    doh_always: bool = False
    options: dict[str, dict[str, str]] = field(default_factory=dict)  # experiment → key → value
    lab_clock: str | None = None  # the lab's clock.json (lab configs only)

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, source: str = "config") -> ProbeConfig:
        """Build from a JSON object (lab or plain keys); unknown keys are ignored."""

        cfg = cls()
        cfg.probe_cc = str(data.get("probe_cc") or "ZZ").upper()
        cfg.probe_asn = _asn(data.get("probe_asn"), f"{source}: probe_asn")
        cfg.probe_network_name = str(data.get("probe_network_name") or "")
        cfg.resolver_ip = str(data.get("resolver_ip") or data.get("client_resolver") or "")
        control = data.get("control_url")
        if not control and data.get("control_urls"):
            control = data["control_urls"][0]
        cfg.control_url = control or None
        collector = data.get("collector_url")
        collectors = data.get("collector_urls")
        if not collector and isinstance(collectors, list) and collectors:
            collector = collectors[0]
        cfg.collector_url = str(collector) if collector else None
        cfg.ca_file = data.get("ca_file") or None
        cfg.control_ca_file = data.get("control_ca_file") or None
        resolver = data.get("resolver") or data.get("public_resolver")
        cfg.resolver = _endpoint(resolver, f"{source}: resolver") if resolver else None
        cfg.doh_url = data.get("doh_url") or None
        cfg.asn_table = data.get("asn_table") or None
        ranges = data.get("public_ranges")
        if ranges is None and "isp" in data:
            ranges = list(LAB_RANGES)
        cfg.public_ranges = tuple(str(r) for r in ranges or ())
        for r in cfg.public_ranges:
            _network(r, f"{source}: public_ranges")
        timeouts = Timeouts()
        raw_timeouts = data.get("timeouts") or {}
        known = {f.name for f in fields(Timeouts)}
        for key, value in raw_timeouts.items():
            if key not in known:
                raise ConfigError(f"{source}: timeouts.{key}: unknown (known: {sorted(known)})")
            timeouts = replace(timeouts, **{key: float(value)})
        if data.get("timeout_scale"):
            timeouts = timeouts.scaled(float(data["timeout_scale"]))
        cfg.timeouts = timeouts
        cfg.report_id = data.get("report_id") or None
        cfg.parallel = int(data.get("parallel") or 1)
        cfg.allow_loopback = bool(data.get("allow_loopback", False))
        cfg.doh_always = bool(data.get("doh_always", False))
        cfg.options = _options(data.get("options"), f"{source}: options")
        if "isp" in data and data.get("lab_clock"):
            cfg.lab_clock = str(data["lab_clock"])
        return cfg

    def with_options(self, assignments: tuple[str, ...]) -> ProbeConfig:
        """A copy with ``NAME.KEY=VALUE`` assignments (``--option``) added over the file's."""

        merged = {name: dict(values) for name, values in self.options.items()}
        for text in assignments:
            target, sep, value = text.partition("=")
            name, dot, key = target.strip().partition(".")
            if not sep or not dot or not name or not key.strip():
                raise ConfigError(f"--option {text!r}: expected EXPERIMENT.KEY=VALUE "
                                  "(e.g. tls_sni.control_sni=example.org)")
            merged.setdefault(name, {})[key.strip()] = value
        return replace(self, options=merged)

    def override(self, **changes: Any) -> ProbeConfig:
        """A copy with the non-``None`` ``changes`` applied (command-line flags)."""

        clean = {k: v for k, v in changes.items() if v is not None}
        if "probe_asn" in clean:
            clean["probe_asn"] = _asn(clean["probe_asn"], "--probe-asn")
        if "resolver" in clean:
            clean["resolver"] = _endpoint(clean["resolver"], "--resolver")
        if "probe_cc" in clean:
            clean["probe_cc"] = str(clean["probe_cc"]).upper()
        for r in clean.get("public_ranges", ()):
            _network(r, "--public-range")
        return replace(self, **clean)

    def with_timeouts(self, scale: float | None = None, **steps: float | None) -> ProbeConfig:
        """A copy with every timeout multiplied by ``scale``, then the given ``steps``
        (``dns=2``, ``tcp=5`` …; ``None`` leaves one as it is) set (command-line flags)."""

        timeouts = self.timeouts.scaled(scale) if scale else self.timeouts
        try:
            timeouts = timeouts.with_(**{k: v for k, v in steps.items() if v is not None})
        except TypeError as exc:
            raise ConfigError(f"unknown timeout in {sorted(steps)}") from exc
        return replace(self, timeouts=timeouts)

    # --- what the experiment needs -------------------------------------------------------
    def load_asn_table(self) -> ASNTable | None:
        if not self.asn_table:
            return None
        try:
            text = Path(self.asn_table).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"asn_table: cannot read {self.asn_table}: {exc.strerror}") from exc
        try:
            return ASNTable.from_tsv(text)
        except ValueError as exc:
            raise ConfigError(f"asn_table: {self.asn_table}: {exc}") from exc

    def to_settings(
        self, asn_table: ASNTable | None = None, *, experiment: Experiment | None = None,
    ) -> ExperimentSettings:
        """What every experiment is given (``asn_table`` as loaded by ``load_asn_table``),
        with ``experiment``'s own options; :class:`ConfigError` for an option it does not
        document."""

        options: dict[str, str] = {}
        if experiment is not None:
            options = dict(self.options.get(experiment.name, {}))
            unknown = sorted(set(options) - set(experiment.options))
            if unknown:
                known = ", ".join(sorted(experiment.options)) or "none"
                raise ConfigError(f"options: {experiment.name} has no option "
                                  f"{', '.join(unknown)} (its options: {known})")
        return ExperimentSettings(
            resolver=self.resolver,
            doh_url=self.doh_url,
            control_url=self.control_url,
            ca_file=self.ca_file,
            control_ca_file=self.control_ca_file,
            client_resolver=self.resolver_ip,
            public_ranges=tuple(_network(r, "public_ranges") for r in self.public_ranges),
            asn_table=asn_table,
            timeouts=self.timeouts,
            doh_always=self.doh_always,
            allow_loopback=self.allow_loopback,
            options=options,
        )

    def probe_metadata(self, asn_table: ASNTable | None = None) -> ProbeMetadata:
        info = asn_table.lookup(self.resolver_ip) if asn_table and self.resolver_ip else None
        return ProbeMetadata(
            probe_cc=self.probe_cc,
            probe_asn=self.probe_asn,
            probe_network_name=self.probe_network_name,
            resolver_ip=self.resolver_ip,
            resolver_asn=info.asn if info else 0,
            resolver_network_name=info.as_name if info else "",
        )


def _options(value: Any, key: str) -> dict[str, dict[str, str]]:
    """The config's ``options`` object: experiment name → {key: value} (values as strings)."""

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: must be an object of experiment name → {{key: value}}")
    out: dict[str, dict[str, str]] = {}
    for name, values in value.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{key}.{name}: must be an object of option → value")
        out[str(name)] = {str(k): v if isinstance(v, str) else json.dumps(v)
                          for k, v in values.items()}
    return out


def load_config_file(path: Path) -> ProbeConfig:
    """Read a JSON config file; errors name the file."""

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"config {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a JSON object")
    return ProbeConfig.from_mapping(data, source=str(path))
