"""Compose a report's :class:`~.document.Document` from its facts, in the seed report's order:
summary; per incident the onset table, techniques and proof, endpoints blocked, networks not
affected and cost; outages; charts; coverage; methods; limitations; the measurements cited.

The onset table is a plain table with one row per network in onset order (``AS29049``, times
``YYYY-MM-DD HH:MM:SS`` UTC, the measurement uids): tests parse it and compare it with the
store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from censorscope.pipeline.detect.incident_text import display_name

from .costtext import cost_blocks
from .document import (
    Bullets,
    Cite,
    Code,
    Document,
    Figure,
    Link,
    Mono,
    Para,
    Section,
    Table,
    Text,
    cite,
    text,
)
from .facts import AffectedNetwork, IncidentFacts, ReportFacts
from .summary import limitations, network_name, sni_sentence, summary_bullets
from .words import SCOPE_WORDS, as_label, count_noun, duration, technique_text, when, when_or

__all__ = ["CHART_NOTES", "MAX_STATEMENTS", "ONSET_HEADER", "compose"]

ONSET_HEADER: Final = ("AS", "network", "first blocked (UTC)", "measurement",
                       "last clean (UTC)", "measurement", "techniques", "endpoints blocked")
# evidence statements shown per network (all of them are in report.json)
MAX_STATEMENTS: Final = 8

# where each chart's numbers come from (its caption's second sentence)
CHART_NOTES: Final = {
    "failures_by_name": "Counts of measurements the analysis judged blocked in which the "
                        "server name failed, per time bucket.",
    "asn_endpoint_grid": "For each network from its onset (the whole window for a network not "
                         "affected): measurements that tried each endpoint, and how many saw "
                         "it fail.",
    "sni_matrix": "TLS handshakes per network, address and server name from each network's "
                  "onset (the whole window for a network not affected), including the "
                  "measurements cited as SNI proof.",
    "dns_answers": "Every DNS answer (or failure) of the report's measurements, per network "
                   "and resolver.",
    "coverage": "Measurements of every test per network per time bucket.",
}


def _cites(uids: Sequence[str], limit: int = 6) -> Text:
    shown = [text(" " if i else "", cite(u)) for i, u in enumerate(uids[:limit])]
    more = f" and {len(uids) - limit} more" if len(uids) > limit else ""
    return text(*shown, more)


def _monos(values: Sequence[str]) -> Text:
    return text(*[text(", " if i else "", Mono(v)) for i, v in enumerate(values)])


def _onset_table(inc: IncidentFacts) -> Table:
    rows = []
    for n in inc.networks:
        rows.append((
            text(f"AS{n.asn}"), text(n.as_name), text(when(n.onset)),
            text(Cite(n.first_blocked_uid)),
            text(when_or(n.last_clean_at, "none")),
            text(Cite(n.last_clean_uid)) if n.last_clean_uid else text("none"),
            text(", ".join(n.techniques)), text(str(len(n.endpoints)))))
    return Table(ONSET_HEADER, tuple(rows), caption="Onset per network, in onset order",
                 css="onsets")


def _statements(n: AffectedNetwork) -> list[Text]:
    items = []
    for s in n.proof.statements[:MAX_STATEMENTS]:
        source = f"[{s.source}] " if s.source else ""
        cites = text(" ", _cites(s.context_uids)) if s.context_uids else ()
        items.append(text(source, s.text, cites))
    hidden = len(n.proof.statements) - MAX_STATEMENTS
    if hidden > 0:
        items.append(text(f"… and {count_noun(hidden, 'more statement')} (all in report.json)."))
    return items


def _proof_section(inc: IncidentFacts, n: AffectedNetwork) -> Section:
    p = n.proof
    sec = Section(f"{inc.id}-proof-as{n.asn}", f"{as_label(n.asn, n.as_name)}", level=4)
    sec.blocks.append(Para(text("Techniques: ", _monos(n.techniques or ("not named",)), ". ",
                                f"{n.blocked} of the {count_noun(n.measured, 'measurement')} "
                                "of the report's scope from its onset were judged blocked.")))
    verdict = (f"{p.outcome}" + (f", layer {p.layer}" if p.layer else "")
               + (f", mechanism {p.mechanism}" if p.mechanism else ""))
    sec.blocks.append(Para(text(f"First blocked measurement ({when(n.onset)}) ", cite(p.uid),
                                f": verdict {verdict}",
                                f" by rule {p.rule_id}" if p.rule_id else "",
                                f" (rules {p.rules_version})" if p.rules_version else "",
                                ". Its evidence, each statement checked against the stored "
                                "measurement by censorscope verify:")))
    if p.statements:
        sec.blocks.append(Bullets(tuple(_statements(n))))
    sni = sni_sentence(n)
    if sni is not None:
        sec.blocks.append(Para(text("SNI proof: ", sni, ".")))
    elif any(t.startswith("tls.") for t in n.techniques):
        sec.blocks.append(Para(text("No SNI proof in the data: no address on this network shows "
                                    "a handshake with another server name completing while one "
                                    "with the target's failed.")))
    if p.timeline is not None:
        t = p.timeline
        lines = tuple(f"{ln.t:10.6f} s  {ln.text}" if ln.t is not None
                      else f"{'':12}  {ln.text}" for ln in t.lines)
        sec.blocks.append(Code(lines, text(f"Event timeline of {t.endpoint} in ", cite(t.uid),
                                           f" (from the {t.source}; seconds since the "
                                           "measurement began)")))
    return sec


def _endpoints_section(inc: IncidentFacts) -> Section:
    sec = Section(f"{inc.id}-endpoints", "Endpoints blocked per network", level=3)
    items = [text(f"{network_name(n.asn, n.as_name)}, {len(n.endpoints)}: ",
                  _monos(n.endpoints) if n.endpoints else "none named")
             for n in inc.networks]
    sec.blocks.append(Bullets(tuple(items)))
    everywhere = set.intersection(*(set(n.endpoints) for n in inc.networks)) \
        if inc.networks else set()
    if len(inc.networks) > 1:
        sec.blocks.append(Para(text(f"{count_noun(len(everywhere), 'endpoint')} failed on every "
                                    "affected network", ": " if everywhere else ".",
                                    _monos(sorted(everywhere)) if everywhere else "",
                                    "." if everywhere else "")))
    return sec


def _not_affected_section(inc: IncidentFacts, windowed: bool) -> Section:
    sec = Section(f"{inc.id}-not-affected", "Networks not affected", level=3)
    rows = tuple((text(f"AS{u.asn}"), text(u.as_name), text(str(u.measured)),
                  text(str(u.blocked)), text(", ".join(f"{o} {n}" for o, n in u.outcomes)),
                  text(Cite(u.first_uid)) if u.first_uid else text(""),
                  text(Cite(u.last_uid)) if u.last_uid else text(""))
                 for u in inc.not_affected)
    during = "during the incident" + (" in the window" if windowed else "")
    sec.blocks.append(Table(("AS", "network", f"measurements {during}", "blocked",
                             "outcomes", "first", "last"), rows,
                            caption="Networks measured on the target during the incident "
                                    "without the blocking"))
    return sec


def _incident_sections(inc: IncidentFacts, facts: ReportFacts) -> list[Section]:
    head = Section(inc.id, inc.title or display_name(inc.target), level=2)
    period = (f"from {when(inc.start)} to {when(inc.end)} UTC" if inc.end is not None
              else f"since {when(inc.start)} UTC, ongoing at the end of the data")
    head.blocks.append(Para(text(
        f"Incident {inc.id}: target {inc.target}, scope {SCOPE_WORDS.get(inc.scope, inc.scope)}, "
        f"{period}, confidence {inc.confidence:.2f} "
        f"(detector {inc.detector}). Evidence named by detection: ", _cites(inc.evidence, 12),
        ".")))
    onsets = Section(f"{inc.id}-onsets", "Onset per network", level=3)
    onsets.blocks.append(_onset_table(inc))
    onsets.blocks.append(Para(text("First blocked: the first measurement of the network's "
                                   "blocking; last clean: the last measurement before it "
                                   "the analysis judged ok, as detection named them. Times are "
                                   "the measurements' stored start times.")))
    proofs = Section(f"{inc.id}-proof", "Techniques and proof per network", level=3)
    sections = [head, onsets, proofs, *(_proof_section(inc, n) for n in inc.networks),
                _endpoints_section(inc)]
    if inc.not_affected:
        sections.append(_not_affected_section(inc, facts.since is not None
                                              or facts.until is not None))
    if inc.cost is not None or inc.cost_note:
        cost = Section(f"{inc.id}-cost", "Cost", level=3)
        cost.blocks.extend(cost_blocks(inc.cost, inc.cost_note))
        sections.append(cost)
    return sections


def _outages_section(facts: ReportFacts) -> list[Section]:
    sec = Section("outages", "Outages", level=2)
    rows = tuple((text(o.id), text(network_name(o.asn, o.as_name)), text(o.kind),
                  text(when(o.start)), text(when_or(o.end, "ongoing")),
                  text(f"{o.confidence:.2f}"), _cites(o.evidence, 4)) for o in facts.outages)
    sec.blocks.append(Table(("id", "network", "kind", "start (UTC)", "end (UTC)", "confidence",
                             "measurements"), rows, caption="Outages in the window"))
    for o in facts.outages:
        if o.facts:
            sec.blocks.append(Para(text(f"{o.id} — figures that decided it: ",
                                        _facts_text(o.facts), ".")))
    out = [sec]
    for o in facts.outages:
        if o.cost is not None or o.cost_note:
            cost = Section(f"{o.id}-cost", f"Cost of {o.id} ({o.kind})", level=3)
            cost.blocks.extend(cost_blocks(o.cost, o.cost_note))
            out.append(cost)
    return out


def _fact_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{round(v, 4)}"
    if isinstance(v, list | tuple):
        return ", ".join(_fact_value(x) for x in v)
    if isinstance(v, Mapping):
        return ", ".join(f"{k} {_fact_value(x)}" for k, x in v.items())
    return str(v)


def _facts_text(values: Mapping[str, Any]) -> str:
    """An outage's figures as ``name value`` pairs (unknown and empty ones left out)."""
    return "; ".join(f"{key} {_fact_value(values[key])}" for key in sorted(values)
                     if values[key] not in (None, "", [], {}))


