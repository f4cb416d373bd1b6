"""The Atom feed: valid XML with the elements RFC 4287 requires, stable entry ids, evidence
links, and text escaped; the state file keeps what was announced across runs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from censorscope.alerts.atom import ATOM_NS
from censorscope.alerts.episodes import episodes
from censorscope.alerts.hysteresis import Policy
from censorscope.alerts.run import Settings, run, state_path_for
from censorscope.alerts.state import StateError, load

from .alertkit import T0, incident

A = f"{{{ATOM_NS}}}"
H = timedelta(hours=1)
WALL = datetime(2026, 12, 4, 18, 0)


def _run(settings: Settings, incs: list, at: timedelta, wall: datetime = WALL) -> list[str]:
    report = run(episodes(incs, []), settings, now=T0 + at, made_at=wall)
    return [a.event for a in report.made]


def _entries(feed: Path) -> tuple[ET.Element, list[ET.Element]]:
    root = ET.fromstring(feed.read_bytes())
    return root, root.findall(f"{A}entry")


def test_the_feed_has_what_rfc_4287_requires(tmp_path: Path) -> None:
    feed = tmp_path / "alerts.atom"
    settings = Settings(state=state_path_for(feed), feed=feed,
                        evidence_url="https://collector.example/m?uid={uid}",
                        feed_url="https://alerts.example/feed.atom")
    assert _run(settings, [incident((29049,))], H) == ["opened"]
    assert _run(settings, [incident((29049, 41997))], 2 * H, WALL + H) == ["updated"]
    assert _run(settings, [incident((29049, 41997), end=T0 + 3 * H)], 5 * H,
                WALL + 2 * H) == ["closed"]

    root, entries = _entries(feed)
    assert root.tag == f"{A}feed"
    for tag in ("id", "title", "updated"):
        assert (root.findtext(f"{A}{tag}") or "").strip(), tag
    assert root.findtext(f"{A}author/{A}name") == "censorscope"
    assert root.findtext(f"{A}updated") == "2026-12-04T20:00:00Z"  # the newest entry
    self_link = root.find(f"{A}link[@rel='self']")
    assert self_link is not None and self_link.get("href") == settings.feed_url
    assert len(entries) == 3
    titles = [e.findtext(f"{A}title") for e in entries]
    assert titles == ["Closed: TikTok blocked in AZ", "Updated: TikTok blocked in AZ",
                      "Opened: TikTok blocked in AZ"]  # newest first
    ids = [e.findtext(f"{A}id") for e in entries]
    assert len(set(ids)) == 3 and all(i and i.startswith("urn:uuid:") for i in ids)
    for e in entries:
        updated = e.findtext(f"{A}updated")
        assert updated and datetime.fromisoformat(updated.replace("Z", "+00:00"))
        assert (e.findtext(f"{A}summary") or "").startswith("service:tiktok in AZ")
        related = [ln.get("href") for ln in e.findall(f"{A}link[@rel='related']")]
        assert "https://collector.example/m?uid=uid-blocked-29049-1" in related
        alternate = e.findall(f"{A}link[@rel='alternate']")
        assert len(alternate) == 1 and alternate[0].get("href") == related[0]
        terms = {c.get("term") for c in e.findall(f"{A}category")}
        assert "incident" in terms
    updated_entry = entries[1]
    assert "new networks AS41997" in (updated_entry.findtext(f"{A}summary") or "")
    content = updated_entry.findtext(f"{A}content") or ""
    assert "AS41997 Connect: since 2022-09-14T12:21:00Z" in content
    assert "endpoints www.tiktok.com, v16m.tiktokcdn.com" in content
    assert "ended 2022-09-14T15:11:00Z" in (entries[0].findtext(f"{A}summary") or "")

    # rewriting the feed keeps the entry ids (readers would show duplicates otherwise)
    before = ids
    assert _run(settings, [incident((29049, 41997), end=T0 + 3 * H)], 9 * H) == []
    assert [e.findtext(f"{A}id") for e in _entries(feed)[1]] == before


def test_text_is_escaped(tmp_path: Path) -> None:
    feed = tmp_path / "f.atom"
    settings = Settings(state=tmp_path / "s.json", feed=feed)
    nasty = incident(title='<script>alert("x")</script> & ]]> AT&T')
    assert _run(settings, [nasty], H) == ["opened"]
    _, entries = _entries(feed)
    assert entries[0].findtext(f"{A}title") == 'Opened: <script>alert("x")</script> & ]]> AT&T'
    assert b"<script>" not in feed.read_bytes()


def test_the_state_survives_the_process_and_is_plain_json(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    settings = Settings(state=state, policy=Policy(quiet=H))
    assert _run(settings, [incident()], H) == ["opened"]
    doc = json.loads(state.read_text())
    assert doc["version"] == 1 and len(doc["alerts"]) == 1
    assert doc["alerts"][0]["payload"]["id"] == incident().id
    assert doc["threads"][0]["status"] == "open"
    # a new process (a fresh load) knows it was announced
    assert _run(settings, [incident()], 2 * H) == []
    assert [a.event for a in load(state).alerts] == ["opened"]
    assert oct(state.stat().st_mode & 0o777) == "0o600"


def test_a_damaged_state_file_is_an_error_not_a_fresh_start(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    with pytest.raises(StateError, match="not an alert state file"):
        _run(Settings(state=state), [incident()], H)
    state.write_text('{"version": 99, "threads": [], "alerts": []}')
    with pytest.raises(StateError, match="version 99"):
        load(state)
