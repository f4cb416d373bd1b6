"""The sentences of a report that sum it up: the summary bullets and the limitations.

Each sentence is built from :class:`~.facts.ReportFacts` only and cites the measurements it
rests on; a sentence is left out when the data does not support it (no SNI proof sentence
for a network without one, no "still blocked" when a network shows an offset).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from censorscope.pipeline.detect.incident_text import display_name, technique_label

from .digest import BLOCKING_OUTCOMES
from .document import Mono, Text, cite, text
from .facts import AffectedNetwork, IncidentFacts, OutageFacts, ReportFacts
from .words import as_label, count_noun, duration, when, when_or

__all__ = ["FEW_MEASUREMENTS", "cost_line", "limitations", "network_name", "scope_name",
           "sni_sentence", "summary_bullets"]

# a network with fewer measurements of the report's scope than this is named as thin data
FEW_MEASUREMENTS: Final = 5


def network_name(asn: int | None, as_name: str = "") -> str:
    """``AS29049 (Delta Telecom Ltd)``."""
    if asn is None:
        return "the whole country"
    return f"AS{asn} ({as_name})" if as_name else f"AS{asn}"


def _join(parts: Sequence[Text], sep: str = "; ") -> Text:
    out: list[Text] = []
    for i, p in enumerate(parts):
        if i:
            out.append((sep,))
        out.append(p)
    return text(*out)


def _onsets(inc: IncidentFacts) -> Text:
    parts = [text(f"{network_name(n.asn, n.as_name)} from {when(n.onset)} ",
                  cite(n.first_blocked_uid)) for n in inc.networks]
    return _join(parts, ", ")


def _status(inc: IncidentFacts, facts: ReportFacts) -> Text:
    open_ = [n for n in inc.networks if n.offset is None]
    ended = [n for n in inc.networks if n.offset is not None]
    if not ended:
        return text("No affected network's measurements show the blocking lifted up to the "
                    f"last measurement of the window ({when(facts.last)} UTC).")
    parts = [f"{as_label(n.asn)} at {when(n.offset)}" for n in ended]
    tail = (f"; still blocked at the end of the window on "
            f"{', '.join(as_label(n.asn) for n in open_)}") if open_ else ""
    return text(f"Blocking lifted on {', '.join(parts)}{tail}.")


def _techniques(inc: IncidentFacts) -> Text:
    groups: dict[tuple[str, ...], list[AffectedNetwork]] = {}
    for n in inc.networks:
        groups.setdefault(n.techniques, []).append(n)
    parts = []
    for techniques, networks in groups.items():
        names = ", ".join(as_label(n.asn) for n in networks)
        labels = {technique_label(t) for t in techniques}
        words = sorted(lb for lb in labels if not any(o.startswith(f"{lb}, ") for o in labels))
        said = f" ({'; '.join(words)})" if words else ""
        parts.append(text(f"{names}: ", *_monos(techniques or ("not named",)), said))
    return text("Technique per network (the verdicts' mechanisms; see Methods): ",
                _join(parts), ".")


def _monos(values: Sequence[str]) -> Text:
    out: list[Text] = []
    for i, v in enumerate(values):
        out.append(text(", " if i else "", Mono(v)))
    return text(*out)


def sni_sentence(n: AffectedNetwork) -> Text | None:
    """The SNI proof of a network in one sentence, or None without one."""
    p = n.proof.sni
    if p is None:
        return None
    writes = (f" after {count_noun(p.failed_writes, 'write')} (the ClientHello)"
              if p.failed_writes else "")
    if p.same_measurement:
        return text(f"on {as_label(n.asn)}, at ", Mono(p.ip), " a handshake with ",
                    Mono(p.failed_name), " failed (", Mono(p.failure), f"){writes} while one "
                    "with ", Mono(p.completed_name), " completed, in the same measurement ",
                    cite(p.failed_uid))
    return text(f"on {as_label(n.asn)}, at ", Mono(p.ip), " a handshake with ",
                Mono(p.failed_name), " failed (", Mono(p.failure), f"){writes} at "
                f"{when(p.failed_at)} ", cite(p.failed_uid), " while one with ",
                Mono(p.completed_name), f" completed at {when(p.completed_at)} ",
                cite(p.completed_uid))


def _proof(inc: IncidentFacts) -> Text | None:
    proven = [s for n in inc.networks if (s := sni_sentence(n)) is not None]
    if not proven:
        return None
    return text(f"Triggered by the server name (SNI) on {len(proven)} of "
                f"{count_noun(len(inc.networks), 'network')}: the same address completed a "
                "TLS handshake with another server name — ", _join(proven), ".")


def _endpoints(inc: IncidentFacts) -> Text | None:
    sets = {n.endpoints for n in inc.networks}
    if not any(sets):
        return None
    if len(sets) == 1 and len(inc.networks) > 1:
        n = len(inc.networks[0].endpoints)
        same = f"The same {n} endpoints" if n > 1 else "The same endpoint"
        return text(f"{same} failed on every affected network (listed below).")
    counts = ", ".join(f"{as_label(n.asn)} {len(n.endpoints)}" for n in inc.networks)
    lead = ("Each network blocks its own set of endpoints" if len(inc.networks) > 1
            else "Endpoints blocked")
    return text(f"{lead}: {counts} (listed below).")


def _not_affected(inc: IncidentFacts, target: str, windowed: bool) -> Text | None:
    if not inc.not_affected:
        return None
    parts = []
    for u in inc.not_affected:
        blocked = "none blocked" if u.blocked == 0 else f"{u.blocked} blocked"
        others = [f"{n} {o}" for o, n in u.outcomes
                  if o not in BLOCKING_OUTCOMES]
        detail = f" ({', '.join(others)})" if others else ""
        cites = [text(" ", cite(x)) for x in dict.fromkeys((u.first_uid, u.last_uid)) if x]
        parts.append(text(f"{network_name(u.asn, u.as_name)}: "
                          f"{count_noun(u.measured, 'measurement')} of {target} during the "
                          f"incident{' in the window' if windowed else ''}, {blocked}{detail}",
                          *cites))
    return text("Measured without the blocking: ", _join(parts), ".")


def cost_line(cost: dict[str, object] | None) -> str | None:
    """``USD 44.8 M (low 30.1 M – high 60.2 M)`` from an estimate's JSON, or None."""
    if not cost:
        return None

    def money(v: object) -> str:
        x = float(v) if isinstance(v, int | float) else 0.0
        for div, unit in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
            if abs(x) >= div:
                return f"{x / div:,.1f}{unit}"
        return f"{x:,.0f}"

    currency = str(cost.get("currency", "USD"))
    return (f"{currency} {money(cost.get('central'))} (low {money(cost.get('low'))} – "
            f"high {money(cost.get('high'))})")


