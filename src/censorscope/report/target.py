"""What a report is about: the ``--target`` a person names, and which stored measurements are
measurements of it.

``--target tiktok`` names a service (detection's target ``service:tiktok``), ``--target
www.example.org`` (anything with a dot) a domain (``domain:www.example.org``). An incident is
the target's when its target is the service, a merged ``services:a+b`` holding it, the domain,
or a service whose affected networks list the domain among their endpoints.

:class:`TargetScope` decides which measurements a report reads in detail (observation rows,
charts): the ``service`` measurements of the scope's services, and the measurements of any
test whose domain is one of its domains (the domains of the services' bundled endpoint sets,
the endpoints the incidents name, the domain targets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from censorscope.model.detection import domain_target, service_target
from censorscope.pipeline.detect.points import service_of
from censorscope.pipeline.detect.targets import bundled_targets, normalise_domain

__all__ = ["ReportTarget", "TargetScope", "incident_services", "scope_of"]


@dataclass(frozen=True)
class ReportTarget:
    """A target named on the command line."""

    kind: Literal["service", "domain"]
    name: str

    @classmethod
    def parse(cls, text: str) -> ReportTarget:
        """``tiktok`` → a service, ``www.tiktok.com`` → a domain; ``service:x`` and
        ``domain:x`` are accepted as detection spells them. ValueError when empty."""
        value = text.strip().lower()
        for prefix, kind in (("service:", "service"), ("domain:", "domain")):
            if value.startswith(prefix):
                value = value[len(prefix):].strip()
                if not value:
                    break
                return cls(kind, normalise_domain(value) if kind == "domain" else value)  # type: ignore[arg-type]
        if not value or any(ch.isspace() for ch in value):
            raise ValueError(f"{text!r} is not a service name or a domain")
        if "." in value:
            return cls("domain", normalise_domain(value))
        return cls("service", value)

    @property
    def spec(self) -> str:
        """Detection's spelling: ``service:tiktok`` / ``domain:www.example.org``."""
        return service_target(self.name) if self.kind == "service" else domain_target(self.name)

    def matches(self, incident: Mapping[str, Any]) -> bool:
        """Whether a stored incident (its JSON) is about this target."""
        target = str(incident.get("target", ""))
        if self.kind == "service":
            return self.name in incident_services(target)
        if target == self.spec:
            return True
        return incident_services(target) != () and any(
            self.name in (str(e).lower() for e in n.get("endpoints", ()))
            for n in incident.get("networks", ()))


def incident_services(target: str) -> tuple[str, ...]:
    """The services an incident target names (``service:x`` → (x,), ``services:a+b`` →
    (a, b), a domain → ())."""
    if target.startswith("service:"):
        return (target[len("service:"):],)
    if target.startswith("services:"):
        return tuple(s for s in target[len("services:"):].split("+") if s)
    return ()


@dataclass(frozen=True)
class TargetScope:
    """The services and domains whose measurements a report reads (``everything``: all)."""

    services: frozenset[str]
    domains: frozenset[str]
    everything: bool = False

    def covers(self, test_name: str, input_: str | None, domain: str | None) -> bool:
        """Whether a stored measurement (its test, input and domain) is one of the scope's."""
        if self.everything:
            return True
        service = service_of(test_name, input_)
        if service is not None and service in self.services:
            return True
        if test_name == "service":  # its stored domain is its input, a service name
            return False
        return domain is not None and normalise_domain(domain) in self.domains


def scope_of(target: ReportTarget | None, incidents: Iterable[Mapping[str, Any]]
             ) -> TargetScope:
    """The scope of a report on ``target`` (None: the incidents' targets) given its
    incidents; with neither a target nor an incident (outages only), every measurement."""
    services: set[str] = set()
    domains: set[str] = set()
    listed = list(incidents)
    if target is not None:
        (services if target.kind == "service" else domains).add(target.name)
    for inc in listed:
        target_name = str(inc.get("target", ""))
        named = incident_services(target_name)
        services.update(named)
        if target_name.startswith("domain:"):
            domains.add(target_name[len("domain:"):])
        for n in inc.get("networks", ()):
            domains.update(normalise_domain(str(e)) for e in n.get("endpoints", ()))
    targets = bundled_targets()
    for name in services:
        domains.update(targets.domains_of(name))
    if target is None and not listed:
        return TargetScope(frozenset(), frozenset(), everything=True)
    return TargetScope(frozenset(services), frozenset(domains))
