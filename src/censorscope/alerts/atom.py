"""The Atom feed (RFC 4287) of the alerts, newest first.

Each entry has the elements RFC 4287 requires — ``id`` (a ``urn:uuid`` derived from the feed
and the alert, the same on every rewrite), ``title``, ``updated`` — and ``published``, a
``summary`` (one line), a plain-text ``content`` (per network: since when, how, which
endpoints), ``category`` terms (the event, the kind, the scope) and one ``link`` per piece of
evidence (``rel="related"``; the first is also ``rel="alternate"``). The feed has ``id``,
``title``, ``updated``, ``author`` and ``generator``. It is built with ElementTree, so every
text is escaped, and written atomically.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from censorscope import __version__
from censorscope.durable import write_atomic

from .state import AlertRecord

__all__ = ["ATOM_NS", "MAX_ENTRIES", "entry_id", "render", "write_feed"]

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
MAX_ENTRIES: Final = 500
MAX_LINKS: Final = 20


def _q(tag: str) -> str:
    return f"{{{ATOM_NS}}}{tag}"


def _stamp(t: datetime) -> str:
    return t.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def entry_id(feed_id: str, alert_id: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{feed_id}#{alert_id}").urn


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, _q(tag), attrs)
    if text is not None:
        el.text = text
    return el


def render(alerts: Sequence[AlertRecord], *, feed_id: str, now: datetime,
           title: str = "censorscope alerts", self_url: str | None = None) -> bytes:
    """The feed document of ``alerts`` (the newest :data:`MAX_ENTRIES`)."""
    ET.register_namespace("", ATOM_NS)
    newest = sorted(alerts, key=lambda a: a.seq, reverse=True)[:MAX_ENTRIES]
    feed = ET.Element(_q("feed"))
    _sub(feed, "id", feed_id)
    _sub(feed, "title", title)
    _sub(feed, "updated", _stamp(newest[0].made_at if newest else now))
    author = _sub(feed, "author")
    _sub(author, "name", "censorscope")
    _sub(feed, "generator", "censorscope", version=__version__)
    if self_url:
        _sub(feed, "link", href=self_url, rel="self", type="application/atom+xml")
    for alert in newest:
        entry = _sub(feed, "entry")
        _sub(entry, "id", entry_id(feed_id, alert.id))
        _sub(entry, "title", alert.title)
        _sub(entry, "updated", _stamp(alert.made_at))
        _sub(entry, "published", _stamp(alert.made_at))
        _sub(entry, "summary", alert.summary, type="text")
        _sub(entry, "content", alert.body or alert.summary, type="text")
        for term in (alert.event, alert.kind, alert.payload.get("scope")):
            if term:
                _sub(entry, "category", term=str(term))
        for i, ev in enumerate(alert.evidence[:MAX_LINKS]):
            if i == 0:
                _sub(entry, "link", href=ev["url"], rel="alternate", type="application/json")
            _sub(entry, "link", href=ev["url"], rel="related", title=ev["uid"])
    ET.indent(feed)
    out: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return out + b"\n"


def write_feed(path: Path, alerts: Sequence[AlertRecord], *, feed_id: str, now: datetime,
               self_url: str | None = None) -> None:
    write_atomic(path, render(alerts, feed_id=feed_id, now=now, self_url=self_url), 0o644)
