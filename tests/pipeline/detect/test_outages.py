"""Outage detection on generated point streams: shutdowns, silent probes, weekly cycles,
throttling and partial blocks, each with known start and end."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from censorscope.model.detection import Outage, VerdictPoint
from censorscope.pipeline.detect.outages import DETECTOR, OutageParams, find_outages
from censorscope.pipeline.detect.volume import BaselineParams, VolumeHistory, poisson_cdf

START = datetime(2020, 9, 7)  # a Monday
HOUR = timedelta(hours=1)
SITES = tuple(f"site{i}.example" for i in range(30))
NAMES = {28787: "Baktelekom", 31721: "Azercell", 39232: "Uninet", 197830: "Bakcell"}

# A verdict for a point at time t on a domain: (outcome, layer, mechanism, control_ok)
Verdict = tuple[str, str | None, str | None, bool | None]
Scenario = Callable[[datetime, str], Verdict]


def normal(_t: datetime, _domain: str) -> Verdict:
    return ("ok", None, None, True)


def daily_rate(base: float) -> Callable[[datetime], float]:
    """Busy days, night lows (almost nothing 01:00-06:00) and quieter weekends."""
    def rate(t: datetime) -> float:
        night = 0.05 if 1 <= t.hour < 6 else 0.4 if t.hour < 9 or t.hour >= 22 else 1.0
        return base * night * (0.6 if t.weekday() >= 5 else 1.0)
    return rate


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method (small rates), normal approximation for large ones
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def stream(asn: int, *, hours: int, rate: Callable[[datetime], float],
           verdict: Scenario = normal, cc: str = "AZ", seed: int = 0,
           start: datetime = START, domains: tuple[str, ...] = SITES,
           service: Callable[[str], str | None] = lambda _d: None) -> Iterator[VerdictPoint]:
    """Measurements of ``asn``: Poisson arrivals per hour at ``rate(hour)``, spread over the
    hour, each on a random domain, judged by ``verdict``."""
    rng = random.Random(f"{cc}{asn}-{seed}")
    for h in range(hours):
        hour = start + h * HOUR
        for i in range(_poisson(rng, rate(hour))):
            t = hour + timedelta(seconds=rng.randrange(3600))
            domain = rng.choice(domains)
            outcome, layer, mechanism, ctrl = verdict(t, domain)
            yield VerdictPoint(
                measurement_uid=f"{asn}-{h:05d}-{i:03d}", measurement_start_time=t,
                probe_cc=cc, probe_asn=asn, probe_network_name=NAMES.get(asn, ""),
                test_name="web_connectivity", input=f"https://{domain}/", domain=domain,
                outcome=outcome, layer=layer, mechanism=mechanism, rules_version="cs-web-1",
                service=service(domain), control_ok=ctrl)


def kinds(outages: list[Outage]) -> list[tuple[int | None, str]]:
    return [(o.asn, o.kind) for o in outages]


# --- a shutdown: everything fails on two ISPs, the control too, measurements uploaded later ---

SHUT_FROM = START + timedelta(days=16, hours=10, minutes=20)
SHUT_TO = SHUT_FROM + timedelta(hours=30, minutes=15)


def shutdown(t: datetime, domain: str) -> Verdict:
    if SHUT_FROM <= t < SHUT_TO:
        return ("insufficient", "tcp", "tcp.timeout", False)
    return ("blocked", "tls", "tls.reset.sni", True) if domain == "site0.example" else \
        ("ok", None, None, True)


def shutdown_points() -> list[VerdictPoint]:
    hours = 21 * 24
    points = [*stream(28787, hours=hours, rate=daily_rate(12), verdict=shutdown),
              *stream(31721, hours=hours, rate=daily_rate(8), verdict=shutdown),
              *stream(39232, hours=hours, rate=daily_rate(10))]
    return points


def test_shutdown_is_one_outage_per_affected_asn_with_its_start_and_end() -> None:
    points = shutdown_points()
    outages = find_outages(points)
    assert kinds(outages) == [(28787, "shutdown"), (31721, "shutdown")]
    for o in outages:
        affected = sorted((p for p in points if p.probe_asn == o.asn
                           and SHUT_FROM <= p.measurement_start_time < SHUT_TO),
                          key=lambda p: (p.measurement_start_time, p.measurement_uid))
        assert len({p.domain for p in affected}) == len(SITES)  # every site failed, one outage
        assert o.start == affected[0].measurement_start_time
        assert o.end == affected[-1].measurement_start_time
        assert o.facts["control_reachable_share"] == 0.0
        assert o.facts["failing_share"] == 1.0
        assert o.facts["affected"] == len(affected)
        assert o.facts["targets_working"] == 0
        assert o.facts["volume_ratio"] > 0.5  # the measurements did arrive
        uids = {p.measurement_uid for p in affected}
        assert o.evidence and set(o.evidence) <= uids
        assert affected[0].measurement_uid in o.evidence
        assert o.confidence > 0.8
        assert o.detector == DETECTOR


def test_sparse_shutdown_without_control_rows_is_still_one_outage() -> None:
    # during the shutdown the probes measure less (timeouts), some hours nothing arrives,
    # and no control answer was recorded at all (control_ok unknown)
    def blind(t: datetime, domain: str) -> Verdict:
        outcome, layer, mechanism, ctrl = shutdown(t, domain)
        return (outcome, layer, mechanism, None if ctrl is False else ctrl)
    rng = random.Random(3)
    points = [p for p in stream(28787, hours=21 * 24, rate=daily_rate(12), verdict=blind)
              if not SHUT_FROM <= p.measurement_start_time < SHUT_TO or rng.random() < 0.2]
    outages = find_outages(points)
    assert kinds(outages) == [(28787, "shutdown")]
    o = outages[0]
    affected = sorted((p for p in points if SHUT_FROM <= p.measurement_start_time < SHUT_TO),
                      key=lambda p: p.measurement_start_time)
    assert (o.start, o.end) == (affected[0].measurement_start_time,
                                affected[-1].measurement_start_time)
    assert o.facts["control_reachable_share"] is None and o.facts["control_known"] == 0
    assert o.facts["volume_ratio"] < 0.5
    full = find_outages(shutdown_points())[0]
    assert o.confidence < full.confidence


def test_blocked_apps_without_control_are_no_shutdown() -> None:
    # a probe that only measures two messaging apps, both blocked for a day: no control, few
    # targets — not enough to call a shutdown
    def apps(t: datetime, _domain: str) -> Verdict:
        if SHUT_FROM <= t < SHUT_TO:
            return ("blocked", "tcp", "tcp.timeout", None)
        return ("ok", None, None, None)
    points = list(stream(28787, hours=21 * 24, rate=daily_rate(6), verdict=apps,
                         domains=("web.whatsapp.com", "telegram.org")))
    assert find_outages(points) == []


def test_name_triggered_blocking_before_a_shutdown_does_not_start_it() -> None:
    # az-2020-war: in the hours before the networks went dark the probe measured only the
    # blocked services (TLS reset on the name, control unknown): a working path, so the
    # shutdown starts with the first measurement that the dark network explains
    blocked_from = SHUT_FROM - timedelta(hours=6)

    def war(t: datetime, domain: str) -> Verdict:
        if blocked_from <= t < SHUT_FROM:
            return ("blocked", "tls", "tls.reset.sni", None)
        outcome, layer, mechanism, ctrl = shutdown(t, domain)
        return (outcome, layer, mechanism, None if ctrl is False else ctrl)
    points = list(stream(28787, hours=21 * 24, rate=daily_rate(12), verdict=war))
    [o] = find_outages(points)
    assert o.kind == "shutdown"
    dark = min(p.measurement_start_time for p in points
               if SHUT_FROM <= p.measurement_start_time < SHUT_TO)
    assert o.start == dark
    # and hours of nothing but name-triggered failures alone are no shutdown at all
    only_blocked = [p for p in points if p.measurement_start_time < SHUT_FROM]
    assert find_outages(only_blocked) == []


def test_refused_connections_prove_the_network_works() -> None:
    # a DNS lie pointing at a host that refuses the connection: something answered, so hours
    # of nothing but refusals (control unknown) are blocking, not a shutdown
    def refused(t: datetime, _domain: str) -> Verdict:
        if SHUT_FROM <= t < SHUT_TO:
            return ("blocked", "tcp", "tcp.refused", None)
        return ("ok", None, None, None)
    points = list(stream(28787, hours=21 * 24, rate=daily_rate(12), verdict=refused))
    assert find_outages(points) == []


def test_shutdown_of_every_network_is_also_the_countrys() -> None:
    hours = 21 * 24
    points = [*stream(28787, hours=hours, rate=daily_rate(12), verdict=shutdown),
              *stream(31721, hours=hours, rate=daily_rate(8), verdict=shutdown)]
    outages = find_outages(points)
    assert kinds(outages) == [(None, "shutdown"), (28787, "shutdown"), (31721, "shutdown")]
    country = outages[0]
    assert country.facts["networks"] == [28787, 31721]
    assert country.start == min(o.start for o in outages[1:])
    assert country.end == max(o.end for o in outages[1:] if o.end)


def test_result_does_not_depend_on_input_order_and_ids_are_stable() -> None:
    points = shutdown_points()
    first = [o.to_json() for o in find_outages(points)]
    shuffled = list(points)
    random.Random(7).shuffle(shuffled)
    assert [o.to_json() for o in find_outages(shuffled)] == first
    assert [o.to_json() for o in find_outages(iter(points))] == first
    assert len({o["id"] for o in first}) == len(first)


def test_aware_times_give_aware_outages() -> None:
    points = [replace(p, measurement_start_time=p.measurement_start_time.replace(tzinfo=UTC))
              for p in shutdown_points()]
    naive = find_outages(shutdown_points())
    aware = find_outages(points)
    assert [o.start.tzinfo for o in aware] == [UTC, UTC]
    assert [o.to_json() for o in aware] == [o.to_json() for o in naive]


# --- probes offline: a quiet network whose volume drops to zero ---

OFF_FROM = START + timedelta(days=24, hours=9)
OFF_TO = OFF_FROM + timedelta(hours=8)


def test_quiet_network_falling_silent_is_probes_offline() -> None:
    points = [p for p in stream(39232, hours=28 * 24, rate=lambda _t: 3.0)
              if not OFF_FROM <= p.measurement_start_time < OFF_TO]
    outages = find_outages(points)
    assert kinds(outages) == [(39232, "probes_offline")]
    o = outages[0]
    before = max((p for p in points if p.measurement_start_time < OFF_FROM),
                 key=lambda p: p.measurement_start_time)
    after = min((p for p in points if p.measurement_start_time >= OFF_TO),
                key=lambda p: p.measurement_start_time)
    assert o.start == before.measurement_start_time
    assert o.end == after.measurement_start_time
    assert o.evidence == (before.measurement_uid, after.measurement_uid)
    assert o.facts["volume_ratio"] == 0.0
    assert o.facts["expected"] == pytest.approx(24, abs=6)
    assert o.facts["baseline"] == "hour_of_week"
    assert o.facts["p_value"] < 1e-4
    assert o.confidence > 0.5


def test_silence_up_to_the_end_of_the_window_is_ongoing() -> None:
    points = [p for p in stream(39232, hours=28 * 24, rate=lambda _t: 3.0)
              if p.measurement_start_time < OFF_FROM]
    until = OFF_FROM + timedelta(hours=12)
    assert find_outages(points) == []  # the window ends with the last measurement
    outages = find_outages(points, until=until)
    assert kinds(outages) == [(39232, "probes_offline")]
    assert outages[0].end is None and outages[0].facts["first_after_uid"] is None


def test_past_outages_are_inpainted_and_do_not_drag_the_baseline() -> None:
    # offline every Thursday 09:00-15:00 for three weeks running: without inpainting the
    # median of the same hour-of-week would be 0 by the third week
    def silent(t: datetime) -> bool:
        return t >= START + timedelta(days=7) and t.weekday() == 3 and 9 <= t.hour < 15
    points = [p for p in stream(39232, hours=28 * 24, rate=lambda _t: 4.0)
              if not silent(p.measurement_start_time)]
    outages = find_outages(points)
    assert kinds(outages) == [(39232, "probes_offline")] * 3
    assert [o.start.date() for o in outages] == [
        (START + timedelta(days=d)).date() for d in (10, 17, 24)]
    assert all(o.facts["volume_ratio"] == 0.0 for o in outages)


def test_little_history_falls_back_to_weaker_baselines_with_less_confidence() -> None:
    silent_from = START + timedelta(days=3, hours=10)
    points = [p for p in stream(39232, hours=4 * 24, rate=lambda _t: 6.0)
              if not silent_from <= p.measurement_start_time < silent_from + 6 * HOUR]
    short = find_outages(points)
    assert kinds(short) == [(39232, "probes_offline")]
    assert short[0].facts["baseline"] == "hour_of_day"
    long = [p for p in stream(39232, hours=28 * 24, rate=lambda _t: 6.0)
            if not OFF_FROM <= p.measurement_start_time < OFF_FROM + 6 * HOUR]
    full = find_outages(long)
    assert kinds(full) == [(39232, "probes_offline")]
    assert full[0].facts["baseline"] == "hour_of_week"
    assert short[0].confidence < full[0].confidence


def test_baseline_tiers() -> None:
    per_day = 24
    hist = VolumeHistory(0, per_day, BaselineParams())

    def record(b: int, value: float | None) -> None:
        hist.set(b, value)
        hist.arrived(b, True)
    for b in range(per_day):
        record(b, 10.0)
    assert hist.expected(per_day - 1) is None  # no day of history yet
    assert hist.expected(per_day) == (10.0, "hour_of_day", 1)
    record(per_day, None)  # undecided (an outage in progress): left out
    for b in range(per_day + 1, 2 * per_day):
        record(b, 4.0)
    hist.set(0, None)
    assert hist.expected(2 * per_day) == (4.0, "recent", 23)
    for b in range(2 * per_day, 22 * per_day):
        record(b, 0.0 if b % per_day == 3 else 8.0)
    assert hist.expected(22 * per_day + 3) == (0.0, "hour_of_week", 3)
    for b in range(22 * per_day, 26 * per_day):  # measured now and then only
        hist.set(b, 0.0)
        hist.arrived(b, b % 12 == 0)
    assert hist.active_share(26 * per_day) < 0.5
    assert hist.expected(26 * per_day) is None
    hist.reset(26 * per_day)  # a level shift: the past is forgotten
    assert hist.active_share(26 * per_day) == 0.0


def test_networks_measured_now_and_then_have_no_expected_volume() -> None:
    # a lab replaying a case: a burst of rounds on each phase's date, nothing in between
    bursts = [START + timedelta(days=d, hours=h) for d in (0, 1, 2, 4, 9, 30) for h in (8, 9)]
    points = [p for p in stream(28787, hours=31 * 24, rate=lambda _t: 20.0)
              if p.measurement_start_time.replace(minute=0, second=0) in bursts]
    assert len(points) > 150
    assert find_outages(points) == []


# --- a normal weekly cycle: night lows are no outage ---

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weekly_cycle_with_night_lows_is_no_outage(seed: int) -> None:
    points = [*stream(28787, hours=35 * 24, rate=daily_rate(20), seed=seed),
              *stream(31721, hours=35 * 24, rate=daily_rate(3), seed=seed)]
    assert find_outages(points) == []


def test_night_low_without_history_is_no_outage() -> None:
    # the first nights: the first before there is any baseline, then compared with the
    # previous day's same hour
    points = list(stream(28787, hours=3 * 24 + 5, rate=daily_rate(20)))
    assert find_outages(points) == []


# --- throttling: a throttled period is slow ---

SLOW_FROM = START + timedelta(days=8, hours=14, minutes=40)
SLOW_TO = SLOW_FROM + timedelta(hours=10)
SOCIAL = ("facebook.com", "twitter.com", "instagram.com")


def throttled(t: datetime, domain: str) -> Verdict:
    if SLOW_FROM <= t < SLOW_TO and domain in SOCIAL:
        return ("impaired", "throttling", "throttle.sni", True)
    return ("ok", None, None, True)


def test_throttled_period_is_slow() -> None:
    domains = SOCIAL + SITES[:6]
    points = list(stream(31721, hours=14 * 24, rate=lambda _t: 12.0, verdict=throttled,
                         domains=domains))
    outages = find_outages(points)
    assert kinds(outages) == [(31721, "slow")]
    o = outages[0]
    hit = sorted((p for p in points if p.outcome == "impaired"),
                 key=lambda p: (p.measurement_start_time, p.measurement_uid))
    assert o.start == hit[0].measurement_start_time
    assert o.end == hit[-1].measurement_start_time
    assert o.facts["throttled"] == len(hit)
    assert o.facts["throttled_share"] == 1.0
    assert o.facts["throttled_targets"] == [f"domain:{d}" for d in sorted(SOCIAL)]
    assert o.facts["mechanisms"] == ["throttle.sni"]
    assert set(o.evidence) <= {p.measurement_uid for p in hit}


def _lab_round(asn: int, t: datetime, n: int, *, slow: bool) -> list[VerdictPoint]:
    """One round as the lab's 2020 case measures: Web Connectivity of the social sites (they
    load), then, hours later on the lab clock, the ``throttling`` test's downloads."""
    base = {"probe_cc": "AZ", "probe_asn": asn, "probe_network_name": NAMES[asn],
            "rules_version": "cs-1", "service": None}
    web = [VerdictPoint(measurement_uid=f"w{n}-{d}", measurement_start_time=t, test_name=
                        "web_connectivity", input=f"https://{d}/", domain=d, outcome="ok",
                        layer=None, mechanism=None, control_ok=True, **base)
           for d in SOCIAL]
    down = [VerdictPoint(measurement_uid=f"t{n}-{d}", measurement_start_time=t + 3 * HOUR,
                         test_name="throttling", input=f"https://{d}/download", domain=d,
                         outcome="impaired" if slow else "ok",
                         layer="throttling" if slow else None,
                         mechanism="throttle.sni" if slow else None, control_ok=None, **base)
            for d in SOCIAL[:2]]
    return web + down


