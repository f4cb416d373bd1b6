"""Incidents from change points: one per (country, target, episode), with scope, the policy
matrix per network, the networks not affected, the SNI matrix and evidence.

The change points here are built directly from the known truth of generated measurement
rounds (the transitions of each series), so what is tested is the clustering alone; the
end-to-end test from verdict points through the change-point detector is at the bottom.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest

from censorscope.model.detection import (
    ChangePoint,
    Incident,
    SeriesKey,
    VerdictPoint,
    domain_target,
    service_target,
)
from censorscope.pipeline.detect.incident_text import technique_label
from censorscope.pipeline.detect.incidents import (
    DETECTOR,
    IncidentParams,
    PointsIndex,
    build_points_index,
    cluster_incidents,
)

T0 = datetime(2022, 9, 14, 0, 0)
ROUND = timedelta(hours=1)
TIKTOK = [
    "www.tiktok.com", "webcast.tiktok.com", "vmweb-va.byteoversea.com", "v16-webapp.tiktok.com",
    "sf16-short-va.bytedapm.com", "sf16-secsdk.ttwstatic.com", "sf16-scmcdn-va.ibytedtos.com",
    "s20.tiktokcdn.com", "p77-va.tiktokcdn.com", "p77-sign-va.tiktokcdn.com",
    "p19-sign.tiktokcdn-us.com", "p16-sign-va.tiktokcdn.com", "mssdk-va.tiktok.com",
    "mon-va.byteoversea.com", "mcs-va.tiktok.com", "lf16-web.tiktokcdn.com",
    "lf16-tiktok-web.ttwstatic.com", "lf16-tiktok-common.ibytedtos.com",
    "lf16-tiktok-web.neutral.ttwstatic.com", "lf16-tiktok-common.ttwstatic.com",
    "p16-sign-sg.tiktokcdn.com", "sf77-ies-music-sg.tiktokcdn.com",
    "p77-sign-sg-lite.tiktokcdn.com", "starling-oversea.byteoversea.com", "m.tiktok.com",
]
CONNECT = [
    "www.tiktok.com", "webcast.tiktok.com", "v16-webapp.tiktok.com", "sf16-secsdk.ttwstatic.com",
    "s20.tiktokcdn.com", "p77-sign-va.tiktokcdn.com", "p16-sign-va.tiktokcdn.com",
    "mon-va.byteoversea.com", "lf16-web.tiktokcdn.com", "lf16-tiktok-common.ibytedtos.com",
    "lf16-tiktok-common.ttwstatic.com", "sf77-ies-music-sg.tiktokcdn.com",
    "starling-oversea.byteoversea.com",
]
AZERCELL = [d for d in TIKTOK if "tiktokcdn" in d or d.endswith(".tiktok.com")]
SNI = "tls.timeout.sni"


@dataclass
class Net:
    """A network of the generated world: which domains it blocks and when."""

    cc: str
    asn: int
    name: str
    blocks: list[tuple[datetime, datetime | None, frozenset[str]]] = field(default_factory=list)
    mechanism: str = SNI
    layer: str = "tls"
    control_ok: bool = True

    def blocked(self, t: datetime, domain: str) -> bool:
        return any(s <= t and (e is None or t < e) and domain in ds for s, e, ds in self.blocks)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def hour(t: datetime | None) -> datetime | None:
    """The round (hour) of ``t``."""
    return None if t is None else t.replace(minute=0, second=0)


def net(cc: str, asn: int, name: str, *blocks: tuple[float, float | None, Iterable[str]],
        **kw: object) -> Net:
    return Net(cc, asn, name, [(at(s), None if e is None else at(e), frozenset(ds))
                               for s, e, ds in blocks], **kw)  # type: ignore[arg-type]


def world(nets: list[Net], domains: list[str], rounds: int, *, service: str | None = "tiktok",
          sni_ip: str = "198.19.20.1", tag: str = "") -> list[VerdictPoint]:
    """Per round: every network measures every domain (web_connectivity) and, when ``service``
    is given, the service (its failing endpoints), plus a tls_sni measurement of the first
    domain with a harmless control name at the same IP. The domains are the service's: its
    web_connectivity and tls_sni points carry it too."""
    points = []
    for r in range(rounds):
        for n in nets:
            t = T0 + r * ROUND + timedelta(seconds=n.asn % 600)
            failing = []
            for i, d in enumerate(domains):
                bad = n.blocked(t, d)
                failing += [d] if bad else []
                points.append(VerdictPoint(
                    f"{tag}wc-{n.cc}-{n.asn}-{r}-{i}", t + timedelta(seconds=i), n.cc, n.asn,
                    n.name, "web_connectivity", f"https://{d}/", d, "blocked" if bad else "ok",
                    n.layer if bad else None, n.mechanism if bad else None, "cs-wc-2",
                    service=service, endpoints=(d,) if bad else (), control_ok=n.control_ok))
            if service:
                points.append(VerdictPoint(
                    f"{tag}svc-{n.cc}-{n.asn}-{r}", t + timedelta(minutes=5), n.cc, n.asn, n.name,
                    "service", service, None, "blocked" if failing else "ok",
                    n.layer if failing else None, n.mechanism if failing else None, "cs-svc-1",
                    service=service, endpoints=tuple(failing), control_ok=n.control_ok))
            first = domains[0]
            bad = n.blocked(t, first)
            points.append(VerdictPoint(
                f"{tag}sni-{n.cc}-{n.asn}-{r}", t + timedelta(minutes=6), n.cc, n.asn, n.name,
                "tls_sni", first, first, "blocked" if bad else "ok", n.layer if bad else None,
                n.mechanism if bad else None, "cs-tls-sni-1", service=service,
                endpoints=(first,) if bad else (), control_ok=n.control_ok,
                handshakes=((sni_ip, first, "generic_timeout_error" if bad else "ok"),
                            (sni_ip, "www.example.org", "ok"))))
    return points


def series_of(points: list[VerdictPoint], services: dict[str, list[str]] | None = None,
              *, layers: bool = True) -> dict[SeriesKey, list[VerdictPoint]]:
    """Series as detection groups them: per domain target and service target (the point's
    service, or the services its domain belongs to), layer "*" and the blocked layer."""
    series: dict[SeriesKey, list[VerdictPoint]] = {}
    for p in points:
        targets = [domain_target(p.domain)] if p.domain else []
        names = {p.service} if p.service else set()
        names.update((services or {}).get(p.domain or "", ()))
        targets += [service_target(n) for n in sorted(names)]
        for target in targets:
            keys = [SeriesKey(p.probe_cc, p.probe_asn, target)]
            if layers and p.outcome == "blocked" and p.layer:
                keys.append(SeriesKey(p.probe_cc, p.probe_asn, target, p.layer))
            for k in keys:
                series.setdefault(k, []).append(p)
    for ps in series.values():
        ps.sort(key=lambda p: (p.measurement_start_time, p.measurement_uid))
    return series


def changes_of(points: list[VerdictPoint], services: dict[str, list[str]] | None = None, *,
               layers: bool = True) -> list[ChangePoint]:
    """The change points of the truth: in every series (:func:`series_of`) an onset at each
    clean -> blocked step and an offset at each blocked -> clean step (a series starting
    blocked gets an onset without a last clean)."""
    series = series_of(points, services, layers=layers)
    out = []
    for key, ps in series.items():
        state, last = "ok", None
        for p in ps:
            now = "blocked" if p.outcome == "blocked" else "ok"
            if now != state:
                out.append(ChangePoint(
                    key, "onset" if now == "blocked" else "offset", p.measurement_start_time,
                    p.measurement_uid, last.measurement_uid if last else None,
                    last.measurement_start_time if last else None, 0.9,
                    (p.mechanism,) if p.mechanism else (), p.endpoints, "truth-1"))
                state = now
            last = p
    return out


def az_tiktok() -> list[Net]:
    return [
        net("AZ", 29049, "Delta Telecom Ltd", (12.2, None, TIKTOK)),
        net("AZ", 41997, "Connect CJSC", (17.9, None, CONNECT)),
        net("AZ", 31721, "Azercell Telecom", (36.7, None, AZERCELL)),
        net("AZ", 28787, "Aztelekom LLC"),
        net("AZ", 197830, "BAKCELL LLC"),
    ]


def detect(points: list[VerdictPoint], **kw: object) -> list[Incident]:
    return cluster_incidents(changes_of(points), build_points_index(points), **kw)  # type: ignore[arg-type]


def test_tiktok_in_az_is_one_incident_with_the_policy_matrix() -> None:
    points = world(az_tiktok(), TIKTOK, 48)
    changes = changes_of(points)
    assert len(changes) > 100  # the alert storm a per-series detector would raise
    [inc] = cluster_incidents(changes, build_points_index(points))
    assert (inc.cc, inc.target, inc.scope, inc.end) == ("AZ", "service:tiktok", "several_isps",
                                                         None)
    assert [n.asn for n in inc.networks] == [29049, 41997, 31721]
    assert inc.not_affected == (28787, 197830)
    # onsets: the first round at or after each network's switch (rounds are hourly)
    delta, connect, azercell = inc.networks
    assert hour(delta.onset) == at(13)
    assert hour(connect.onset) == at(18)
    assert hour(azercell.onset) == at(37)
    assert inc.start == delta.onset
    assert delta.first_blocked_uid == "wc-AZ-29049-13-0"
    assert delta.last_clean_uid == "sni-AZ-29049-12"
    assert delta.as_name == "Delta Telecom Ltd"
    assert set(delta.endpoints) == set(TIKTOK)
    assert set(connect.endpoints) == set(CONNECT)
    assert set(azercell.endpoints) == set(AZERCELL)
    assert all(n.techniques == (SNI,) and n.offset is None for n in inc.networks)
    assert inc.title == "TikTok blocked on 3 networks in AZ (TLS, server name)"
    assert inc.detector == f"{DETECTOR} / truth-1"
    assert 0.99 < inc.confidence <= 1.0
    # the SNI matrix: the TikTok name fails where it is blocked, the harmless one passes
    cells = {(c.asn, c.server_name): c.result for c in inc.sni_matrix}
    assert cells[(29049, "www.tiktok.com")] == "generic_timeout_error"
    assert cells[(29049, "www.example.org")] == "ok"
    assert cells[(28787, "www.tiktok.com")] == "ok"
    assert {c.asn for c in inc.sni_matrix} == {29049, 41997, 31721, 28787, 197830}
    # evidence: last clean, first blocked and latest blocked per network, one clean per other
    assert inc.evidence[:3] == ("sni-AZ-29049-12", "wc-AZ-29049-13-0", "sni-AZ-29049-47")
    assert "sni-AZ-28787-47" in inc.evidence and "sni-AZ-197830-47" in inc.evidence
    doc = inc.to_json()
    assert doc["networks"][0]["asn"] == 29049 and doc["end"] is None
    assert doc["id"] == inc.id


def test_same_points_in_any_order_give_the_same_incidents() -> None:
    points = world(az_tiktok(), TIKTOK, 40)
    changes = changes_of(points)
    first = [i.to_json() for i in cluster_incidents(changes, build_points_index(points))]
    rng = random.Random(7)
    for _ in range(3):
        rng.shuffle(points)
        rng.shuffle(changes)
        again = [i.to_json() for i in cluster_incidents(changes, build_points_index(points))]
        assert again == first


def test_a_national_block_of_20_networks_and_30_domains_is_one_national_incident() -> None:
    domains = [f"e{i}.video.example" for i in range(30)]
    nets = [net("IR", 1000 + i, f"ISP {i}", (5 + i / 4, None, domains)) for i in range(20)]
    points = world(nets, domains, 12, service="video")
    changes = changes_of(points)
    assert len(changes) > 20 * 30
    [inc] = cluster_incidents(changes, build_points_index(points))
    assert (inc.target, inc.scope, len(inc.networks)) == ("service:video", "national", 20)
    assert inc.not_affected == ()
    assert inc.title == ("Video blocked nationally in IR: all 20 measured networks"
                         " (TLS, server name)")


def test_one_clean_network_makes_it_several_isps_not_national() -> None:
    domains = ["a.example", "b.example"]
    nets = [net("IR", 1, "One", (3, None, domains)), net("IR", 2, "Two", (3, None, domains)),
            net("IR", 3, "Three")]
    [inc] = detect(world(nets, domains, 8, service="video"))
    assert inc.scope == "several_isps" and inc.not_affected == (3,)


def test_block_lifted_for_long_and_imposed_again_is_two_incidents() -> None:
    nets = [net("AM", 44395, "Ucom", (5, 20, ["www.tiktok.com"]), (120, None, ["www.tiktok.com"]))]
    first, second = detect(world(nets, ["www.tiktok.com"], 150))
    assert first.end is not None and hour(first.end) == at(20)
    assert first.networks[0].offset == first.end
    assert second.end is None and hour(second.start) == at(120)
    assert first.id != second.id and first.scope == "one_isp"
    assert first.title == "TikTok blocked on Ucom (AS44395) in AM (TLS, server name)"


def test_a_short_lift_stays_one_incident_and_the_gap_is_a_parameter() -> None:
    nets = [net("AM", 44395, "Ucom", (5, 20, ["www.tiktok.com"]), (30, 40, ["www.tiktok.com"]))]
    points = world(nets, ["www.tiktok.com"], 60)
    [inc] = detect(points)
    assert hour(inc.start) == at(5) and inc.end is not None
    assert hour(inc.end) == at(40)
    assert len(detect(points, params=IncidentParams(episode_gap=timedelta(hours=2)))) == 2


def test_the_incident_ends_at_the_last_offset_when_every_network_has_one() -> None:
    domains = ["x.example"]
    nets = [net("BY", 1, "A", (2, 10, domains)), net("BY", 2, "B", (4, 14, domains)),
            net("BY", 3, "C", (6, None, domains))]
    points = world(nets, domains, 30, service=None)
    [inc] = detect(points)
    assert inc.end is None and inc.target == "domain:x.example"
    [ended] = detect([p for p in points if p.probe_asn != 3])
    assert ended.end is not None and hour(ended.end) == at(14)
    assert ended.id == stable_id_of(ended)


def stable_id_of(inc: Incident) -> str:
    # re-running gives the same id: derived from content only
    again = Incident(inc.cc, inc.target, inc.scope, inc.start, inc.end, 0.0, ())
    return again.id


def test_layer_series_without_an_offset_do_not_keep_an_incident_open() -> None:
    nets = [net("AM", 44395, "Ucom", (5, 20, ["www.tiktok.com"]))]
    points = world(nets, ["www.tiktok.com"], 30)
    changes = [c for c in changes_of(points)
               if not (c.kind == "offset" and c.key.layer != "*")]
    [inc] = cluster_incidents(changes, build_points_index(points))
    assert inc.end is not None


def test_techniques_differ_per_network_in_one_incident() -> None:
    domains = ["www.tiktok.com", "m.tiktok.com"]
    nets = [net("AM", 44395, "Ucom", (3, None, domains), mechanism="dns.nxdomain", layer="dns"),
            net("AM", 43733, "Vivacom", (4, None, domains), mechanism="dns.injection.other",
                layer="dns")]
    [inc] = detect(world(nets, domains, 10))
    assert {n.asn: n.techniques for n in inc.networks} == {
        44395: ("dns.nxdomain",), 43733: ("dns.injection.other",)}
    assert inc.title.endswith("(DNS, NXDOMAIN; DNS, forged answer)")


def test_server_side_when_the_control_fails_too() -> None:
    domains = ["down.example"]
    nets = [net("AZ", 1, "A", (3, None, domains), control_ok=False),
            net("AZ", 2, "B", (3, None, domains), control_ok=False)]
    [inc] = detect(world(nets, domains, 8, service=None))
    assert inc.scope == "server_side"
    assert "the control fails too" in inc.title


def test_server_side_when_other_countries_fail_too_but_not_for_one_other_censor() -> None:
    domains = ["x.example"]
    az = [net("AZ", 1, "A", (3, None, domains)), net("AZ", 2, "B", (3, None, domains))]
    everywhere = [*az, net("DE", 10, "DE", (3, None, domains)),
                  net("US", 11, "US", (3, None, domains))]
    incidents = detect(world(everywhere, domains, 8, service=None))
    assert {i.cc: i.scope for i in incidents} == {"AZ": "server_side", "DE": "server_side",
                                                   "US": "server_side"}
    one_censor = [*az, net("IR", 30, "IR", (3, None, domains)), net("DE", 31, "DE"),
                  net("US", 32, "US"), net("FR", 33, "FR")]
    scopes = {i.cc: i.scope for i in detect(world(one_censor, domains, 8, service=None))}
    assert scopes == {"AZ": "national", "IR": "one_isp"}


def test_a_network_with_some_blocking_but_no_change_point_is_neither_listed() -> None:
    domains = ["a.example", "b.example"]
    nets = [net("KZ", 1, "One", (3, None, domains)), net("KZ", 2, "Two", (3, None, domains)),
            net("KZ", 3, "Flaky", (3, None, ["a.example"]))]
    points = world(nets, domains, 8, service="video")
    changes = [c for c in changes_of(points) if c.key.probe_asn != 3]
    [inc] = cluster_incidents(changes, build_points_index(points))
    assert inc.not_affected == () and inc.scope == "several_isps"


def test_unrelated_domains_are_separate_incidents_and_an_index_is_optional() -> None:
    nets = [net("RU", 1, "One", (3, None, ["a.example", "b.example"]))]
    points = world(nets, ["a.example", "b.example"], 6, service=None)
    bare = cluster_incidents(changes_of(points))
    assert [(i.target, i.networks[0].as_name) for i in bare] == [
        ("domain:a.example", ""), ("domain:b.example", "")]
    assert [i.target for i in detect(points)] == ["domain:a.example", "domain:b.example"]


def test_endpoint_sets_given_to_the_index_fold_domains_into_the_service() -> None:
    nets = [net("RU", 1, "One", (3, None, ["a.example", "b.example"]))]
    points = world(nets, ["a.example", "b.example"], 6, service=None)
    index = build_points_index(points, {"a.example": ["demo"], "b.example": ["demo"]})
    [inc] = cluster_incidents(changes_of(points), index)
    assert inc.target == "service:demo"
    assert inc.networks[0].endpoints == ("a.example", "b.example")


@pytest.mark.parametrize(("mechanism", "label"), [
    ("tls.timeout.sni", "TLS, server name"), ("tls.reset", "TLS"), ("tcp.reset", "TCP/IP"),
    ("dns.injection.bogon", "DNS, forged answer"), ("http.blockpage", "HTTP, block page"),
    ("throttle.sni", "throttling, server name"), ("dns", "DNS"), ("odd.thing", "odd.thing"),
])
def test_technique_labels(mechanism: str, label: str) -> None:
    assert technique_label(mechanism) == label


def test_the_index_over_built_series_gives_the_same_incidents() -> None:
    services = {d: ["tiktok"] for d in TIKTOK}
    points = world(az_tiktok(), TIKTOK, 40)
    changes = changes_of(points, services)
    from_points = cluster_incidents(changes, build_points_index(points, services))
    index = PointsIndex.from_series(series_of(points, services), services)
    from_series = cluster_incidents(changes, index)
    assert [i.to_json() for i in from_series] == [i.to_json() for i in from_points]
    assert len(from_series) == 1 and from_series[0].not_affected == (28787, 197830)


def test_services_restricted_together_are_one_incident_with_a_technique_per_isp() -> None:
    apps = {"facebook": ["www.facebook.com", "graph.facebook.com"],
            "youtube": ["www.youtube.com"], "whatsapp": ["web.whatsapp.com"]}
    every = [d for ds in apps.values() for d in ds]
    nets = [net("AZ", 28787, "Baktelekom", (50, 900, every), mechanism="tls.reset.sni"),
            net("AZ", 31721, "Azercell", (50, 900, every), mechanism="tls.timeout.sni"),
            net("AZ", 197830, "BAKCELL LLC", (50, 900, every), mechanism="dns.injection.other",
                layer="dns"),
            net("AZ", 39232, "Uninet")]
    points = [p for i, (name, ds) in enumerate(apps.items())
              for p in world(nets, ds, 100, service=name, tag=f"{i}")]
    changes = changes_of(points)
    [inc] = cluster_incidents(changes, build_points_index(points))
    assert inc.target == "services:facebook+whatsapp+youtube"
    assert (inc.scope, inc.not_affected) == ("several_isps", (39232,))
    assert {n.asn: n.techniques for n in inc.networks} == {
        28787: ("tls.reset.sni",), 31721: ("tls.timeout.sni",), 197830: ("dns.injection.other",)}
    assert set(inc.networks[0].endpoints) == set(every)
    assert inc.title.startswith("Facebook, WhatsApp and YouTube blocked on 3 networks in AZ (")
    separate = cluster_incidents(changes, build_points_index(points),
                                 params=IncidentParams(merge_services=False))
    assert sorted(i.target for i in separate) == [
        "service:facebook", "service:whatsapp", "service:youtube"]


def test_services_blocked_apart_in_time_or_on_other_networks_stay_apart() -> None:
    fb, yt = ["www.facebook.com"], ["www.youtube.com"]
    later = [net("AZ", 1, "A", (5, None, fb)), net("AZ", 2, "B", (5, None, fb))]
    points = world(later, fb, 30, service="facebook", tag="f")
    later_yt = [net("AZ", 1, "A", (12, None, yt)), net("AZ", 2, "B", (12, None, yt))]
    points += world(later_yt, yt, 30, service="youtube", tag="y")
    assert sorted(i.target for i in detect(points)) == ["service:facebook", "service:youtube"]
    elsewhere = [net("AZ", 1, "A", (5, None, yt)), net("AZ", 2, "B")]
    points = world(later, fb, 30, service="facebook", tag="f")
    points += world(elsewhere, yt, 30, service="youtube", tag="y")
    assert sorted(i.target for i in detect(points)) == ["service:facebook", "service:youtube"]


def noisy(points: list[VerdictPoint], share: float, seed: int) -> list[VerdictPoint]:
    """``points`` with a ``share`` of flaky outcomes: a clean measurement failing
    (``tcp.timeout`` at a name it measured), a blocked one passing."""
    rng = random.Random(seed)
    out = []
    for p in points:
        if rng.random() >= share:
            out.append(p)
        elif p.outcome == "ok":
            name = p.domain or rng.choice(TIKTOK)
            out.append(replace(p, outcome="blocked", layer="tcp", mechanism="tcp.timeout",
                               endpoints=(name,)))
        else:
            out.append(replace(p, outcome="ok", layer=None, mechanism=None, endpoints=()))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_end_to_end_from_verdict_points_through_the_change_point_detector(seed: int) -> None:
    from censorscope.pipeline.detect.changepoints import detect_changes
    from censorscope.pipeline.detect.series import build_series
    from censorscope.pipeline.detect.targets import bundled_targets

    tmap = bundled_targets()
    assert set(TIKTOK) <= {d for d in tmap if "tiktok" in tmap[d]}
    points = noisy(world(az_tiktok(), TIKTOK, 72), 0.02, seed=seed)
    series = build_series(points, tmap)
    changes = [cp for key, members in series.items() for cp in detect_changes(key, members)]
    [inc] = cluster_incidents(changes, PointsIndex.from_series(series, tmap))
    assert (inc.target, inc.scope, inc.end) == ("service:tiktok", "several_isps", None)
    assert [n.asn for n in inc.networks] == [29049, 41997, 31721]
    assert inc.not_affected == (28787, 197830)
    for n, switch in zip(inc.networks, (12.2, 17.9, 36.7), strict=True):
        assert abs(n.onset - at(switch)) <= 1.2 * ROUND  # within one measurement round
        assert n.techniques == (SNI,)
    assert [set(n.endpoints) for n in inc.networks] == [set(TIKTOK), set(CONNECT), set(AZERCELL)]
    assert inc.title == "TikTok blocked on 3 networks in AZ (TLS, server name)"
    again = cluster_incidents(changes, build_points_index(points, tmap))
    assert [i.to_json() for i in again] == [inc.to_json()]


def test_a_blip_of_flaky_failures_is_not_an_affected_network() -> None:
    domains = ["a.example", "b.example"]
    nets = [net("KZ", 1, "One", (3, None, domains)), net("KZ", 2, "Two")]
    points = world(nets, domains, 12, service="video")
    flaky = {"wc-KZ-2-6-0", "wc-KZ-2-7-0"}  # two failures in a row, then clean again
    points = [replace(p, outcome="blocked", layer="tcp", mechanism="tcp.timeout",
                      endpoints=(p.domain or "",)) if p.measurement_uid in flaky else p
              for p in points]
    changes = changes_of(points)
    assert any(c.key.probe_asn == 2 and c.kind == "onset" for c in changes)
    [inc] = cluster_incidents(changes, build_points_index(points))
    assert [n.asn for n in inc.networks] == [1] and inc.not_affected == (2,)
    kept = cluster_incidents(changes, build_points_index(points),
                             params=IncidentParams(min_blocked=1, min_blocked_share=0.0))
    assert [n.asn for n in kept[0].networks] == [1, 2]


def test_a_measurement_scored_twice_counts_once_with_its_latest_rules() -> None:
    points = world(az_tiktok(), TIKTOK, 40)
    stale = [replace(p, outcome="blocked", layer="tcp", mechanism="tcp.timeout",
                     rules_version="cs-wc-1") for p in points
             if p.probe_asn == 28787 and p.rules_version == "cs-wc-2"]
    index = build_points_index([*stale, *points])
    [inc] = cluster_incidents(changes_of(points), index)
    assert inc.not_affected == (28787, 197830)
    assert all(p.rules_version != "cs-wc-1"
               for ps in index.window("service:tiktok", "AZ", T0, None).values() for p in ps)


def test_a_service_measurement_stored_with_its_input_as_domain_is_no_domain_incident() -> None:
    services = {d: ["tiktok"] for d in TIKTOK}
    points = [replace(p, domain="tiktok") if p.test_name == "service" else p
              for p in world(az_tiktok(), TIKTOK, 40)]
    changes = changes_of(points, services)
    assert any(c.key.target == "domain:tiktok" for c in changes)
    [inc] = cluster_incidents(changes, PointsIndex.from_series(series_of(points, services),
                                                               services))
    assert inc.target == "service:tiktok" and "tiktok" not in inc.networks[0].endpoints


def test_the_title_says_tls_once_when_the_server_name_is_shown() -> None:
    points = world([net("AZ", 1, "A", (3, None, ["www.tiktok.com"]))], ["www.tiktok.com"], 8)
    points = [replace(p, mechanism="tls.timeout") if p.test_name == "service" and
              p.outcome == "blocked" else p for p in points]
    [inc] = detect(points)
    assert set(inc.networks[0].techniques) == {"tls.timeout", SNI}
    assert inc.title == "TikTok blocked on A (AS1) in AZ (TLS, server name)"
