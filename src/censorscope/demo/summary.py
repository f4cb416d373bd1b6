"""The demo's last screen: per case, the incidents (networks in onset order with their
techniques and endpoint counts, the networks not affected), the outages (shutdowns,
throttling), the cost, and where the report is; then the checks and the explorer's URLs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from censorscope.pipeline.detect.incident_text import technique_label

from .story import CaseStory, Story

__all__ = ["summary_lines"]

OUTAGE_WORDS = {"shutdown": "shutdown (the network cut off, the control unreachable too)",
                "slow": "throttling (downloads slowed against the control)",
                "blocking": "blocking of services", "probes_offline": "probes offline"}


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").removesuffix("Z")[:16] if iso else "ongoing"


def _money(value: float) -> str:
    return f"${value / 1e6:,.2f} M" if value >= 1e5 else f"${value / 1e3:,.1f} k"


def _names(networks: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"AS{n['asn']}" for n in networks)


def _incident_lines(inc: dict[str, Any], story: CaseStory, names: dict[int, str],
                    explorer: str | None) -> list[str]:
    until = f"until {_when(inc['end'])}" if inc["end"] else "ongoing at the end of the data"
    lines = [f"  incident: {inc['title']} ({inc['id']}), {until}"]
    if explorer:
        lines.append(f"    page: {explorer}/incidents/{inc['id']}")
    for n in sorted(inc["networks"], key=lambda n: n["onset"]):
        how = "; ".join(sorted({technique_label(t) for t in n["techniques"]}))
        mechanisms = ", ".join(n["techniques"])
        lines.append(f"    AS{n['asn']:<7} {n.get('as_name', '')[:20]:<20} since "
                     f"{_when(n['onset'])}  {how} [{mechanisms}], "
                     f"{len(n['endpoints'])} endpoint(s)")
    if inc["not_affected"]:
        lines.append("    not affected: " + ", ".join(
            f"AS{a} {names.get(a, '')}".strip() for a in inc["not_affected"]))
    cost = story.costs.get(inc["id"])
    if cost:
        lines.append(f"    cost in the case's window: {_money(cost['central'])} "
                     f"(low {_money(cost['low'])}, high {_money(cost['high'])})")
    return lines


def summary_lines(story: Story, *, explorer: str | None, served: bool) -> list[str]:
    """The summary, one line per item, for a screen of ~60 lines."""
    names = {n["asn"]: n.get("as_name", "") for c in story.cases for i in c.incidents
             for n in i["networks"]}
    lines = ["", "=" * 78, "What the observatory found", "=" * 78]
    for c in story.cases:
        lines.append(f"\n{c.case.scenario}: {c.case.title} ({c.case.country}, "
                     f"{c.since:%Y-%m-%d %H:%M} – {c.until:%Y-%m-%d %H:%M} UTC)")
        if not c.incidents and not c.outages:
            lines.append("  nothing detected in this window")
        for inc in c.incidents:
            lines += _incident_lines(inc, c, names, explorer)
        for o in sorted(c.outages, key=lambda o: (o["kind"], o["start"])):
            where = f"AS{o['asn']} {names.get(o['asn'], '')}".strip() if o["asn"] else "country"
            cost = c.costs.get(o["id"])
            priced = f"; cost {_money(cost['central'])} (central)" if cost else ""
            lines.append(f"  outage: {OUTAGE_WORDS.get(o['kind'], o['kind'])} on {where}, "
                         f"{_when(o['start'])} – {_when(o['end'])}{priced}")
        lines.append(f"  report: {c.report}" if c.report else "  report: none (nothing detected)")
    for inc in story.other_incidents:
        lines.append(f"\nalso found: {inc['title']} ({inc['cc']}, since {_when(inc['start'])})")
    v = story.verify
    lines.append(f"\nevidence: {v['statements']} statements of {v['verdicts']} verdicts "
                 f"checked against the stored measurements: {v['true']} true, "
                 f"{v['false']} false")
    if explorer:
        lines.append(f"explorer: {explorer}/ (incidents: {explorer}/incidents)")
        if not served:
            lines.append("  (stopped with the demo; serve it again with the command above)")
    return lines
