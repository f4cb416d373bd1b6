"""What the analysis knows beyond one measurement: the :class:`AnalysisContext`.

- ``asn_table``: IP → AS (for answers without an ``asn``, e.g. the control's);
- ``public_ranges``: networks to treat as public although they are bogons (the lab's ranges);
- TLS facts learnt from every measurement and control seen (:meth:`learn`): which server names
  completed a handshake with a valid certificate at which IP (a DNS answer with such a
  handshake for its name is consistent, whoever resolved it), and which completed from which
  network (the same IP working with another server name makes a TLS failure SNI-triggered);
- ``fingerprints``: DNS/HTTP fingerprint matching (``censorscope.pipeline.fingerprints`` when
  it is installed, see :mod:`.fingerprints`).

Feed a batch with :meth:`learn` first and score it afterwards to use facts across it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from censorscope.model.ipinfo import ASNTable, is_bogon
from censorscope.model.rows import MeasurementRow, ObservationRow

from .fingerprints import FingerprintSource, default_fingerprints

__all__ = ["AnalysisContext", "Network"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _net(value: str | Network) -> Network:
    return value if not isinstance(value, str) else ipaddress.ip_network(value, strict=False)


@dataclass
class AnalysisContext:
    """Shared knowledge for scoring a set of measurements (see the module docstring)."""

    asn_table: ASNTable | None = None
    public_ranges: tuple[Network, ...] = ()
    fingerprints: FingerprintSource | None = field(default_factory=default_fingerprints)
    # ip → server names that completed a handshake with a valid certificate (any vantage)
    tls_valid: dict[str, set[str]] = field(default_factory=dict)
    # (probe_asn, ip) → server names that completed a handshake from that network
    tls_from_network: dict[tuple[int, str], set[str]] = field(default_factory=dict)
    _bogons: dict[str, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def create(cls, *, asn_table: ASNTable | None = None,
               public_ranges: Sequence[str | Network] = (),
               fingerprints: FingerprintSource | None = None) -> AnalysisContext:
        """A context; ``fingerprints`` None loads the default fingerprint source."""
        ctx = cls(asn_table=asn_table, public_ranges=tuple(_net(r) for r in public_ranges))
        if fingerprints is not None:
            ctx.fingerprints = fingerprints
        return ctx

    # --- facts about addresses ---------------------------------------------------------------
    def is_bogon(self, ip: str) -> bool:
        known = self._bogons.get(ip)
        if known is None:
            known = self._bogons[ip] = is_bogon(ip, allowed=self.public_ranges)
        return known

    def asn(self, ip: str, hint: int | None = None) -> int:
        """AS of ``ip``: ``hint`` (the probe's own annotation) when given, else the table."""
        if hint:
            return hint
        return self.asn_table.asn(ip) if self.asn_table is not None else 0

    @property
    def fingerprints_version(self) -> str | None:
        return self.fingerprints.version if self.fingerprints is not None else None

    # --- learning across measurements ----------------------------------------------------
    def learn(self, meta: MeasurementRow, observations: Iterable[ObservationRow]) -> None:
        """Remember the TLS facts of one measurement.

        A probe handshake that completed with certificate verification makes its IP valid for
        the server name; a control handshake does so only at addresses the control resolved
        itself (at an address the probe supplied, it could be a transparent proxy answering
        for a DNS lie, which must stay a DNS lie).
        """
        rows = observations if isinstance(observations, list | tuple) else list(observations)
        ctrl_resolved: set[str | None] | None = None
        tls_valid, from_network = self.tls_valid, self.tls_from_network
        for obs in rows:
            if not obs.tls_success or not obs.ip or not obs.tls_server_name:
                continue
            name = obs.tls_server_name.lower()
            if obs.origin == "probe":
                if obs.tls_no_verify is not True:
                    tls_valid.setdefault(obs.ip, set()).add(name)
                from_network.setdefault((meta.probe_asn, obs.ip), set()).add(name)
                continue
            if ctrl_resolved is None:  # only measurements with a control handshake need it
                ctrl_resolved = {o.ip for o in rows
                                 if o.origin == "control" and o.dns_answer and o.port is None}
            if obs.ip in ctrl_resolved:
                tls_valid.setdefault(obs.ip, set()).add(name)

    def merge(self, other: AnalysisContext) -> None:
        """Add the facts ``other`` learnt (another worker's share of the same input) to these.

        Learning is order-free (sets of facts), so learning A then B, B then A, or A and B in
        two contexts merged afterwards gives the same context.
        """
        for ip, names in other.tls_valid.items():
            self.tls_valid.setdefault(ip, set()).update(names)
        for key, names in other.tls_from_network.items():
            self.tls_from_network.setdefault(key, set()).update(names)

    def facts_only(self) -> AnalysisContext:
        """A copy holding only the learnt facts (no fingerprints, caches or tables): what a
        worker process sends back to be merged."""
        return AnalysisContext(fingerprints=None, tls_valid=self.tls_valid,
                               tls_from_network=self.tls_from_network)

    def valid_tls_for(self, ip: str, name: str) -> bool:
        """True if ``ip`` completed a handshake with a valid certificate for ``name``."""
        return name.lower() in self.tls_valid.get(ip, ())

    def other_names_ok(self, probe_asn: int, ip: str, name: str) -> list[str]:
        """Server names other than ``name`` that completed a handshake at ``ip`` from
        ``probe_asn`` (sorted)."""
        names = self.tls_from_network.get((probe_asn, ip), set())
        return sorted(n for n in names if n != name.lower())
