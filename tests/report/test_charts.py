"""The report's charts: each ChartData part drawn to an SVG that parses, keeps its text as text,
carries every series in its own ``series-<slug>`` group with a visible mark, states the data's
numbers in its alt text, and is the same bytes for the same data."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from censorscope.report.chartdata import (
    AsnEndpointGrid,
    ChartData,
    CoverageSeries,
    DnsAnswers,
    FailuresByName,
    SniMatrix,
)
from censorscope.report.charts import (
    CHART_NAMES,
    Chart,
    chart_png,
    draw_chart,
    draw_charts,
    series_gids,
    slug,
)
from censorscope.report.dnschart import segments
from censorscope.report.timecharts import MAX_LINES, OTHER_NAMES

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2022, 9, 14, 6)
NETWORKS = [(29049, "Delta Telecom Ltd"), (41997, "Connect CJSC"), (31721, "Azercell Telecom"),
            (28787, "Aztelekom LLC")]
TIKTOK = ["www.tiktok.com", "m.tiktok.com", "v16-webapp.tiktok.com",
          "lf16-tiktok-web.neutral.ttwstatic.com"]
CONTROL = "www.example.org"
IPS = ["198.19.20.1", "198.19.20.2", "198.19.20.3"]


# ----------------------------------------------------------------------------- the data

def hours(n: int) -> list[datetime]:
    return [T0 + timedelta(hours=i) for i in range(n)]


def failures_part() -> FailuresByName:
    """TikTok names blocked together from bucket 3 on (identical counts), the control never
    failing, one name measured only twice with its own counts."""
    n = 8
    measured = [5, 0, 5, 5, 0, 5, 5, 5]
    blocked = [0, 0, 0, 3, 0, 4, 5, 5]
    series = {name: list(blocked) for name in TIKTOK}
    counts = {name: list(measured) for name in TIKTOK}
    series[CONTROL], counts[CONTROL] = [0] * n, list(measured)
    series["sf16-secsdk.ttwstatic.com"] = [0, 0, 1, 0, 0, 0, 2, 0]
    counts["sf16-secsdk.ttwstatic.com"] = [0, 0, 1, 0, 0, 0, 2, 0]
    return FailuresByName("hour", hours(n), series, counts)


def grid_part() -> AsnEndpointGrid:
    endpoints = [f"{name}:443" for name in [*TIKTOK, CONTROL]]
    failed: dict[tuple[int, str], int] = {}
    measured: dict[tuple[int, str], int] = {}
    for k, (asn, _) in enumerate(NETWORKS):
        for e in endpoints:
            measured[(asn, e)] = 12
            if k < 3 and e != f"{CONTROL}:443":
                failed[(asn, e)] = 12 - 2 * k
    del measured[(28787, endpoints[1])]          # never measured: hatched
    measured[(41997, endpoints[2])] = 0          # zero: also not measured
    failed.pop((41997, endpoints[2]))
    return AsnEndpointGrid(NETWORKS, endpoints, failed, measured)


def sni_part() -> SniMatrix:
    cells: dict[tuple[int, str, str], tuple[int, int, str, tuple[str, ...]]] = {}
    for asn, _ in NETWORKS[:3]:
        for ip in IPS:
            cells[(asn, ip, CONTROL)] = (3, 0, f"uid-{asn}-ok", ())
            cells[(asn, ip, "www.tiktok.com")] = (0, 3, f"uid-{asn}-t", ("generic_timeout_error",))
        cells[(asn, IPS[0], "m.tiktok.com")] = (1, 2, "uid-m", ("connection_reset",))
    cells[(28787, IPS[1], CONTROL)] = (2, 0, "uid-x", ())
    return SniMatrix(NETWORKS, IPS, [CONTROL, "www.tiktok.com", "m.tiktok.com"], cells)


def dns_part() -> DnsAnswers:
    resolvers = ["AS29049 system", "AS29049 udp 8.8.8.8:53", "AS41997 system",
                 "AS41997 doh https://dns.google/dns-query", "AS31721 system"]
    answers = ["198.19.20.1 (AS20940)", "198.19.20.2 (AS20940)", "bogon 10.10.34.35",
               "NXDOMAIN", "dns_no_answer"]
    counts = {
        ("AS29049 system", "198.19.20.1 (AS20940)"): 10,
        ("AS29049 system", "198.19.20.2 (AS20940)"): 6,
        ("AS29049 udp 8.8.8.8:53", "bogon 10.10.34.35"): 5,
        ("AS29049 udp 8.8.8.8:53", "NXDOMAIN"): 3,
        ("AS41997 system", "198.19.20.1 (AS20940)"): 4,
        ("AS41997 system", "dns_no_answer"): 2,
        ("AS41997 doh https://dns.google/dns-query", "198.19.20.1 (AS20940)"): 7,
    }  # AS31721 system: no answers at all
    return DnsAnswers(["www.tiktok.com"], resolvers, answers, counts)


def coverage_part() -> CoverageSeries:
    series = {29049: [4, 0, 4, 4, 0, 4], 41997: [4, 0, 4, 3, 0, 0], 31721: [2, 0, 0, 2, 0, 2],
              64512: [0, 0, 0, 0, 0, 0]}
    names = dict(NETWORKS) | {64512: "Quiet Net"}
    return CoverageSeries("hour", hours(6), series, names)


def full_data() -> ChartData:
    return ChartData(failures_part(), grid_part(), sni_part(), dns_part(), coverage_part())


@pytest.fixture(scope="module")
def charts() -> dict[str, Chart]:
    return {c.name: c for c in draw_charts(full_data())}


# ------------------------------------------------------------------------ reading the SVG

def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode())


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def group(root: ET.Element, gid: str) -> ET.Element:
    found = [g for g in root.iter(f"{SVG}g") if g.get("id") == gid]
    assert len(found) == 1, f"{len(found)} groups with id {gid}"
    return found[0]


def path_box(d: str) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of a path's points."""
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    xs, ys = nums[0::2], nums[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def shapes(g: ET.Element) -> list[ET.Element]:
    """The cell/bar paths of a series group (each patch is one path)."""
    return [p for p in g.iter(f"{SVG}path") if p.get("id") is None]


def drawn_marks(g: ET.Element) -> int:
    """Marks with a size: marker uses, and paths whose points span an area or a line."""
    marks = sum(1 for _ in g.iter(f"{SVG}use"))
    for p in shapes(g):
        x0, y0, x1, y1 = path_box(p.get("d", "0 0"))
        if x1 - x0 > 0 or y1 - y0 > 0:
            marks += 1
    return marks


def hatched(p: ET.Element) -> bool:
    return "url(#h" in (p.get("style") or "")


def bucket_text(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


# ------------------------------------------------------------------------------- the tests

def test_one_chart_per_part_in_contract_order(charts: dict[str, Chart]) -> None:
    assert list(charts) == list(CHART_NAMES)
    partial = ChartData(None, None, sni_part(), None, coverage_part())
    assert [c.name for c in draw_charts(partial)] == ["sni_matrix", "coverage"]
    assert draw_charts(ChartData(None, None, None, None, None)) == []


@pytest.mark.parametrize("name", CHART_NAMES)
def test_svg_is_a_titled_document_with_text_as_text(charts: dict[str, Chart], name: str) -> None:
    chart = charts[name]
    assert chart.svg.startswith("<?xml")
    root = parse(chart.svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("id") == f"chart-{name}"
    assert root[0].tag == f"{SVG}title" and root[0].text == chart.title
    assert root[1].tag == f"{SVG}desc" and root[1].text == chart.alt
    assert chart.title in texts(root)             # drawn as the figure's title, as text
    # svg.fonttype none: no glyph outlines, and the fonts named in the text style
    assert not re.search(r'id="DejaVuSans-', chart.svg)
    assert "Date" not in chart.svg.split("<metadata>")[1].split("</metadata>")[0]


@pytest.mark.parametrize("name", CHART_NAMES)
def test_every_series_is_one_group_with_visible_marks(charts: dict[str, Chart],
                                                      name: str) -> None:
    chart = charts[name]
    root = parse(chart.svg)
    assert chart.series
    for series, gid in series_gids(chart.series).items():
        assert gid == f"series-{slug(series)}"
        assert drawn_marks(group(root, gid)) > 0, series


@pytest.mark.parametrize(("name", "labels"), [
    ("failures_by_name", ["time (UTC, per hour)", "measurements (failed: lines, measured: bars)"]),
    ("asn_endpoint_grid", ["endpoint", "network", "failed (% of measurements)", "not measured"]),
    ("sni_matrix", ["server name (SNI)", "address", "handshake ok", "failed", "not tried",
                    "some ok, some failed"]),
    ("dns_answers", ["answers (count)", "resolver (network, kind)", "NXDOMAIN",
                     "bogon 10.10.34.35"]),
    ("coverage", ["time (UTC, per hour)", "measurements"]),
])
def test_axes_and_legends_are_labelled(charts: dict[str, Chart], name: str,
                                       labels: list[str]) -> None:
    drawn = texts(parse(charts[name].svg))
    for label in labels:
        assert label in drawn


def test_svg_is_deterministic_within_and_across_processes(charts: dict[str, Chart]) -> None:
    again = draw_charts(full_data())
    assert [c.svg for c in again] == [charts[n].svg for n in CHART_NAMES]
    code = ("import sys, tests.report.test_charts as t; from censorscope.report.charts import "
            "draw_chart; sys.stdout.write(draw_chart('coverage', t.coverage_part()).svg)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(Path(__file__).parents[2]))
    assert out.stdout == charts["coverage"].svg


# ------------------------------------------------------------------ each chart's own facts

def test_failures_by_name_groups_identical_names_and_states_their_numbers(
        charts: dict[str, Chart]) -> None:
    part, chart = failures_part(), charts["failures_by_name"]
    root = parse(chart.svg)
    assert set(chart.series) == set(part.series)          # every name measured: all drawn
    # the four TikTok names have identical counts: one sentence, one legend entry
    f, m = sum(part.series["www.tiktok.com"]), sum(part.measured["www.tiktok.com"])
    first = part.buckets[next(i for i, c in enumerate(part.series["www.tiktok.com"]) if c)]
    assert (f"{len(TIKTOK)} names (www.tiktok.com, m.tiktok.com, v16-webapp.tiktok.com and "
            f"lf16-tiktok-web.neutral.ttwstatic.com) each failed in {f} of {m} measurements, "
            f"first in the bucket of {bucket_text(first)}") in chart.alt
    assert f"+ {len(TIKTOK) - 1} names, same counts" in texts(root)
    for name in (CONTROL, "sf16-secsdk.ttwstatic.com"):
        assert (f"{name} failed in {sum(part.series[name])} of {sum(part.measured[name])} "
                "measurements") in chart.alt
    # one marker per bucket in which the name was measured (none where it was not)
    for name in chart.series:
        markers = sum(1 for _ in group(root, series_gids(chart.series)[name]).iter(f"{SVG}use"))
        assert markers == sum(1 for c in part.measured[name] if c)


def test_failures_by_name_folds_past_max_lines_into_other() -> None:
    rnd = random.Random(7)
    n = 5
    names = [f"host{i}.example.net" for i in range(45)]
    measured = {name: [6] * n for name in names}
    series = {name: [rnd.randint(0, 6) for _ in range(n)] for name in names}
    chart = draw_chart("failures_by_name", FailuresByName("day", [T0 + timedelta(days=i)
                                                                  for i in range(n)],
                                                          series, measured))
    distinct = len({tuple(v) for v in series.values()})
    assert distinct > MAX_LINES + 1
    assert chart.series[-1] == OTHER_NAMES
    drawn_names = chart.series[:-1]
    totals = sorted((sum(v) for v in series.values()), reverse=True)
    assert sorted((sum(series[n]) for n in drawn_names), reverse=True) == totals[
        :len(drawn_names)]
    others = [name for name in names if name not in drawn_names]
    assert f"the other {len(others)} names" in chart.alt
    assert (f"together they failed {sum(sum(series[o]) for o in others)} times in "
            f"{6 * n * len(others)} name-measurements") in chart.alt
    root = parse(chart.svg)
    for gid in series_gids(chart.series).values():
        assert drawn_marks(group(root, gid)) > 0


def test_failures_by_name_one_bucket_long_names_and_never_measured() -> None:
    long_name = "p16-sign-va.tiktokcdn-eu-west-some-very-long-label.example.com"
    part = FailuresByName("10min", [T0], {long_name: [3], "quiet.example": [0]},
                          {long_name: [4], "quiet.example": [0]})
    chart = draw_chart("failures_by_name", part)
    assert chart.series == (long_name,)
    assert f"{long_name} failed in 3 of 4 measurements" in chart.alt
    assert "never measured, not drawn: quiet.example" in chart.alt
    assert "(one bucket, per 10 minutes)" in chart.alt
    drawn = texts(parse(chart.svg))
    assert long_name not in drawn and any("…" in t and t.startswith("p16-") for t in drawn)
    assert "time (UTC, per 10 minutes)" in drawn


def test_asn_endpoint_grid_cells_counts_and_not_measured(charts: dict[str, Chart]) -> None:
    part, chart = grid_part(), charts["asn_endpoint_grid"]
    root = parse(chart.svg)
    gids = series_gids(chart.series)
    assert chart.series == tuple(f"AS{asn}" for asn, _ in NETWORKS)
    drawn = texts(root)
    for asn, name in NETWORKS:
        row = shapes(group(root, gids[f"AS{asn}"]))
        assert len(row) == len(part.endpoints)
        not_measured = sum(1 for e in part.endpoints if not part.measured.get((asn, e), 0))
        assert sum(1 for p in row if hatched(p)) == not_measured
        f = sum(part.failed.get((asn, e), 0) for e in part.endpoints)
        m = sum(part.measured.get((asn, e), 0) for e in part.endpoints)
        assert f"AS{asn} {name}: {f} of {m} endpoint measurements failed" in chart.alt
        for e in part.endpoints:
            if part.measured.get((asn, e), 0):
                assert f"{part.failed.get((asn, e), 0)}/{part.measured[(asn, e)]}" in drawn
    assert "AS28787 Aztelekom LLC" in drawn
    assert "1 endpoint not measured" in chart.alt


def test_sni_matrix_categories_and_the_proof_sentence(charts: dict[str, Chart]) -> None:
    part, chart = sni_part(), charts["sni_matrix"]
    root = parse(chart.svg)
    gids = series_gids(chart.series)
    pairs = len(part.ips) * len(part.server_names)
    for asn, name in part.asns:
        cells = [part.cells.get((asn, ip, n)) for n in part.server_names for ip in part.ips]
        ok = sum(1 for c in cells if c and c[0] and not c[1])
        failed = sum(1 for c in cells if c and c[1] and not c[0])
        mixed = sum(1 for c in cells if c and c[0] and c[1])
        facet = shapes(group(root, gids[f"AS{asn}"]))
        assert len(facet) == pairs
        assert sum(1 for p in facet if hatched(p)) == failed + mixed   # failed, mixed hatched
        assert (f"AS{asn} {name}: {ok + failed + mixed} of {pairs} address × name pairs tried, "
                f"{ok} ok, {failed} failed, {mixed} mixed") in chart.alt
    assert ("on 3 addresses some names completed TLS and others failed "
            f"(e.g. {IPS[0]}: {CONTROL} ok, www.tiktok.com failed)") in chart.alt
    drawn = texts(parse(chart.svg))
    assert "T: timeout (generic_timeout_error)" in drawn
    assert "R: reset (connection_reset)" in drawn
    assert drawn.count("T") == 3 * len(IPS) and drawn.count("R") == 3


def test_dns_answers_segments_are_proportional_and_kinds_counted(
        charts: dict[str, Chart]) -> None:
    part, chart = dns_part(), charts["dns_answers"]
    root = parse(chart.svg)
    answered = [r for r in part.resolvers
                if any(part.counts.get((r, a), 0) for a in part.answers)]
    assert chart.series == tuple(answered)
    unit = None
    for resolver in answered:
        bars = shapes(group(root, series_gids(chart.series)[resolver]))
        counts = [c for a in part.answers if (c := part.counts.get((resolver, a), 0))]
        assert len(bars) == len(counts)
        widths = sorted(path_box(b.get("d", ""))[2] - path_box(b.get("d", ""))[0] for b in bars)
        unit = unit or widths[0] / min(counts)
        assert widths == pytest.approx([c * unit for c in sorted(counts)], rel=1e-4)
        total = sum(counts)
        assert f"{resolver}: {total} answer{'s' if total != 1 else ''}" in chart.alt
    assert "5 bogon answers, 3 NXDOMAIN, 2 other failures" in chart.alt
    assert f"{sum(part.counts.values()) - 10} address answers" in chart.alt
    assert "No answers from AS31721 system" in chart.alt
    assert "no answers" in texts(root)


def test_dns_answers_every_segment_looks_different_and_extras_fold() -> None:
    answers = ([f"198.51.100.{i} (AS64500)" for i in range(9)]
               + [f"bogon 10.0.0.{i}" for i in range(8)]
               + ["NXDOMAIN", "dns_no_answer", "generic_timeout_error", "eof_error",
                  "connection_reset", "x_error"])
    counts = {("AS1 system", a): i + 1 for i, a in enumerate(answers)}
    part = DnsAnswers(["a.example"], ["AS1 system"], answers, counts)
    segs = segments(part)
    looks = [(s.facecolor, s.hatch) for s in segs]
    assert len(set(looks)) == len(looks)
    labels = [s.label for s in segs]
    assert "3 other addresses" in labels and "2 other bogons" in labels
    assert "1 other failure" in labels
    assert sum(sum(s.counts.values()) for s in segs) == sum(counts.values())
    # the most frequent answers of each kind keep their own look
    assert labels[0] == "198.51.100.8 (AS64500)" and "bogon 10.0.0.7" in labels
    chart = draw_chart("dns_answers", part)
    assert_all_series_drawn(chart)


def test_coverage_stacks_per_network_and_reports_gaps(charts: dict[str, Chart]) -> None:
    part, chart = coverage_part(), charts["coverage"]
    root = parse(chart.svg)
    assert chart.series == ("AS29049", "AS41997", "AS31721")    # the silent one is not drawn
    n = len(part.buckets)
    for asn in (29049, 41997, 31721):
        counts = part.series[asn]
        bars = shapes(group(root, f"series-as{asn}"))
        assert len(bars) == sum(1 for c in counts if c)
        name = part.as_names[asn]
        assert (f"AS{asn} {name}: {sum(counts)} measurements in "
                f"{sum(1 for c in counts if c)} of {n} buckets") in chart.alt
    per_bucket = [sum(v[i] for v in part.series.values()) for i in range(n)]
    assert f"{sum(per_bucket)} measurements in all" in chart.alt
    assert f"Buckets without any measurement: {per_bucket.count(0)} of {n}" in chart.alt
    assert "no measurements from AS64512 Quiet Net" in chart.alt
    drawn = texts(root)
    assert all(str(total) in drawn for total in per_bucket if total)   # totals over the bars


def test_coverage_folds_many_networks_into_other() -> None:
    series = {64500 + i: [i + 1, 0, 1] for i in range(12)}
    chart = draw_chart("coverage", CoverageSeries("day", [T0 + timedelta(days=i)
                                                          for i in range(3)],
                                                  series, {a: f"Net {a}" for a in series}))
    assert len(chart.series) == 8 and chart.series[-1] == "other networks"
    assert "5 other networks stacked as one" in chart.alt
    folded = sum(sum(series[64500 + i]) for i in range(5))   # the five smallest
    assert f": {folded} measurements" in chart.alt


def test_png_is_the_same_figure_at_150_dpi(charts: dict[str, Chart]) -> None:
    png = chart_png(charts["coverage"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 675)
    bare = Chart("coverage", "t", "<svg/>", "a", ())
    with pytest.raises(ValueError, match="no drawing"):
        chart_png(bare)


# ------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize(("name", "part", "message"), [
    ("failures_by_name", FailuresByName("hour", hours(2), {}, {}), "no server names"),
    ("failures_by_name", FailuresByName("hour", [], {"a": []}, {"a": []}), "no time buckets"),
    ("failures_by_name", FailuresByName("hour", hours(2), {"a": [1]}, {"a": [1]}),
     "1 counts for 2 time buckets"),
    ("failures_by_name", FailuresByName("hour", hours(1), {"a": [2]}, {"a": [1]}),
     "more measurements than were made"),
    ("failures_by_name", FailuresByName("hour", hours(1), {"a": [0]}, {"a": [0]}),
     "no server name was measured"),
    ("asn_endpoint_grid", AsnEndpointGrid([], [], {}, {}), "no networks or no endpoints"),
    ("asn_endpoint_grid", AsnEndpointGrid([(1, "x")], ["e"], {(2, "e"): 1}, {(2, "e"): 1}),
     "not in the grid"),
    ("sni_matrix", SniMatrix([(1, "x")], [], ["n"], {}), "no networks, addresses"),
    ("dns_answers", DnsAnswers([], [], [], {}), "no resolvers or no answers"),
    ("dns_answers", DnsAnswers(["d"], ["r"], ["a"], {("r", "a"): 0}), "no resolver gave"),
    ("coverage", CoverageSeries("day", hours(1), {}, {}), "no networks"),
    ("coverage", CoverageSeries("day", [T0, T0], {1: [1, 1]}, {}), "not strictly increasing"),
    ("nope", None, "unknown chart"),
])
def test_bad_parts_raise_a_clear_value_error(name: str, part: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        draw_chart(name, part)


# ------------------------------------------------------------------------ property tests

@st.composite
def small_grids(draw: st.DrawFn) -> tuple[AsnEndpointGrid, SniMatrix]:
    n_asn = draw(st.integers(1, 4))
    asns = [(draw(st.integers(1, 400000)), draw(st.text(max_size=40))) for _ in range(n_asn)]
    asns = list(dict(asns).items())
    endpoints = draw(st.lists(st.text(min_size=1, max_size=50), min_size=1, max_size=6,
                              unique=True))
    measured = {(a, e): draw(st.integers(0, 20)) for a, _ in asns for e in endpoints}
    failed = {k: draw(st.integers(0, m)) for k, m in measured.items()}
    ips = draw(st.lists(st.ip_addresses().map(str), min_size=1, max_size=4, unique=True))
    names = draw(st.lists(st.from_regex(r"[a-z0-9.-]{1,60}", fullmatch=True), min_size=1,
                          max_size=6, unique=True))
    kinds = st.sampled_from(["generic_timeout_error", "connection_reset", "eof_error", "x"])
    cells = {}
    for a, _ in asns:
        for ip in ips:
            for n in names:
                if draw(st.booleans()):
                    ok, bad = draw(st.integers(0, 3)), draw(st.integers(0, 3))
                    failures = tuple(draw(st.lists(kinds, max_size=2))) if bad else ()
                    cells[(a, ip, n)] = (ok, bad, "uid", failures)
    return (AsnEndpointGrid(asns, endpoints, failed, measured),
            SniMatrix(asns, ips, names, cells))


def assert_all_series_drawn(chart: Chart) -> None:
    root = parse(chart.svg)
    for gid in series_gids(chart.series).values():
        assert drawn_marks(group(root, gid)) > 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_grids())
def test_random_small_grids_draw_every_series(grids: tuple[AsnEndpointGrid, SniMatrix]) -> None:
    grid, sni = grids
    for name, part in (("asn_endpoint_grid", grid), ("sni_matrix", sni)):
        chart = draw_chart(name, part)
        assert chart.series == tuple(f"AS{a}" for a, _ in part.asns)
        assert_all_series_drawn(chart)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 6), st.lists(st.lists(st.integers(0, 5), min_size=6, max_size=6),
                                   min_size=1, max_size=10))
def test_random_time_series_draw_every_series(n: int, rows: list[list[int]]) -> None:
    buckets = hours(n)
    measured = {f"h{i}.example": [c + 1 if c % 2 else c for c in row[:n]]
                for i, row in enumerate(rows)}
    failed = {name: [c // 2 for c in m] for name, m in measured.items()}
    if any(sum(m) for m in measured.values()):
        chart = draw_chart("failures_by_name", FailuresByName("hour", buckets, failed, measured))
        assert_all_series_drawn(chart)
        for name in (s for s in chart.series if s != OTHER_NAMES):
            assert (f"failed in {sum(failed[name])} of {sum(measured[name])} measurements"
                    in chart.alt)
    coverage = {64500 + i: row[:n] for i, row in enumerate(rows)}
    if any(sum(v) for v in coverage.values()):
        chart = draw_chart("coverage", CoverageSeries("hour", buckets, coverage, {}))
        assert_all_series_drawn(chart)
        assert f"{sum(map(sum, coverage.values()))} measurements in all" in chart.alt
