"""The state of a running lab, kept in ``/run/censorscope/lab/<prefix>/state.json``.

:class:`LabState` is what tests and other code use to find their way in a running lab: the
namespace of a host, its IP, the probe configuration of an ISP, the CA file, the ASN table.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from censorscope.lab.errors import LabError
from censorscope.lab.processes import Tracked
from censorscope.lab.schema import Scenario

RUN_DIR = Path(os.environ.get("CENSORSCOPE_LAB_RUN_DIR", "/run/censorscope/lab"))


def state_dir(prefix: str) -> Path:
    return RUN_DIR / prefix


@dataclass
class LabState:
    """A running lab. ``hosts`` maps every lab host (and scenario host) to its namespace."""

    prefix: str
    scenario: str
    phase: str
    state_dir: Path
    scenario_data: dict[str, Any]
    namespaces: dict[str, str]
    host_ips: dict[str, list[str]]
    isps: dict[str, dict[str, Any]]
    interfaces: list[dict[str, str]] = field(default_factory=list)
    pids: list[Tracked] = field(default_factory=list)
    censor_pids: dict[str, list[Tracked]] = field(default_factory=dict)
    public_resolver: str = ""
    created_at: float = 0.0
    clock: dict[str, Any] | None = None  # the lab clock (model.labclock.LabClock.to_json)

    # ------------------------------------------------------------------ paths
    @property
    def ca_file(self) -> Path:
        return self.state_dir / "ca" / "ca.pem"

    @property
    def asn_table(self) -> Path:
        return self.state_dir / "asn.tsv"

    @property
    def clock_file(self) -> Path:
        """The lab clock, kept current for probes (``lab_clock`` in ``probe-<isp>.json``)."""
        return self.state_dir / "clock.json"

    @property
    def config_dir(self) -> Path:
        return self.state_dir / "config"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    # ------------------------------------------------------------------ lookups
    def scenario_model(self) -> Scenario:
        return Scenario.model_validate(self.scenario_data)

    def probe_hosts(self, isp: str) -> list[str]:
        return list(self._isp(isp)["probe_hosts"])

    def probe_config(self, isp: str) -> dict[str, Any]:
        """What a probe in ``isp`` needs (also in ``probe-<isp>.json``)."""
        data: dict[str, Any] = json.loads((self.state_dir / f"probe-{isp}.json").read_text())
        self._isp(isp)
        return data

    def netns(self, host: str) -> str:
        try:
            return self.namespaces[host]
        except KeyError:
            raise LabError(
                f"no host {host!r} in lab {self.prefix!r} "
                f"(hosts: {', '.join(sorted(self.namespaces))})"
            ) from None

    def ip_of(self, host: str) -> str:
        self.netns(host)
        return self.host_ips[host][0]

    def all_pids(self) -> list[Tracked]:
        return [*self.pids, *(p for ps in self.censor_pids.values() for p in ps)]

    def _isp(self, isp: str) -> dict[str, Any]:
        try:
            return self.isps[isp]
        except KeyError:
            raise LabError(f"no ISP {isp!r} in scenario {self.scenario!r}") from None

    # ------------------------------------------------------------------ persistence
    def to_json(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "scenario": self.scenario,
            "phase": self.phase,
            "state_dir": str(self.state_dir),
            "created_at": self.created_at,
            "namespaces": self.namespaces,
            "interfaces": self.interfaces,
            "host_ips": self.host_ips,
            "isps": self.isps,
            "public_resolver": self.public_resolver,
            "ca_file": str(self.ca_file),
            "asn_table": str(self.asn_table),
            "pids": [p.to_json() for p in self.pids],
            "censor_pids": {k: [p.to_json() for p in v] for k, v in self.censor_pids.items()},
            "scenario_data": self.scenario_data,
            "clock": self.clock,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LabState:
        return cls(
            prefix=d["prefix"],
            scenario=d["scenario"],
            phase=d["phase"],
            state_dir=Path(d["state_dir"]),
            scenario_data=d["scenario_data"],
            namespaces=d["namespaces"],
            host_ips=d["host_ips"],
            isps=d["isps"],
            interfaces=d.get("interfaces", []),
            pids=[Tracked.from_json(p) for p in d.get("pids", [])],
            censor_pids={
                k: [Tracked.from_json(p) for p in v] for k, v in d.get("censor_pids", {}).items()
            },
            public_resolver=d.get("public_resolver", ""),
            created_at=d.get("created_at", 0.0),
            clock=d.get("clock"),
        )

    def save(self) -> None:
        path = self.state_dir / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1))
        os.replace(tmp, path)

    def save_clock(self) -> None:
        """Write ``clock.json`` atomically (probes read it while the lab switches phases)."""
        if self.clock is None:
            return
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.clock, indent=1))
        os.replace(tmp, self.clock_file)


def load(prefix: str) -> LabState | None:
    """The saved state of lab ``prefix``; None if missing or unreadable (a crashed lab)."""
    path = state_dir(prefix) / "state.json"
    try:
        return LabState.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