def _outage(o: OutageFacts) -> Text:
    end = when_or(o.end, "the end of the data (ongoing)")
    cites = [text(" ", cite(u)) for u in o.evidence[:3]]
    return text(f"Outage ({o.kind}) on {network_name(o.asn, o.as_name)} from {when(o.start)} "
                f"to {end}, confidence {o.confidence:.2f}", *cites, ".")


def scope_name(facts: ReportFacts) -> str:
    """What the report's measurements are of: its services (``TikTok``), else its target or
    domains."""
    services = facts.scope.get("services") or []
    if services:
        return display_name("services:" + "+".join(services))
    if facts.target:
        return display_name(facts.target)
    domains = facts.scope.get("domains") or []
    return ", ".join(domains[:3]) + (" …" if len(domains) > 3 else "") or "the incidents’ targets"


def summary_bullets(facts: ReportFacts) -> list[Text]:
    """The summary, incident by incident, then outages, the data and its nature."""
    bullets: list[Text] = []
    windowed = facts.since is not None or facts.until is not None
    for inc in facts.incidents:
        name = display_name(inc.target)
        lead = f"{name}: " if len(facts.incidents) > 1 else ""
        verb = "were" if inc.target.startswith("services:") else "was"
        bullets.append(text(f"{lead}{name} {verb} blocked on "
                            f"{count_noun(len(inc.networks), 'network')} in {facts.country}: ",
                            _onsets(inc), " (UTC; the time of each network's first blocked "
                            "measurement)."))
        bullets.append(text(lead, _status(inc, facts)))
        bullets.append(text(lead, _techniques(inc)))
        for extra in (_proof(inc), _endpoints(inc), _not_affected(inc, name, windowed)):
            if extra is not None:
                bullets.append(text(lead, extra))
        line = cost_line(inc.cost)
        if line:
            bullets.append(text(f"Estimated cost of the restriction: {line} (see Cost)."))
    for o in facts.outages:
        bullets.append(_outage(o))
        line = cost_line(o.cost)
        if line:
            bullets.append(text(f"Estimated cost of the {o.kind}: {line} (see Cost)."))
    scope = (f"; {facts.scope_measurements} of them of {scope_name(facts)}"
             if facts.incidents else "")
    bullets.append(text(f"Data: {count_noun(facts.measurements, 'scored measurement')} from "
                        f"{count_noun(len(facts.coverage), 'network')} in {facts.country} "
                        f"between {when(facts.first)} and {when(facts.last)} UTC{scope}."))
    if facts.lab_clock:
        bullets.append(text("These are lab measurements: the cited measurements carry the lab "
                            "clock of scenario ", Mono(facts.lab_clock), ", so their times are "
                            "the re-enacted case's, not the time they were made."))
    return bullets


