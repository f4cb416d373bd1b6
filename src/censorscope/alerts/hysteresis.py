"""Which alerts to make: the episodes of this detection against what was announced.

Episodes are grouped into *threads* (one story each) by subject:

- an episode whose id a thread already holds belongs to it;
- else it joins the subject's latest open thread when it starts before that thread's end
  plus the quiet period (a flap, or the same story whose start moved with late data);
- else it starts a new thread (and the old one, whose end has now held, is closed).

Then, per thread:

- new thread: ``opened``;
- networks not announced before: ``updated`` at once (announced networks only grow, so a
  network flapping in and out alerts once);
- a scope different from the announced one: ``updated`` once that scope has held for the
  quiet period (a scope flapping back and forth inside it alerts nothing);
- an end that has held for the quiet period (``now - end >= quiet``, or a later thread of
  the subject started): ``closed``;
- a closed thread whose episode is ongoing again: ``opened`` (the close was premature).

``now`` is the clock the quiet period is measured on (see :mod:`.run`). An open thread whose
episode vanished from detection stays as it was (no alert): a trailing window forgets old
episodes, which is no news.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .episodes import Episode
from .state import AlertState, Thread

__all__ = ["Decision", "Policy", "decide"]


@dataclass(frozen=True)
class Policy:
    """``quiet``: how long an end must hold before ``closed``, and how long a scope change
    must hold before ``updated``; episodes closer than this are one story."""

    quiet: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class Decision:
    """Make alert ``event`` about ``thread`` (a snapshot at decision time)."""

    event: str
    thread: Thread
    added: tuple[int, ...] = ()  # updated: the networks new since the last announcement
    previous_scope: str | None = None  # updated: the scope announced before


def _open_thread(ep: Episode) -> Thread:
    return Thread(thread=ep.id, kind=ep.kind, subject=ep.subject, ids=[ep.id], status="open",
                  scope=ep.scope, asns=sorted(ep.asns), start=ep.start, end=ep.end,
                  title=ep.title, payload=ep.payload, evidence=list(ep.evidence))


class _Index:
    """The state's threads by episode id and the latest thread per (kind, subject)."""

    def __init__(self, state: AlertState) -> None:
        self.state = state
        self.by_id = {i: t for t in state.threads for i in t.ids}
        # threads are kept in creation order, so the last one of a subject wins
        self.latest = {(t.kind, t.subject): t for t in state.threads}

    def add(self, thread: Thread) -> None:
        self.state.threads.append(thread)
        self.latest[(thread.kind, thread.subject)] = thread


def _assign(index: _Index, eps: Sequence[Episode], quiet: timedelta
            ) -> tuple[list[tuple[Thread, list[Episode]]], set[str]]:
    """Episodes of one subject (sorted by start) → the threads they belong to with their
    episodes of this run (older threads first); and the ids of the threads created."""
    assigned: dict[str, tuple[Thread, list[Episode]]] = {}
    created: set[str] = set()
    for ep in eps:
        thread = index.by_id.get(ep.id)
        if thread is None:
            last = index.latest.get((ep.kind, ep.subject))
            if last is not None and last.status == "open":
                mine = assigned.get(last.thread)
                end = _end(mine[1]) if mine else last.end
                if end is None or ep.start <= end + quiet:
                    thread = last
            if thread is None:
                thread = _open_thread(ep)
                created.add(thread.thread)
                index.add(thread)
            if ep.id not in thread.ids:
                thread.ids.append(ep.id)
            index.by_id[ep.id] = thread
        assigned.setdefault(thread.thread, (thread, []))[1].append(ep)
    ordered = sorted(assigned.values(), key=lambda tm: (tm[0].thread in created, tm[0].start))
    return ordered, created


def _end(eps: Sequence[Episode]) -> datetime | None:
    """When the last of ``eps`` ended (None: one is ongoing)."""
    ends = [e.end for e in eps]
    return None if any(e is None for e in ends) else max(e for e in ends if e is not None)


def _snapshot(thread: Thread) -> Thread:
    return copy.deepcopy(thread)


def decide(state: AlertState, current: Sequence[Episode], now: datetime,
           policy: Policy = Policy()) -> list[Decision]:
    """The alerts to make for ``current`` (this detection's episodes); updates ``state``'s
    threads to what is announced after them."""
    quiet = policy.quiet
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    subjects: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    for ep in current:
        subjects[(ep.kind, ep.subject)].append(ep)
    decisions: list[Decision] = []
    touched: set[str] = set()
    index = _Index(state)
    for key in sorted(subjects):
        eps = sorted(subjects[key], key=lambda e: (e.start, e.id))
        assigned, created = _assign(index, eps, quiet)
        starts = sorted(min(e.start for e in mine) for _, mine in assigned)
        for thread, mine in assigned:
            touched.add(thread.thread)
            decisions += _advance(thread, mine, thread.thread in created, starts, now, quiet)
    for thread in state.threads:  # open threads whose episodes vanished: close if it held
        if thread.thread not in touched and thread.status == "open" and thread.end is not None \
                and now - thread.end >= quiet:
            thread.status = "closed"
            decisions.append(Decision("closed", _snapshot(thread)))
    return decisions


def _advance(thread: Thread, mine: list[Episode], is_new: bool, starts: list[datetime],
             now: datetime, quiet: timedelta) -> list[Decision]:
    last = max(mine, key=lambda e: (e.start, e.id))
    asns = set().union(*(e.asns for e in mine))
    end = _end(mine)
    thread.end, thread.title, thread.payload = end, last.title, last.payload
    thread.evidence = list(dict.fromkeys(u for e in mine for u in e.evidence))
    out: list[Decision] = []
    if is_new:
        thread.scope, thread.asns = last.scope, sorted(asns)
        out.append(Decision("opened", _snapshot(thread)))
    elif thread.status == "closed":
        if end is not None:
            return out  # still over: the close stands
        thread.status, thread.scope = "open", last.scope
        thread.asns = sorted(set(thread.asns) | asns)
        thread.pending_scope = thread.pending_since = None
        return [Decision("opened", _snapshot(thread))]
    elif asns - set(thread.asns):
        added, before = tuple(sorted(asns - set(thread.asns))), thread.scope
        thread.asns = sorted(set(thread.asns) | asns)
        thread.scope = last.scope
        thread.pending_scope = thread.pending_since = None
        out.append(Decision("updated", _snapshot(thread), added, before))
    elif last.scope != thread.scope:
        if thread.pending_scope != last.scope or thread.pending_since is None:
            thread.pending_scope, thread.pending_since = last.scope, now
        elif now - thread.pending_since >= quiet:
            before, thread.scope = thread.scope, last.scope
            thread.pending_scope = thread.pending_since = None
            out.append(Decision("updated", _snapshot(thread), (), before))
    else:
        thread.pending_scope = thread.pending_since = None
    later = any(s > end + quiet for s in starts) if end is not None else False
    if end is not None and (now - end >= quiet or later):
        thread.status = "closed"
        out.append(Decision("closed", _snapshot(thread)))
    return out
