"""Hysteresis: an incident alerts once when it opens, again on a material change, and once
when its end has held for the quiet period; flapping inside that window makes no alert."""

from __future__ import annotations

from datetime import timedelta

from censorscope.alerts.episodes import episodes, from_incident
from censorscope.alerts.hysteresis import Policy, decide
from censorscope.alerts.state import AlertState
from censorscope.model.detection import Incident, Outage

from .alertkit import T0, incident, outage

QUIET = timedelta(hours=1)
POLICY = Policy(quiet=QUIET)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def events(state: AlertState, incidents: list[Incident], now_offset: timedelta,
           outages: list[Outage] | None = None) -> list[str]:
    decided = decide(state, episodes(incidents, outages or []), T0 + now_offset, POLICY)
    return [d.event for d in decided]


def test_an_ongoing_incident_alerts_once_however_often_detection_repeats_it() -> None:
    state = AlertState()
    inc = incident((29049,))
    assert events(state, [inc], 1 * H) == ["opened"]
    for k in range(2, 6):
        assert events(state, [inc], k * H) == []
    assert len(state.threads) == 1 and state.threads[0].status == "open"


def test_new_networks_update_at_once_and_a_network_flapping_in_and_out_alerts_once() -> None:
    state = AlertState()
    assert events(state, [incident((29049,))], 1 * H) == ["opened"]
    two = incident((29049, 41997))
    decided = decide(state, episodes([two], []), T0 + 2 * H, POLICY)
    assert [(d.event, d.added, d.previous_scope) for d in decided] == [
        ("updated", (41997,), "one_isp")]
    assert decided[0].thread.scope == "several_isps"
    # Connect drops out of the incident and comes back: already announced, no alert
    assert events(state, [incident((29049,), scope="several_isps")], 3 * H) == []
    assert events(state, [two], 4 * H) == []
    assert events(state, [incident((29049, 41997, 31721))], 5 * H) == ["updated"]


def test_a_scope_change_alerts_only_once_it_has_held_for_the_quiet_period() -> None:
    state = AlertState()
    assert events(state, [incident((29049, 41997))], 1 * H) == ["opened"]
    national = incident((29049, 41997), scope="national")
    several = incident((29049, 41997))
    assert events(state, [national], 1 * H + 10 * M) == []  # seen, not held yet
    assert events(state, [several], 1 * H + 20 * M) == []  # flapped back: nothing
    assert events(state, [national], 1 * H + 30 * M) == []
    assert events(state, [national], 1 * H + 50 * M) == []  # held 20 min < 1 h
    decided = decide(state, episodes([national], []), T0 + 2 * H + 31 * M, POLICY)
    assert [(d.event, d.previous_scope, d.thread.scope) for d in decided] == [
        ("updated", "several_isps", "national")]
    assert events(state, [national], 4 * H) == []


def test_closed_only_after_the_end_has_held_for_the_quiet_period() -> None:
    state = AlertState()
    assert events(state, [incident()], 1 * H) == ["opened"]
    ended = incident(end=T0 + 2 * H)
    assert events(state, [ended], 2 * H + 10 * M) == []
    assert events(state, [ended], 2 * H + 59 * M) == []
    assert events(state, [ended], 3 * H) == ["closed"]
    assert events(state, [ended], 9 * H) == []
    assert state.threads[0].status == "closed"


def test_flapping_inside_the_quiet_period_is_one_story_without_alerts() -> None:
    """Blocked, clean for 20 minutes, blocked again: detection reports two incidents (two
    ids: the second starts later) — the alerts see one, still open."""
    state = AlertState()
    first = incident(end=T0 + 2 * H)
    assert events(state, [first], 2 * H + 5 * M) == ["opened"]
    again = incident(start=T0 + 2 * H + 20 * M)
    assert again.id != first.id
    assert events(state, [first, again], 2 * H + 30 * M) == []
    assert events(state, [first, again], 4 * H) == []
    thread = state.threads[0]
    assert (len(state.threads), thread.status, set(thread.ids)) == (1, "open",
                                                                  {first.id, again.id})
    # the second blocking ends and stays ended: one close for the whole story
    again_ended = incident(start=T0 + 2 * H + 20 * M, end=T0 + 5 * H)
    assert events(state, [first, again_ended], 5 * H + 30 * M) == []
    assert events(state, [first, again_ended], 6 * H) == ["closed"]