def limitations(facts: ReportFacts) -> list[Text]:
    """What the data cannot carry: probes, onset precision, gaps, thin networks, lab data,
    and what the analysis cannot tell."""
    out: list[Text] = []
    runs = ", ".join(f"{as_label(c.asn)} {c.probe_runs}" for c in facts.coverage)
    out.append(text("Vantage points: the store does not say how many devices measured; the "
                    "measurements of the report's scope come from these numbers of probe runs "
                    f"(distinct report ids) per network: {runs}. One probe sees its own "
                    "access network; other customers of the same network may see otherwise."))
    bounds = [text(f"{as_label(n.asn)} between {when(n.last_clean_at)} ", cite(n.last_clean_uid),
                   f" and {when(n.onset)} ", cite(n.first_blocked_uid),
                   f" ({duration(n.onset - n.last_clean_at)})")
              for inc in facts.incidents for n in inc.networks
              if n.last_clean_at is not None and n.last_clean_uid is not None]
    if bounds:
        out.append(text("Onset precision: blocking began between a network's last clean and "
                        "first blocked measurement — ", _join(bounds), "."))
    gaps = [f"{as_label(c.asn)} {duration(c.largest_gap)} (from {when(c.gap_from)} to "
            f"{when(c.gap_to)})" for c in facts.coverage if c.largest_gap is not None]
    if gaps:
        out.append(text("Gaps: the largest gap between consecutive measurements of each "
                        f"network: {'; '.join(gaps)}. Nothing is known of those hours."))
    thin = [f"{as_label(c.asn)} ({c.scope_measurements})" for c in facts.coverage
            if c.scope_measurements < FEW_MEASUREMENTS]
    if thin:
        out.append(text(f"Few measurements (fewer than {FEW_MEASUREMENTS} of the report's "
                        f"scope): {', '.join(thin)}; what is said of them rests on little."))
    if facts.lab_clock:
        out.append(text("Lab data: the measurements were made in censorscope's lab (scenario ",
                        Mono(facts.lab_clock), ") with real censors on an emulated network; "
                        "addresses are lab addresses and times follow the lab clock."))
    out.append(text("What the analysis cannot tell: who ordered the blocking or why; whether "
                    "networks that were not measured block too; whether a network measured "
                    "without the blocking blocks for other users or at other times. Verdicts "
                    "are those of the rules versions listed in Methods; times are the probes' "
                    "clocks."))
    return out