def test_web_connectivity_between_throttled_downloads_does_not_end_the_slowdown() -> None:
    """A page that loads says nothing about its speed: only a throughput measurement that is
    not throttled ends a slow episode."""
    points: list[VerdictPoint] = []
    rounds = [(False, 0), (False, 10), (True, 20), (True, 30), (True, 40), (False, 50),
              (False, 60)]
    for n, (slow, hours) in enumerate(rounds):
        points += _lab_round(39232, START + timedelta(days=1, hours=hours), n, slow=slow)
    outages = find_outages(points)
    assert kinds(outages) == [(39232, "slow")]
    hit = sorted(p.measurement_start_time for p in points if p.outcome == "impaired")
    assert (outages[0].start, outages[0].end) == (hit[0], hit[-1])
    assert outages[0].facts["throttled"] == len(hit) == 6


# --- a partial block is not a shutdown ---

BLOCK_FROM = START + timedelta(days=15, hours=3)


def partial_block(t: datetime, domain: str) -> Verdict:
    if t >= BLOCK_FROM and domain in SITES[:8]:
        return ("blocked", "tls", "tls.reset.sni", True)
    return ("ok", None, None, True)


def test_partial_block_is_not_a_shutdown() -> None:
    points = list(stream(197830, hours=21 * 24, rate=daily_rate(15), verdict=partial_block,
                         service=lambda d: "tiktok" if d in SITES[:4] else None))
    assert find_outages(points) == []
    context = find_outages(points, OutageParams(include_blocking=True))
    assert kinds(context) == [(197830, "blocking")]
    o = context[0]
    blocked = sorted((p for p in points if p.outcome == "blocked"),
                     key=lambda p: (p.measurement_start_time, p.measurement_uid))
    assert o.start == blocked[0].measurement_start_time and o.end is None  # ongoing
    assert o.facts["blocked_targets"] == sorted(
        ["service:tiktok", *(f"domain:{d}" for d in SITES[4:8])])
    assert o.facts["service_availability"]["tiktok"] == 0.0
    assert o.facts["targets_working"] == len(SITES) - 8


