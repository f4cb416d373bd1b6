"""Series building: domain and service targets, layers, order, and the bundled target map."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from censorscope.model.detection import SeriesKey, VerdictPoint
from censorscope.model.services import Endpoint
from censorscope.pipeline.detect.changepoints import detect_changes
from censorscope.pipeline.detect.series import build_series, readings, targets_of
from censorscope.pipeline.detect.targets import TargetMap

T0 = datetime(2022, 9, 14, 12, 0)


def vp(uid: str, minute: int, domain: str | None, outcome: str = "ok", *,
       layer: str | None = None, service: str | None = None, asn: int = 29049,
       test: str = "web_connectivity") -> VerdictPoint:
    return VerdictPoint(
        measurement_uid=uid, measurement_start_time=T0 + timedelta(minutes=minute),
        probe_cc="AZ", probe_asn=asn, probe_network_name="Delta Telecom", test_name=test,
        input=None if domain is None else f"https://{domain}/", domain=domain, outcome=outcome,
        layer=layer, mechanism=None, rules_version="r1", service=service)


def test_bundled_map_knows_the_tiktok_set_and_the_citizen_lab_names() -> None:
    tmap = TargetMap.bundled()
    assert tmap.services_of("www.tiktok.com") == ("tiktok",)
    assert tmap.services_of("WEBCAST.TIKTOK.COM.") == ("tiktok",)  # from the Citizen Lab list
    assert "www.tiktok.com" in tmap.domains_of("tiktok")
    assert len(tmap.domains_of("tiktok")) >= 20
    assert tmap.services_of("www.example.org") == () and tmap.services_of(None) == ()
    for service in ("whatsapp", "telegram", "signal", "youtube", "facebook"):
        assert tmap.domains_of(service), service


def test_map_from_endpoints_skips_ip_literals_and_merges() -> None:
    tmap = TargetMap.from_endpoints([
        Endpoint("a", "cdn.example.net", 443, "https"),
        Endpoint("b", "cdn.example.net", 443, "tls"),
        Endpoint("a", "192.0.2.1", 443, "tcp")])
    assert dict(tmap) == {"cdn.example.net": ("a", "b")}
    assert tmap.merged([("x.example", "c")]).services_of("x.example") == ("c",)


def test_targets_of_a_point() -> None:
    tmap = TargetMap([("www.tiktok.com", "tiktok")])
    assert targets_of(vp("1", 0, "www.tiktok.com"), tmap) == ("domain:www.tiktok.com",
                                                              "service:tiktok")
    assert targets_of(vp("2", 0, None, service="TikTok", test="service"), tmap) == (
        "service:tiktok",)
    assert targets_of(vp("3", 0, "www.example.org"), tmap) == ("domain:www.example.org",)


def test_series_of_domains_services_and_blocked_layers() -> None:
    tmap = TargetMap([("www.tiktok.com", "tiktok"), ("v16m.tiktokcdn.com", "tiktok")])
    pts = [vp("a", 0, "www.tiktok.com"),
           vp("b", 1, "www.tiktok.com", "blocked", layer="tls"),
           vp("c", 2, "v16m.tiktokcdn.com", "blocked", layer="dns"),
           vp("d", 3, None, "blocked", layer="tls", service="tiktok", test="service"),
           vp("e", 4, "www.tiktok.com", "down"),
           vp("f", 5, "www.example.org", "ok", asn=28787)]
    series = build_series(pts, tmap)
    uids = {(k.target, k.layer, k.probe_asn): [p.measurement_uid for p in v]
            for k, v in series.items()}
    assert uids == {
        ("domain:www.tiktok.com", "*", 29049): ["a", "b", "e"],
        ("domain:www.tiktok.com", "tls", 29049): ["a", "b"],
        ("domain:v16m.tiktokcdn.com", "*", 29049): ["c"],
        ("domain:v16m.tiktokcdn.com", "dns", 29049): ["c"],
        ("service:tiktok", "*", 29049): ["a", "b", "c", "d", "e"],
        # a layer series: blocked at that layer, and the clean points (not other layers')
        ("service:tiktok", "tls", 29049): ["a", "b", "d"],
        ("service:tiktok", "dns", 29049): ["a", "c"],
        ("domain:www.example.org", "*", 28787): ["f"],
    }
    assert list(series) == sorted(series)
    assert SeriesKey("AZ", 29049, "service:tiktok", "*") in series


def test_series_do_not_depend_on_input_order_or_duplicates() -> None:
    tmap = TargetMap([("www.tiktok.com", "tiktok")])
    pts = [vp(f"u{i:03d}", i // 3, "www.tiktok.com", "blocked" if i % 4 else "ok", layer="tls")
           for i in range(60)]
    expect = build_series(pts, tmap)
    mixed = pts + [replace(p, rules_version="r0", outcome="ok", layer=None) for p in pts[::5]]
    random.Random(7).shuffle(mixed)
    assert build_series(mixed, tmap) == expect  # r1 wins over r0 for a measurement


def test_readings_keep_the_clean_points_that_speak_for_the_series() -> None:
    tmap = TargetMap([("www.tiktok.com", "tiktok"), ("cdn.tiktok.test", "tiktok")])
    pts = [vp("a", 0, "www.tiktok.com", test="dns_consistency"),
           vp("b", 1, "www.tiktok.com", test="tls_sni"),
           vp("c", 2, "www.tiktok.com"),
           vp("d", 3, "cdn.tiktok.test"),
           vp("e", 4, None, service="tiktok", test="service"),
           vp("f", 5, "www.tiktok.com", "blocked", layer="tls", test="tls_sni")]
    series = build_series(pts, tmap)

    def read(target: str, layer: str) -> list[tuple[str, int]]:
        key = SeriesKey("AZ", 29049, target, layer)
        got, bits = readings(key, series[key])
        return [(p.measurement_uid, b) for p, b in zip(got, bits, strict=True)]

    # layer-any: not the DNS-only nor the SNI-only clean verdicts
    assert read("domain:www.tiktok.com", "*") == [("c", 0), ("f", 1)]
    # the TLS series: the SNI test's clean verdict speaks for TLS
    assert read("domain:www.tiktok.com", "tls") == [("b", 0), ("c", 0), ("f", 1)]
    # the service: a never-blocked CDN name says nothing; the service measurement does
    assert read("service:tiktok", "*") == [("c", 0), ("e", 0), ("f", 1)]
    assert [p.measurement_uid for p in series[SeriesKey("AZ", 29049, "service:tiktok")]] == [
        "a", "b", "c", "d", "e", "f"]  # the series keep every point


def test_a_service_with_some_domains_blocked_changes_in_the_round_it_switched() -> None:
    """Lab-like rounds: five TikTok names measured each round, two of them blocked from the
    fourth round on; the service's onset is the first blocked measurement of that round."""
    names = [f"n{i}.tiktok.test" for i in range(5)]
    tmap = TargetMap((n, "tiktok") for n in names)
    pts = []
    for rnd in range(8):
        for i, name in enumerate(names):
            blocked = rnd >= 3 and i in (1, 3)
            pts.append(vp(f"r{rnd}-{i}", rnd * 10 + i, name, "blocked" if blocked else "ok",
                          layer="tls" if blocked else None))
    key = SeriesKey("AZ", 29049, "service:tiktok")
    series = build_series(pts, tmap)
    changes = detect_changes(key, series[key], ordered=True)
    # the last clean one before it: of a name that gets blocked (n4 never is: not read)
    assert [(c.kind, c.first_uid, c.last_before_uid) for c in changes] == [
        ("onset", "r3-1", "r2-3")]
    # the same when the domain measurements carry the service's name
    named = [replace(p, service="tiktok") for p in pts]
    assert detect_changes(key, build_series(named, tmap)[key]) == changes