def _charts_section(charts: Sequence[Any]) -> Section:
    sec = Section("charts", "Charts", level=2)
    if not charts:
        sec.blocks.append(Para(text("Nothing to draw: the window holds no measurement of the "
                                    "report's scope with the facts the charts show.")))
    for c in charts:
        sec.blocks.append(Figure(c.name, text(CHART_NOTES.get(c.name, ""))))
    return sec


def _coverage_section(facts: ReportFacts) -> Section:
    sec = Section("coverage", "Coverage", level=2)
    rows = tuple((text(f"AS{c.asn}"), text(c.as_name), text(str(c.measurements)),
                  text(str(c.scope_measurements)), text(str(c.probe_runs)),
                  text(when(c.first)), text(when(c.last)),
                  text(duration(c.largest_gap) if c.largest_gap is not None else ""))
                 for c in facts.coverage)
    sec.blocks.append(Table(("AS", "network", "measurements", "of the report's scope",
                             "probe runs", "first (UTC)", "last (UTC)", "largest gap"), rows,
                            caption=f"Scored measurements per network, {when(facts.first)} to "
                                    f"{when(facts.last)} UTC", css="coverage"))
    sec.blocks.append(Para(text("Measurements: every scored measurement of the network in the "
                                "window; probe runs: distinct report ids of the report's "
                                "measurements; largest gap: between consecutive measurements "
                                "of the report's scope.")))
    return sec


