"""A stored, scored measurement as detection reads it: the :class:`VerdictPoint`.

The store streams, per measurement of a window, its identity, time, network, input, latest
verdict and whether the control answered (``store.points.PointRow``); :func:`base_point`
turns those values into a point, and :func:`with_observations` completes the points that need
the probe's observation rows (:func:`needs_observations`):

- ``service``: the ``service`` experiment's input (the service name), or the app a messaging
  test measured (``whatsapp``, ``telegram``, ``signal``, ``facebook_messenger``);
- ``endpoints``: for a ``service`` measurement, the names of the endpoints that failed (the
  scorer's own grouping, ``scorers.service.endpoint_groups``); else the domain when blocked;
- ``handshakes``: for ``tls_sni`` measurements and measurements blocked at TLS, each TLS
  handshake as ``(ip, server_name, result)`` (``ok`` or the failure);
- ``control_ok``: the store's answer from the control rows; without control rows, a ``down``
  verdict (the target failed for the control too) says False.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Final

from censorscope.model.detection import VerdictPoint
from censorscope.model.rows import ObservationRow
from censorscope.pipeline.scorers.service import endpoint_groups

if TYPE_CHECKING:
    from .targets import TargetMap

__all__ = ["MESSAGING_APPS", "base_point", "fold_keeps", "needs_observations", "service_of",
           "with_observations"]

MESSAGING_APPS: Final = frozenset({"whatsapp", "telegram", "signal", "facebook_messenger"})
_BLOCKING: Final = frozenset({"blocked", "impaired"})


def base_point(uid: str, start: datetime, cc: str, asn: int, network: str | None,
               test_name: str, input_: str | None, domain: str | None, outcome: str,
               layer: str | None, mechanism: str | None, rules_version: str,
               control_ok: bool | None, weight: int = 1) -> VerdictPoint:
    """The point of one stored measurement and its latest verdict (arguments in the order
    of the store's ``PointRow``), before its observation rows are read."""
    service = service_of(test_name, input_)
    if test_name == "service":  # its stored domain is its input, a service name: no domain
        domain = None
    blocking = outcome in _BLOCKING
    return VerdictPoint(
        measurement_uid=uid, measurement_start_time=start, probe_cc=cc, probe_asn=asn,
        probe_network_name=network or "", test_name=test_name, input=input_, domain=domain,
        outcome=outcome, layer=layer, mechanism=mechanism, rules_version=rules_version,
        service=service,
        endpoints=(domain,) if blocking and domain else (),
        control_ok=False if control_ok is None and outcome == "down" else control_ok,
        weight=weight)


def service_of(test_name: str, input_: str | None) -> str | None:
    """The service a measurement measured: the ``service`` test's input, a messaging app."""
    if test_name == "service" and input_:
        return input_.strip().lower()
    return test_name if test_name in MESSAGING_APPS else None


def fold_keeps(blocked: Iterable[tuple[str, str | None, str | None]], targets: TargetMap
               ) -> tuple[frozenset[str], frozenset[str]]:
    """(domains, tests) whose clean measurements a folding read must keep one by one, given
    the (test_name, input, domain) of the window's blocked measurements: the blocked domains,
    every domain of a service with a blocked domain or a blocked service measurement, and
    the tests whose points carry more than a verdict (``service``, ``tls_sni``, messaging)."""
    services: set[str] = set()
    domains: set[str] = set()
    for test_name, input_, domain in blocked:
        name = service_of(test_name, input_)
        if name:
            services.add(name)
        if domain:
            domains.add(domain)
            services.update(targets.services_of(domain))
    for name in services:
        domains.update(targets.domains_of(name))
    return frozenset(domains), frozenset({"service", "tls_sni", *MESSAGING_APPS})


def needs_observations(point: VerdictPoint) -> bool:
    """Whether :func:`with_observations` has anything to add to ``point``."""
    return point.test_name in ("service", "tls_sni") or (
        point.layer == "tls" and point.outcome in _BLOCKING)


def _handshakes(rows: Sequence[ObservationRow]) -> tuple[tuple[str, str, str], ...]:
    seen: dict[tuple[str, str, str], None] = {}
    for r in rows:
        if r.tls_server_name is None or (r.tls_success is None and r.tls_failure is None):
            continue
        result = "ok" if r.tls_success else (r.tls_failure or "failed")
        seen[(r.ip or "", r.tls_server_name, result)] = None
    return tuple(seen)


def with_observations(point: VerdictPoint, probe_rows: Sequence[ObservationRow]
                      ) -> VerdictPoint:
    """``point`` with the endpoints and handshakes its probe observation rows show."""
    endpoints = point.endpoints
    if point.test_name == "service":
        endpoints = tuple(sorted({g.name for g in endpoint_groups(probe_rows)
                                  if not g.reached}))
    handshakes = point.handshakes
    if point.test_name == "tls_sni" or (point.layer == "tls" and point.outcome in _BLOCKING):
        handshakes = _handshakes(probe_rows)
    if endpoints == point.endpoints and handshakes == point.handshakes:
        return point
    return replace(point, endpoints=endpoints, handshakes=handshakes)
