"""The lab runtime: bring a scenario up, switch its phases, run commands in it, tear it down.

::

    lab = Lab("t1a2b")
    state = lab.up("smoke")                  # namespaces, links, services, censors
    lab.exec("acme-p1", ["curl", "-s", "http://www.example.org/"])
    lab.phase("blocked")
    lab.down()                               # always removes everything

Order of ``up``: validate everything in memory (scenario, phase, prefix, service configs) → build
the topology (one root ``ip -batch`` + one batch per namespace, in parallel) → write config files,
/etc/netns files, ASN table, probe files, CA → start the services in parallel and wait for their
``READY`` → install the censors of the phase → start the schedule supervisor. Any failure rolls
back with :meth:`Lab.down`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from censorscope.lab import addressing, netns, processes, topology, wiring
from censorscope.lab import state as state_mod
from censorscope.lab.errors import LabError, NeedsRoot
from censorscope.lab.processes import Tracked
from censorscope.lab.schema import Scenario
from censorscope.lab.state import LabState
from censorscope.model.labclock import DEFAULT_RATE, LabClock

DEFAULT_PREFIX = "cs"
RELOAD_TIMEOUT_S = 3.0
ROUTER_KINDS_SKIPPED = frozenset(
    {"dns_nxdomain", "dns_refused", "dns_answer", "dns_remove", "dns_add"}
)

__all__ = ["DEFAULT_PREFIX", "Lab", "LabState", "default_prefix", "require_root"]


def default_prefix() -> str:
    return os.environ.get("CENSORSCOPE_LAB_PREFIX", DEFAULT_PREFIX)


def require_root() -> None:
    """Raise :class:`NeedsRoot` unless we hold CAP_NET_ADMIN and CAP_SYS_ADMIN."""
    if os.geteuid() == 0:
        return
    try:
        status = Path("/proc/self/status").read_text()
        cap = int(next(x for x in status.splitlines() if x.startswith("CapEff:")).split()[1], 16)
    except (OSError, StopIteration, ValueError):
        cap = 0
    if not (cap >> 12 & 1 and cap >> 21 & 1):
        raise NeedsRoot()


# The lab's own ranges: documentation/benchmarking space, which the control refuses by default.
LAB_RANGES = ("198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
# Control step timeout in the lab: short, so that tests through blocked paths stay fast.
CONTROL_TIMEOUT_S = 4.0


def _service_argv(module: str, config: Path) -> list[str]:
    return [sys.executable, "-m", module, "--config", str(config)]


class Lab:
    """One lab, identified by its ``prefix`` (namespaces are ``<prefix>-<host>``)."""

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = netns.check_prefix(prefix or default_prefix())
        self.state_dir = state_mod.state_dir(self.prefix)

    # ------------------------------------------------------------------ locking
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        state_mod.RUN_DIR.mkdir(parents=True, exist_ok=True)
        with open(state_mod.RUN_DIR / f"{self.prefix}.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ queries
    def status(self) -> LabState | None:
        """The running lab's state, or None when it is not up."""
        return state_mod.load(self.prefix)

    def _state(self) -> LabState:
        st = self.status()
        if st is None:
            raise LabError(f"lab {self.prefix!r} is not up (run `censorscope lab up SCENARIO`)")
        return st

    def healthy(self, st: LabState) -> bool:
        """All namespaces exist and every tracked process is alive."""
        return all(netns.exists(ns) for ns in set(st.namespaces.values())) and all(
            processes.alive(p) for p in st.all_pids()
        )

    # ------------------------------------------------------------------ exec
    def exec(self, host: str, argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``argv`` in ``host``'s namespace (``subprocess.run`` keywords pass through)."""
        ns = self._state().netns(host)
        return subprocess.run(netns.exec_argv(ns, argv), **kw)

    def popen(self, host: str, argv: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` in ``host``'s namespace (``subprocess.Popen`` keywords pass through)."""
        ns = self._state().netns(host)
        return subprocess.Popen(netns.exec_argv(ns, argv), **kw)

    # ------------------------------------------------------------------ up
    def up(self, scenario: Scenario | str, phase: str | None = None) -> LabState:
        """Bring ``scenario`` up (idempotent); return its state."""
        from censorscope.lab import scenarios

        require_root()
        sc = scenario if isinstance(scenario, Scenario) else scenarios.load(scenario)
        ph = phase or sc.first_phase
        if ph not in sc.phases:
            raise LabError(
                f"scenario {sc.name!r} has no phase {ph!r} (phases: {', '.join(sc.phases)})"
            )
        a = addressing.plan(sc)
        configs = self._configs(sc, a, ph)  # validates every service config before any change
        with self._locked():
            st = state_mod.load(self.prefix)
            if st is not None:
                if st.scenario != sc.name:
                    raise LabError(
                        f"lab {self.prefix!r} is already up with scenario {st.scenario!r}; "
                        f"run `censorscope lab down --prefix {self.prefix}` first, or use "
                        "another --prefix"
                    )
                same = st.scenario_data == sc.model_dump(mode="json")
                if same and self.healthy(st):
                    if ph != st.phase:
                        self._switch(st, sc, a, ph)
                    return st
            if st is not None or self._leftovers():
                self._teardown()
            try:
                return self._build(sc, a, ph, configs)
            except BaseException:
                self._teardown()
                raise

    def _leftovers(self) -> bool:
        return bool(
            netns.list_namespaces(self.prefix) or netns.etc_dirs(self.prefix)
            or self.state_dir.exists()
        )

    def _configs(self, sc: Scenario, a: addressing.Addressing, phase: str) -> dict[str, Any]:
        from censorscope.lab.services.config import DNSServerConfig, WebServerConfig

        ca_dir = str(self.state_dir / "ca")
        out: dict[str, Any] = {
            "dns-internet": DNSServerConfig.model_validate(
                wiring.internet_dns_config(sc, phase, ca_dir)
            )
        }
        for isp in a.isps:
            out[f"dns-{isp}"] = DNSServerConfig.model_validate(
                wiring.isp_dns_config(sc, phase, isp, a)
            )
        web = wiring.web_config(sc, a, ca_dir)
        if web is not None:
            out["web"] = WebServerConfig.model_validate(web)
        return out

    def _build(
        self, sc: Scenario, a: addressing.Addressing, phase: str, configs: dict[str, Any]
    ) -> LabState:
        from censorscope.lab.services.ca import ensure_ca

        ns = {h: netns.ns_name(self.prefix, h) for h in a.hosts}
        namespaces = dict(ns)
        for host, where in a.placement.items():
            namespaces[host] = ns[where]
        host_ips: dict[str, list[str]] = {h: [ip] for h, ip in a.main_ip.items()}
        for h in sc.hosts:
            host_ips[h.name] = list(h.ips)
        for where in ("srv", "ctl", "col"):
            host_ips[where] = [*a.service_ips[where], a.main_ip[where]]
        st = LabState(
            prefix=self.prefix,
            scenario=sc.name,
            phase=phase,
            state_dir=self.state_dir,
            scenario_data=sc.model_dump(mode="json"),
            namespaces=namespaces,
            host_ips=host_ips,
            isps={
                name: {
                    "number": net.number,
                    "prefix": net.prefix,
                    "router": f"{name}-r",
                    "resolver": f"{name}-dns",
                    "resolver_ip": net.resolver_ip,
                    "probe_hosts": net.probe_hosts(),
                    "probe_ips": net.probe_ips,
                }
                for name, net in a.isps.items()
            },
            interfaces=[
                {"a": ns[lk.a], "a_if": lk.a_if, "a_ip": lk.a_ip,
                 "b": ns[lk.b], "b_if": lk.b_if, "b_ip": lk.b_ip}
                for lk in a.links
            ],
            public_resolver=wiring.public_resolver(sc),
            created_at=time.time(),
        )
        for d in (self.state_dir, st.config_dir, st.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        st.save()  # early: a crash from here on is still cleaned up by name prefix

        topology.build(self.prefix, a)
        public = wiring.public_resolver(sc)
        for host in a.hosts:
            isp = next((n for n, net in a.isps.items() if host in net.probe_hosts()), None)
            resolver = a.isps[isp].resolver_ip if isp else public
            netns.write_etc(ns[host], resolver, host)

        ensure_ca(self.state_dir / "ca")
        st.asn_table.write_text(wiring.asn_table(sc, a))
        for isp in a.isps:
            cfg = wiring.probe_config(
                sc, a, isp, ca_file=str(st.ca_file), asn_file=str(st.asn_table)
            )
            if sc.has_clock:  # probes in the lab stamp measurements with scenario time
                cfg["lab_clock"] = str(st.clock_file)
            (self.state_dir / f"probe-{isp}.json").write_text(json.dumps(cfg, indent=1))

        pending = []
        for name, model in configs.items():
            path = st.config_dir / f"{name}.json"
            path.write_text(model.model_dump_json(indent=1))
            if name == "web":
                host, module = "srv", "censorscope.lab.services.web"
            elif name == "dns-internet":
                host, module = "srv", "censorscope.lab.services.dns"
            else:
                host, module = f"{name.removeprefix('dns-')}-dns", "censorscope.lab.services.dns"
            pending.append(processes.spawn(
                name, ns[host], _service_argv(module, path), st.log_dir / f"{name}.log"
            ))
        control = self._control_argv(sc, st)
        if control is not None:
            pending.append(
                processes.spawn("control", ns["ctl"], control, st.log_dir / "control.log")
            )
        st.pids = [p.proc for p in pending]
        st.save()
        processes.wait_ready(pending)

        self._switch(st, sc, a, phase, first=True)
        if sc.schedule:
            sup = processes.spawn(
                "schedule", ns["core"],
                [sys.executable, "-m", "censorscope.lab.schedule", "--prefix", self.prefix],
                st.log_dir / "schedule.log",
            )
            st.pids.append(sup.proc)
            st.save()
            processes.wait_ready([sup])
        return st

    def _control_argv(self, sc: Scenario, st: LabState) -> list[str] | None:
        """The test helper on the control vantage host: HTTPS on :443 for every control name,
        resolving through the lab's public resolver, trusting the lab CA, allowed to dial the
        lab's own ranges (which are special-purpose space it refuses by default)."""
        from censorscope.lab.services.ca import issue

        names = [n for h in sc.hosts if h.role == "control" for n in h.names]
        if not names:
            return None
        cert, key = issue(self.state_dir / "ca", names, "valid")
        argv = [
            sys.executable, "-m", "censorscope.cli.main", "control", "serve",
            "--listen", "0.0.0.0:443", "--tls-cert", str(cert), "--tls-key", str(key),
            "--resolver", f"udp://{wiring.public_resolver(sc)}:{wiring.PUBLIC_DNS_PORT}",
            "--ca-file", str(st.ca_file), "--asn-table", str(st.asn_table),
            "--timeout", str(CONTROL_TIMEOUT_S), "--print-ready",
            # OONI's answers for "localhost everywhere" (QA localhostWithHTTP/S): the lab is
            # closed, so reporting the refused answer leaks nothing
            "--report-refused-answers",
        ]
        for net in LAB_RANGES:
            argv += ["--allow-range", net]
        return argv

    # ------------------------------------------------------------------ phases
    def phase(self, name: str) -> None:
        """Switch the running lab to phase ``name`` (routers, resolvers, internet DNS)."""
        require_root()
        with self._locked():
            st = self._state()
            sc = st.scenario_model()
            if name not in sc.phases:
                raise LabError(
                    f"scenario {sc.name!r} has no phase {name!r} (phases: {', '.join(sc.phases)})"
                )
            self._switch(st, sc, addressing.plan(sc), name)

    def _switch(
        self, st: LabState, sc: Scenario, a: addressing.Addressing, phase: str,
        first: bool = False,
    ) -> None:
        old = None if first else st.phase

        def pols(ph: str | None, isp: str) -> list[Any]:
            return [] if ph is None else wiring.policies_for(sc, ph, isp)

        def switch_isp(isp: str) -> list[Tracked] | None:
            new_p, old_p = pols(phase, isp), pols(old, isp)
            new_r = [p for p in new_p if p.kind not in ROUTER_KINDS_SKIPPED]
            old_r = [p for p in old_p if p.kind not in ROUTER_KINDS_SKIPPED]
            new_d = [p for p in new_p if p.kind in ROUTER_KINDS_SKIPPED]
            old_d = [p for p in old_p if p.kind in ROUTER_KINDS_SKIPPED]
            if not first and new_d != old_d:  # at first the config was written for this phase
                self._reload(st, f"dns-{isp}", wiring.isp_dns_config(sc, phase, isp, a))
            if new_r == old_r:
                return None
            return self._apply_router(st, isp, new_r)

        with ThreadPoolExecutor(max_workers=max(1, min(8, len(a.isps)))) as pool:
            results = dict(zip(a.isps, pool.map(switch_isp, a.isps), strict=True))
        for isp, pids in results.items():
            if pids is not None:
                st.censor_pids[isp] = pids
        if old is None or wiring.internet_policies(sc, phase) != wiring.internet_policies(sc, old):
            if not first:
                self._reload(
                    st, "dns-internet",
                    wiring.internet_dns_config(sc, phase, str(self.state_dir / "ca")),
                )
        st.phase = phase
        if sc.has_clock:
            start, until = sc.phase_dates(phase)
            clock = LabClock.from_json(st.clock) if st.clock else LabClock(
                sc.name, sc.clock_rate or DEFAULT_RATE)
            st.clock = clock.switched(phase, time.time(), start, until).to_json()
            st.save_clock()
        st.save()

    def _apply_router(self, st: LabState, isp: str, policies: list[Any]) -> list[Tracked]:
        from censorscope.lab.censor import apply_router_plan, clear_router, plan_router

        ns = st.netns(f"{isp}-r")
        old = [p for p in st.censor_pids.get(isp, []) if processes.alive(p)]
        if st.censor_pids.get(isp) is not None:
            clear_router(ns, [p.pid for p in old])
        if not policies:
            return []
        plan = plan_router(
            policies,
            lan_ifaces=[addressing.ROUTER_LAN, addressing.ROUTER_DNS],
            wan_iface=addressing.ROUTER_UPLINK,
            state_dir=st.state_dir / "censor",
        )
        pids = apply_router_plan(ns, plan)
        return [Tracked(f"injector-{isp}", pid, processes.start_time(pid) or 0, ns) for pid in pids]

    def _reload(self, st: LabState, name: str, config: dict[str, Any]) -> None:
        """Rewrite a service's config, SIGHUP it, wait for its "reloaded" log line."""
        from censorscope.lab.services.config import DNSServerConfig

        proc = next((p for p in st.pids if p.name == name), None)
        if proc is None:
            raise LabError(f"no running service {name!r} in lab {self.prefix!r}")
        path = st.config_dir / f"{name}.json"
        path.write_text(DNSServerConfig.model_validate(config).model_dump_json(indent=1))
        log = Path(proc.log)
        offset = log.stat().st_size if log.exists() else 0
        processes.signal_proc(proc, signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            with open(log, "rb") as fh:
                fh.seek(offset)
                tail = fh.read()
            if b"reload failed" in tail:
                raise LabError(f"{name} rejected its new config: {tail.decode(errors='replace')}")
            if b"reloaded" in tail:
                return
            time.sleep(0.01)
        raise LabError(f"{name} did not confirm its reload within {RELOAD_TIMEOUT_S} s")

    # ------------------------------------------------------------------ down
    def down(self) -> None:
        """Remove everything of this lab: processes, namespaces, /etc/netns files, state."""
        require_root()
        with self._locked():
            self._teardown()
        with contextlib.suppress(OSError):
            (state_mod.RUN_DIR / f"{self.prefix}.lock").unlink()

    def _teardown(self) -> None:
        st = state_mod.load(self.prefix)
        names = set(netns.list_namespaces(self.prefix))
        if st is not None:
            names |= {n for n in st.namespaces.values() if netns.exists(n)}
            self._stop_censors(st)
            processes.stop(st.pids)
        processes.kill_namespace_processes(sorted(names))
        if st is not None:  # tracked processes outside the lab's namespaces, if any survived
            processes.stop(st.all_pids(), timeout=0.5)
        netns.delete(sorted(names))
        netns.remove_etc(self.prefix)
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def _stop_censors(self, st: LabState) -> None:
        from censorscope.lab.censor import clear_router

        for isp, pids in st.censor_pids.items():
            live = [p.pid for p in pids if processes.alive(p)]
            ns = st.namespaces.get(f"{isp}-r", "")
            if live and netns.exists(ns):
                with contextlib.suppress(Exception):
                    clear_router(ns, live)