def test_a_new_episode_after_the_quiet_period_closes_the_old_one_and_opens_anew() -> None:
    state = AlertState()
    first = incident(end=T0 + 2 * H)
    assert events(state, [first], 2 * H + 5 * M) == ["opened"]
    later = incident(start=T0 + 4 * H)
    decided = decide(state, episodes([first, later], []), T0 + 4 * H + 5 * M, POLICY)
    assert [(d.event, d.thread.thread) for d in decided] == [
        ("closed", first.id), ("opened", later.id)]


def test_a_start_moved_by_late_data_is_the_same_incident() -> None:
    state = AlertState()
    assert events(state, [incident(start=T0)], 1 * H) == ["opened"]
    backfilled = incident(start=T0 - 3 * H)  # an upload a day late shows an earlier onset
    assert backfilled.id != incident(start=T0).id
    assert events(state, [backfilled], 2 * H) == []
    assert len(state.threads) == 1


def test_an_incident_already_over_opens_and_closes_in_one_run() -> None:
    state = AlertState()
    assert events(state, [incident(end=T0 + H)], 10 * H) == ["opened", "closed"]
    assert events(state, [incident(end=T0 + H)], 11 * H) == []


def test_a_closed_incident_that_is_ongoing_again_reopens() -> None:
    state = AlertState()
    assert events(state, [incident(end=T0 + H)], 10 * H) == ["opened", "closed"]
    assert events(state, [incident()], 11 * H) == ["opened"]


def test_outages_and_incidents_and_targets_are_separate_stories() -> None:
    state = AlertState()
    tiktok, fb = incident(), incident(target="service:facebook", title="Facebook blocked")
    assert events(state, [tiktok, fb], H, [outage()]) == ["opened", "opened", "opened"]
    kinds = sorted((t.kind, t.subject) for t in state.threads)
    assert kinds == [("incident", "AZ|service:facebook"), ("incident", "AZ|service:tiktok"),
                     ("outage", "AZ|29049|shutdown")]
    assert events(state, [tiktok, fb], 3 * H, [outage(end=T0 + H)]) == ["closed"]


def test_a_national_block_of_twenty_networks_is_one_alert() -> None:
    state = AlertState()
    national = incident(tuple(range(64500, 64520)), scope="national")
    assert events(state, [national], H) == ["opened"]
    assert from_incident(national).asns == frozenset(range(64500, 64520))


def test_evidence_of_the_episode_lists_the_blocked_and_clean_measurements() -> None:
    ep = from_incident(incident((29049, 41997)))
    assert ep.evidence == ("uid-ev-29049", "uid-ev-41997", "uid-blocked-29049-1",
                           "uid-blocked-41997-1", "uid-clean-29049-1", "uid-clean-41997-1")
    assert ep.subject == "AZ|service:tiktok"


def test_a_story_ends_when_its_last_episode_ends_not_its_latest_started() -> None:
    state = AlertState()
    long = incident(end=T0 + 5 * H)
    short = incident(start=T0 + H, end=T0 + 2 * H)
    later = incident(start=T0 + 4 * H)  # inside the long one: the same story
    assert events(state, [long, short, later], 4 * H + 10 * M) == ["opened"]
    assert len(state.threads) == 1
    # the latest-started episode ends first: the story is not over until the long one ends
    later_ended = incident(start=T0 + 4 * H, end=T0 + 4 * H + 30 * M)
    assert events(state, [long, short, later_ended], 5 * H + 50 * M) == []
    assert events(state, [long, short, later_ended], 6 * H) == ["closed"]