def _methods_section(facts: ReportFacts) -> Section:
    sec = Section("methods", "Methods", level=2)
    sec.blocks.append(Para(text(
        "Measurements were scored one by one by censorscope's analysis (a verdict per "
        "measurement: outcome, layer, mechanism, rule and evidence statements, each checkable "
        "against the measurement); detection then found change points per network and target "
        "and clustered them into incidents across networks, and outages per network. Every "
        "number in this report is a stored value or a count of stored rows of the window.")))
    sec.blocks.append(Para(text(
        "Outcomes are the analysis' verdicts: ok, blocked, down (the analysis found the target "
        "itself failing or unusable, not interference), impaired (throttled), insufficient (not "
        "enough evidence); the rule behind each is in its verdict (report.json, "
        "censorscope analyze).")))
    sec.blocks.append(Para(text("Detectors: ", _monos(facts.detectors or ("none",)), ".")))
    rows = tuple((text(Mono(v)), text(str(n))) for v, n in facts.rules_versions)
    sec.blocks.append(Table(("rules version", "measurements"), rows,
                            caption="Rules versions of the latest verdicts in the window"))
    mechanisms = sorted({t for inc in facts.incidents for n in inc.networks for t in n.techniques})
    if mechanisms:
        sec.blocks.append(Bullets(tuple(text(Mono(m), ": ", technique_text(m), ".")
                                        for m in mechanisms)))
    sec.blocks.append(Para(text(
        "SNI proof: an address on the network where a TLS handshake with one of the target's "
        "server names failed after its ClientHello while a handshake with another server name "
        "completed, both during the network's blocking; taken from the report's measurements, "
        "then from the measurements their evidence cites.")))
    return sec