def test_shutdown_needs_the_control_unreachable() -> None:
    # everything fails but the control answers: that is blocking (or the sites are down)
    def all_blocked(t: datetime, _domain: str) -> Verdict:
        if SHUT_FROM <= t < SHUT_TO:
            return ("blocked", "tcp", "tcp.timeout", True)
        return ("ok", None, None, True)
    points = list(stream(28787, hours=21 * 24, rate=daily_rate(12), verdict=all_blocked))
    assert find_outages(points) == []


def test_bucket_size_is_configurable_and_must_divide_a_day() -> None:
    points = shutdown_points()
    coarse = find_outages(points, OutageParams(bucket=timedelta(hours=6)))
    assert kinds(coarse) == [(28787, "shutdown"), (31721, "shutdown")]
    assert all(o.facts["bucket_seconds"] == 6 * 3600 for o in coarse)
    with pytest.raises(ValueError, match="divide a day"):
        find_outages(points, OutageParams(bucket=timedelta(hours=7)))


def test_no_points_no_outages() -> None:
    assert find_outages([]) == []


def test_poisson_cdf() -> None:
    assert poisson_cdf(0, 3.0) == pytest.approx(math.exp(-3))
    assert poisson_cdf(2, 2.0) == pytest.approx(math.exp(-2) * (1 + 2 + 2))
    assert poisson_cdf(-1, 2.0) == 0.0 and poisson_cdf(5, 0.0) == 1.0
