"""One alerts run: decide, record, write the feed, deliver the webhooks.

Order matters for at-least-once delivery: the alerts are decided and saved in the state
(with a ``pending`` delivery per configured webhook) *before* anything is sent; the feed is
rewritten; then every pending or failed delivery of a configured webhook is attempted (in
parallel) and the results saved. A crash after the first save loses nothing: the next run
sends what is still pending. A webhook added later receives only the alerts made after it.
A rejected delivery (a 4xx) is not retried; a failed one is retried on each later run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from . import describe
from .atom import write_feed
from .episodes import Episode
from .hysteresis import Decision, Policy, decide
from .state import AlertRecord, AlertState, Delivery, locked_state, save
from .webhook import Job, Result, RetryPolicy, check_url, deliver_all, sink_name

__all__ = ["DEFAULT_EVIDENCE_URL", "RunReport", "Settings", "feed_id_for", "payload_json",
           "run", "state_path_for"]

# the collector's own API serves the archived measurement (``censorscope collector serve``)
DEFAULT_EVIDENCE_URL: Final = "http://127.0.0.1:8480/api/v1/raw_measurement?measurement_uid={uid}"
MAX_EVIDENCE: Final = 50


def state_path_for(feed: Path) -> Path:
    """The default state file: ``FEED.state.json`` next to the feed."""
    return feed.with_name(feed.name + ".state.json")


def feed_id_for(feed: Path) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, feed.resolve().as_uri()).urn


@dataclass(frozen=True)
class Settings:
    state: Path
    feed: Path | None = None
    feed_id: str | None = None
    webhooks: tuple[str, ...] = ()
    secret: bytes | None = None
    evidence_url: str = DEFAULT_EVIDENCE_URL
    feed_url: str | None = None
    policy: Policy = field(default_factory=Policy)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if "{uid}" not in self.evidence_url:
            raise ValueError("the evidence URL template needs {uid}")
        for url in self.webhooks:
            check_url(url)
        if self.webhooks and not self.secret:
            raise ValueError("webhooks need a shared secret (--secret-file)")
        names = [sink_name(u) for u in self.webhooks]
        if len(set(names)) != len(names):
            raise ValueError("two webhooks with the same address")


@dataclass
class RunReport:
    made: list[AlertRecord] = field(default_factory=list)
    deliveries: list[tuple[AlertRecord, Delivery]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for _, d in self.deliveries if d.status == status)


def payload_json(alert: AlertRecord) -> bytes:
    """The webhook body: ``{"event", "incident"|"outage", "evidence", "alert"}``."""
    doc = {"event": alert.event, alert.kind: alert.payload, "evidence": alert.evidence,
           "alert": {"id": alert.id, "seq": alert.seq, "thread": alert.thread,
                     "made_at": alert.made_at.isoformat(timespec="seconds") + "Z",
                     "title": alert.title, "summary": alert.summary}}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _record(decision: Decision, seq: int, state: AlertState, made_at: datetime,
            settings: Settings) -> AlertRecord:
    thread = decision.thread
    n = sum(1 for a in state.alerts if a.thread == thread.thread) + 1
    evidence = [{"uid": uid, "url": settings.evidence_url.replace("{uid}", uid)}
                for uid in thread.evidence[:MAX_EVIDENCE]]
    return AlertRecord(
        id=f"{thread.thread}/{n}", seq=seq, event=decision.event, kind=thread.kind,
        thread=thread.thread, made_at=made_at, title=describe.title(decision),
        summary=describe.summary(decision), body=describe.body(decision, evidence),
        payload=thread.payload, evidence=evidence,
        deliveries=[Delivery(sink_name(u)) for u in settings.webhooks])


def _apply(delivery: Delivery, result: Result, at: datetime) -> None:
    delivery.status, delivery.http_status, delivery.error = (
        result.status, result.http_status, result.error)
    delivery.attempts += result.attempts
    delivery.at = at


def run(current: Sequence[Episode], settings: Settings, *, now: datetime,
        made_at: datetime | None = None) -> RunReport:
    """Make the alerts of this detection's episodes (:mod:`.episodes`) and send them; ``now``
    is the clock the quiet period is measured on, ``made_at`` the wall time on the alerts."""
    made_at = (made_at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    report = RunReport()
    with locked_state(settings.state) as state:
        decisions = decide(state, current, now, settings.policy)
        for decision in decisions:
            record = _record(decision, len(state.alerts) + 1, state, made_at, settings)
            state.alerts.append(record)
            report.made.append(record)
        save(settings.state, state)
        if settings.feed is not None:
            write_feed(settings.feed, state.alerts,
                       feed_id=settings.feed_id or feed_id_for(settings.feed), now=made_at,
                       self_url=settings.feed_url)
        report.deliveries = _deliver(state, settings)
        save(settings.state, state)
    return report


def _deliver(state: AlertState, settings: Settings) -> list[tuple[AlertRecord, Delivery]]:
    urls = {sink_name(u): u for u in settings.webhooks}
    todo: list[tuple[AlertRecord, Delivery]] = [
        (alert, d) for alert in state.alerts for d in alert.deliveries
        if d.sink in urls and d.status in ("pending", "failed")]
    if not todo:
        return []
    assert settings.secret is not None
    jobs: Sequence[Job] = [Job(urls[d.sink], payload_json(a), a.event, a.id) for a, d in todo]
    results = deliver_all(jobs, settings.secret, settings.retry)
    at = datetime.now(UTC).replace(tzinfo=None)
    for (_, delivery), result in zip(todo, results, strict=True):
        _apply(delivery, result, at)
    return todo
