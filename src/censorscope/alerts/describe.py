"""The words of an alert: its title, a one-line summary and a plain-text body.

Everything is taken from the episode's ``to_json()`` payload (the shape ``censorscope
incidents --format json`` prints), so the feed, the webhook and ``--list`` say the same.
"""

from __future__ import annotations

from typing import Any

from .hysteresis import Decision

__all__ = ["body", "summary", "title"]

_VERB = {"opened": "Opened", "updated": "Updated", "closed": "Closed"}
_SCOPE = {"one_isp": "one ISP", "several_isps": "several ISPs", "national": "national",
          "server_side": "server side"}


def _asn(n: int) -> str:
    return f"AS{n}"


def title(decision: Decision) -> str:
    return f"{_VERB.get(decision.event, decision.event)}: {decision.thread.title}"


def _networks(payload: dict[str, Any]) -> list[str]:
    out = []
    for n in payload.get("networks", []):
        name = f" ({n['as_name']})" if n.get("as_name") else ""
        out.append(f"{_asn(n['asn'])}{name}")
    return out


def summary(decision: Decision) -> str:
    """One line: what, where, since when, and what changed."""
    t, p = decision.thread, decision.thread.payload
    start, end = p.get("start"), p.get("end")
    if t.kind == "incident":
        where = ", ".join(_networks(p)) or p.get("cc", "?")
        scope = _SCOPE.get(str(p.get("scope")), p.get("scope"))
        text = f"{p.get('target')} in {p.get('cc')}: {scope} on {where}, since {start}"
    else:
        where = p.get("cc") if p.get("asn") is None else f"{_asn(p['asn'])} ({p.get('cc')})"
        text = f"{p.get('kind', '').replace('_', ' ')} in {where}, since {start}"
    if decision.event == "updated":
        changes = []
        if decision.added:
            changes.append("new networks " + ", ".join(_asn(a) for a in decision.added))
        if decision.previous_scope != t.scope:
            changes.append(f"scope {decision.previous_scope} -> {t.scope}")
        text += "; " + "; ".join(changes) if changes else ""
    if decision.event == "closed":
        text += f"; ended {end}"
    return text


def body(decision: Decision, evidence: list[dict[str, str]]) -> str:
    """A few lines a person reads in a feed reader: per network, when, how, which endpoints."""
    t, p = decision.thread, decision.thread.payload
    lines = [summary(decision), ""]
    if t.kind == "incident":
        for n in p.get("networks", []):
            lines.append(f"{_asn(n['asn'])} {n.get('as_name', '')}: since {n.get('onset')}"
                         + (f" until {n['offset']}" if n.get("offset") else "")
                         + f"; techniques {', '.join(n.get('techniques', [])) or '-'}"
                         + f"; endpoints {', '.join(n.get('endpoints', [])) or '-'}")
        if p.get("not_affected"):
            lines.append("not affected: " + ", ".join(_asn(a) for a in p["not_affected"]))
    else:
        for key, value in sorted(p.get("facts", {}).items()):
            lines.append(f"{key}: {value}")
    lines.append(f"confidence {p.get('confidence')}; id {p.get('id')}")
    if evidence:
        lines.append("evidence:")
        lines += [f"  {e['url']}" for e in evidence]
    return "\n".join(lines)
