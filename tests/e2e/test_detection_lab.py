"""Acceptance of detection in the lab: the seed cases replayed, measured, stored and detected.

Each test brings a case's lab up, walks it through its phases with probes measuring a few
rounds from every ISP at once (``roundkit.run_rounds``; the lab clock stamps the measurements
with the case's dates), then ingests the JSONL into a fresh DuckDB store, re-scores it
(``reprocess --lab``), runs ``censorscope detect`` and reads ``censorscope incidents
--format json`` / ``outages --format json`` — all real commands — and checks the story:

- ``az-2022-tiktok``: one TikTok incident across Delta, Connect and Azercell, each network's
  onset within one round of its phase switch and in that order, TLS interference by server
  name, each network's own endpoint list; Aztelekom and Bakcell not affected.
- ``am-2022-tiktok``: Ucom by DNS NXDOMAIN, MTS by a DNS lie and a TLS failure.
- ``az-2020-war``: the services restriction as one incident with a technique per ISP, the
  shutdown as an outage (not as blocked sites), the throttled phase as throttling.

Expectations come from the scenario files (the policies of each phase), not from the code
under test.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from censorscope.demo.cases import WAR_OPEN
from censorscope.lab import scenarios
from censorscope.lab.schema import Scenario
from tests.e2e.labkit import requires_root
from tests.e2e.roundkit import Rounds, StoreRun
from tests.e2e.seedcases import (
    AZ_ONSET_PHASE,
    AZ_PHASES,
    ROUNDS,
)

pytestmark = [requires_root, pytest.mark.lab, pytest.mark.slow]



def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _network(incident: dict[str, Any], asn: int) -> dict[str, Any]:
    found: list[dict[str, Any]] = [n for n in incident["networks"] if n["asn"] == asn]
    assert len(found) == 1, f"AS{asn} in {incident['networks']}"
    return found[0]


def _about(incident: dict[str, Any], word: str) -> bool:
    return word in incident["target"].lower() or word in incident["title"].lower()


# --------------------------------------------------------------------- az-2022-tiktok
def _onset_within_first_round(rounds: Rounds, phase: str, isp: str, onset: datetime) -> None:
    """The onset is the time of one of the ISP's measurements in the phase's first round, at
    or after the phase began (by the case's date), and after every measurement before it."""
    starts = scenarios.load("az-2022-tiktok").phases[phase].starts_at
    assert starts is not None
    first = rounds.times(phase, 0, isp)
    assert starts.replace(tzinfo=None) <= onset <= max(first), (phase, isp, onset, first)
    previous = AZ_PHASES[AZ_PHASES.index(phase) - 1]
    assert onset > max(rounds.times(previous, ROUNDS - 1, isp))


def _service_incident(run: StoreRun, cc: str, service: str) -> dict[str, Any]:
    found = [i for i in run.incidents if i["cc"] == cc and i["target"] == f"service:{service}"]
    assert len(found) == 1, [(i["target"], i["title"]) for i in run.incidents]
    return found[0]


def test_az_2022_tiktok_lab_clock_dates_the_measurements(
    az_tiktok: tuple[Rounds, StoreRun],
) -> None:
    rounds, _ = az_tiktok
    for m in rounds.all():
        assert m["measurement_start_time"].startswith("2022-09-1"), m["measurement_start_time"]
        assert m["annotations"]["lab_clock"] == "az-2022-tiktok"
        assert m["annotations"]["lab_real_measurement_start_time"] > "2025"
    for isp in AZ_ONSET_PHASE:
        assert min(rounds.times("blocked-delta", 0, isp)) >= datetime(2022, 9, 14, 12, 11)
        assert max(rounds.times("before", ROUNDS - 1, isp)) < datetime(2022, 9, 14, 12, 11)


def test_az_2022_tiktok_three_networks_in_order_by_server_name(
    az_tiktok: tuple[Rounds, StoreRun],
) -> None:
    rounds, run = az_tiktok
    sc = scenarios.load("az-2022-tiktok")
    asn = {i.name: i.asn for i in sc.isps}
    blocked_names = {p.isp: set(p.sni) for p in sc.phases["blocked-all"].policies}
    inc = _service_incident(run, "AZ", "tiktok")
    assert inc["scope"] == "several_isps"
    assert inc["end"] is None, "still blocked at the end of the case"
    assert {n["asn"] for n in inc["networks"]} == {asn[i] for i in AZ_ONSET_PHASE}
    assert sorted(inc["not_affected"]) == sorted([asn["aztel"], asn["bakcell"]])
    assert _t(inc["start"]) == min(_t(n["onset"]) for n in inc["networks"])

    onsets = {}
    for isp, phase in AZ_ONSET_PHASE.items():
        net = _network(inc, asn[isp])
        onsets[isp] = _t(net["onset"])
        _onset_within_first_round(rounds, phase, isp, onsets[isp])
        assert net["first_blocked_uid"] and net["last_clean_uid"]
        # TLS interference triggered by the server name
        assert "tls.timeout.sni" in net["techniques"], net["techniques"]
        assert all(t.startswith("tls") for t in net["techniques"]), net["techniques"]
        # the network's own list of blocked endpoints, as the scenario defines it
        assert set(net["endpoints"]) == blocked_names[isp], (isp, net["endpoints"])
    assert onsets["delta"] < onsets["connect"] < onsets["azercell"]
    assert len({frozenset(v) for v in blocked_names.values()}) == 3  # three different lists

    # the SNI matrix shows the name, not the address: an address that fails with a TikTok
    # name on a blocking network
    cells = inc["sni_matrix"]
    assert cells and all(c["asn"] in {asn[i] for i in AZ_ONSET_PHASE} for c in cells)
    assert {c["server_name"] for c in cells if c["result"] != "ok"} <= set().union(
        *blocked_names.values())
    assert not [o for o in run.outages if o["kind"] == "shutdown"], run.outages


def test_az_2022_tiktok_is_exactly_one_incident(az_tiktok: tuple[Rounds, StoreRun]) -> None:
    """No other incident about TikTok (per domain, per input) and none at all besides: the
    harmless name on the same CDN address is not blocked."""
    _, run = az_tiktok
    tiktok = [i for i in run.incidents if i["cc"] == "AZ" and _about(i, "tiktok")]
    assert len(tiktok) == 1, [(i["target"], i["title"]) for i in tiktok]
    assert [i["target"] for i in run.incidents if i["cc"] == "AZ"] == ["service:tiktok"]


# --------------------------------------------------------------------- am-2022-tiktok



def test_am_2022_tiktok_nxdomain_on_ucom_dns_lie_and_tls_on_mts(
    am_tiktok: tuple[Rounds, StoreRun],
) -> None:
    rounds, run = am_tiktok
    sc = scenarios.load("am-2022-tiktok")
    asn = {i.name: i.asn for i in sc.isps}
    assert all(m["measurement_start_time"].startswith("2022-09-13") for m in rounds.all())
    inc = _service_incident(run, "AM", "tiktok")
    assert inc["scope"] == "several_isps"
    assert {n["asn"] for n in inc["networks"]} == {asn["ucom"], asn["mts"]}
    assert sorted(inc["not_affected"]) == sorted([asn["telarm"], asn["gnc"]])

    ucom, mts = _network(inc, asn["ucom"]), _network(inc, asn["mts"])
    assert ucom["techniques"] == ["dns.nxdomain"], ucom["techniques"]
    lies = [t for t in mts["techniques"] if t.startswith("dns.") and t != "dns.nxdomain"]
    tls = [t for t in mts["techniques"] if t.startswith("tls.")]
    assert lies and tls, mts["techniques"]
    # onsets: Ucom at 12:03, MTS at 12:05 (the case's dates), each within its first round
    for isp, phase in (("ucom", "blocked-ucom"), ("mts", "blocked")):
        starts = sc.phases[phase].starts_at
        assert starts is not None
        onset = _t(_network(inc, asn[isp])["onset"])
        assert starts.replace(tzinfo=None) <= onset <= max(rounds.times(phase, 0, isp)), (
            isp, onset)
    assert _t(ucom["onset"]) < _t(mts["onset"])


def test_am_2022_tiktok_is_exactly_one_incident(am_tiktok: tuple[Rounds, StoreRun]) -> None:
    _, run = am_tiktok
    tiktok = [i for i in run.incidents if i["cc"] == "AM" and _about(i, "tiktok")]
    assert len(tiktok) == 1, [(i["target"], i["title"]) for i in tiktok]
    assert [i["target"] for i in run.incidents if i["cc"] == "AM"] == ["service:tiktok"]


# --------------------------------------------------------------------- az-2020-war
def _phase_window(sc: Scenario, rounds: Rounds, phase: str,
                  isp: str) -> tuple[datetime, datetime]:
    """When a change in ``phase`` may be dated on ``isp``: from the phase's date to the last
    measurement of its first round."""
    starts = sc.phases[phase].starts_at
    assert starts is not None
    return starts.replace(tzinfo=None), max(rounds.times(phase, 0, isp))


def _war() -> tuple[Scenario, dict[str, int], set[str], set[str]]:
    """The scenario, its ASNs, the ISPs that block (and shut down), the ISPs that do not."""
    sc = scenarios.load("az-2020-war")
    asn = {i.name: i.asn for i in sc.isps}
    blocking = {p.isp for p in sc.phases["blocked"].policies}
    shut = {p.isp for p in sc.phases["shutdown"].policies if p.kind == "shutdown"}
    [throttle] = [p for p in sc.phases["throttled"].policies if p.kind == "throttle"]
    assert blocking == shut and set(asn) - blocking == {"uninet"} and throttle.isp == "*"
    return sc, asn, blocking, set(asn) - blocking


def test_az_2020_war_services_restriction_is_one_incident(
    az_war: tuple[Rounds, StoreRun],
) -> None:
    rounds, run = az_war
    sc, asn, blocking, _ = _war()
    assert all(m["measurement_start_time"].startswith("2020-") for m in rounds.all())
    az = [i for i in run.incidents if i["cc"] == "AZ"]

    # the services restriction: one incident, the three blocking networks, each its technique
    [inc] = az
    assert {n["asn"] for n in inc["networks"]} == {asn[i] for i in blocking}
    for name in ("facebook", "instagram", "whatsapp", "youtube"):
        assert name in inc["target"], inc["target"]
    families = {}
    for isp in blocking:
        net = _network(inc, asn[isp])
        low, high = _phase_window(sc, rounds, "blocked", isp)
        assert low <= _t(net["onset"]) <= high, (isp, net["onset"])
        families[isp] = {".".join(t.split(".")[:2]) for t in net["techniques"]}
        assert set(net["endpoints"]) >= {"www.facebook.com", "www.instagram.com",
                                         "www.whatsapp.com"}, net["endpoints"]
        assert not set(net["endpoints"]) & set(WAR_OPEN), net["endpoints"]
    assert "tls.reset" in families["baktel"] and "tls.timeout" not in families["baktel"]
    assert "tls.timeout" in families["azercell"] and "tls.reset" not in families["azercell"]
    assert any(f.startswith(("dns.", "http.")) for f in families["bakcell"]), families
    assert not any(f.startswith("tls.") for f in families["bakcell"]), families



def _shutdowns(run: StoreRun, asn: int) -> list[dict[str, Any]]:
    return [o for o in run.outages if o["asn"] == asn and o["kind"] == "shutdown"]


def test_az_2020_war_shutdown_is_an_outage_not_blocked_sites(
    az_war: tuple[Rounds, StoreRun],
) -> None:
    """An outage per network that shuts down (none on the one that stays up); no incident
    network starts in the shutdown, and the names that are never blocked stay out."""
    _, run = az_war
    sc, asn, shut, open_isps = _war()
    shutdown_at = sc.phases["shutdown"].starts_at
    assert shutdown_at is not None
    for isp in shut:
        assert len(_shutdowns(run, asn[isp])) == 1, (isp, run.outages)
    for isp in open_isps:
        assert _shutdowns(run, asn[isp]) == []
    az = [i for i in run.incidents if i["cc"] == "AZ"]
    assert all(_t(n["onset"]) < shutdown_at.replace(tzinfo=None)
               for i in az for n in i["networks"]), az
    assert not [i for i in az for n in i["networks"] if set(n["endpoints"]) & set(WAR_OPEN)]


def test_az_2020_war_shutdown_is_dated_to_its_phase(az_war: tuple[Rounds, StoreRun]) -> None:
    """Each shutdown starts when the network went dark: at or after the phase's date, by the
    first round measured in it (not at the blocked measurements before it)."""
    rounds, run = az_war
    sc, asn, shut, _ = _war()
    for isp in shut:
        [outage] = _shutdowns(run, asn[isp])
        low, high = _phase_window(sc, rounds, "shutdown", isp)
        assert low <= _t(outage["start"]) <= high, (isp, outage["start"], low, high)


def test_az_2020_war_throttled_phase_is_throttling(az_war: tuple[Rounds, StoreRun]) -> None:
    rounds, run = az_war
    sc, asn, _, _ = _war()
    # the throttled phase as throttling: slow on the network that does not block (on the
    # others the blocks come first), dated to the phase
    slow = [o for o in run.outages if o["kind"] == "slow"]
    assert [o["asn"] for o in slow] == [asn["uninet"]], slow
    low, high = _phase_window(sc, rounds, "throttled", "uninet")
    assert low <= _t(slow[0]["start"]) <= high, slow[0]
    assert any(m.startswith("throttle.") for m in slow[0]["facts"].get("mechanisms", [])), slow