def _appendix(facts: ReportFacts, explorer_url: str | None) -> Section:
    sec = Section("measurements-cited", "Measurements cited", level=2)
    rows = []
    for c in facts.cited.values():
        cells = [text(Mono(c.uid)), text(when(c.time)), text(f"AS{c.asn}"), text(c.test_name),
                 text(Mono(c.input) if c.input else ""), text(c.outcome or ""),
                 text(c.mechanism or "")]
        if explorer_url:
            cells.append(text(Link(f"{explorer_url.rstrip('/')}/measurement/{c.uid}", "open")))
        rows.append(tuple(cells))
    header: tuple[str, ...] = ("measurement", "time (UTC)", "AS", "test", "input", "outcome",
                               "mechanism")
    if explorer_url:
        header += ("explorer",)
    sec.blocks.append(Table(header, tuple(rows), caption="Every measurement this report cites",
                            row_ids=tuple(facts.cited), css="cited"))
    return sec


def _title(facts: ReportFacts) -> str:
    if len(facts.incidents) == 1:
        return facts.incidents[0].title or display_name(facts.incidents[0].target)
    if facts.target:
        return f"{display_name(facts.target)} in {facts.country}"
    return f"Blocking and outages in {facts.country}"


def compose(facts: ReportFacts, charts: Sequence[Any], *, explorer_url: str | None = None
            ) -> Document:
    """The document of a report from its ``facts`` and drawn ``charts`` (``charts.Chart``
    objects, in ``CHART_NAMES`` order)."""
    subtitle = text(f"censorscope report on {facts.country}"
                    + (f", target {facts.target}" if facts.target else "")
                    + f": stored measurements from {when(facts.first)} to {when(facts.last)} "
                    "UTC" + (f" (window {when_or(facts.since, 'open')} to "
                             f"{when_or(facts.until, 'open')})"
                             if facts.since or facts.until else "") + ".")
    doc = Document(_title(facts), subtitle)
    summary = Section("summary", "Summary", level=2)
    summary.blocks.append(Bullets(tuple(summary_bullets(facts))))
    doc.sections.append(summary)
    for inc in facts.incidents:
        doc.sections.extend(_incident_sections(inc, facts))
    if facts.outages:
        doc.sections.extend(_outages_section(facts))
    doc.sections.append(_charts_section(charts))
    doc.sections.append(_coverage_section(facts))
    doc.sections.append(_methods_section(facts))
    lim = Section("limitations", "Limitations", level=2)
    lim.blocks.append(Bullets(tuple(limitations(facts))))
    doc.sections.append(lim)
    doc.sections.append(_appendix(facts, explorer_url))
    return doc
