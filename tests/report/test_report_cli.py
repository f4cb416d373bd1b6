"""``censorscope report`` on a real store (the lab's golden measurements replayed as probe runs of
three networks, ingested, scored and detected through the CLI): what the report says is checked
against direct SQL on the DuckDB file — onset times and uids, counts per network, endpoints,
coverage, the SNI proof's rows —, every exit status, and that a failed write leaves nothing
behind."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from censorscope.report import pdf, write
from censorscope.report.summary import cost_line
from tests.report.reportkit import (
    LATEST,
    NAMES,
    ONSETS,
    build_store,
    case_measurements,
    copy_store,
    md_table,
    run_cli,
    uid_cell,
)


@pytest.fixture(scope="module")
def case_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_store(tmp_path_factory.mktemp("case"))


@pytest.fixture(scope="module")
def report_dir(case_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports") / "az"
    result = run_cli("report", "--store", case_url, "--country", "AZ", "--target", "tiktok",
                     "--out", str(out), "--explorer-url", "https://explorer.example/")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(out / "report.html"), str(out / "report.md")]
    return out


@pytest.fixture
def sql(case_url: str) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(case_url.removeprefix("duckdb:///"), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _facts(report_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((report_dir / "report.json").read_text("utf-8"))
    return data


def _time(iso: str) -> datetime:
    return datetime.fromisoformat(iso.removesuffix("Z"))


def test_onset_table_is_the_store_s_first_blocked_and_last_clean(
        report_dir: Path, sql: duckdb.DuckDBPyConnection) -> None:
    rows = md_table((report_dir / "report.md").read_text("utf-8"), "### Onset per network")
    assert rows[0] == ["AS", "network", "first blocked (UTC)", "measurement", "last clean (UTC)",
                       "measurement", "techniques", "endpoints blocked"]
    # independently of detection: per network, the first measurement of www.tiktok.com judged
    # blocked, and the last one judged ok before it
    expected = []
    for asn in (a for a, onset in ONSETS.items() if onset is not None):
        first = sql.execute(f"SELECT measurement_uid, measurement_start_time FROM ({LATEST}) "
                            "WHERE probe_asn = ? AND domain = 'www.tiktok.com' "
                            "AND outcome = 'blocked' ORDER BY measurement_start_time LIMIT 1",
                            [asn]).fetchone()
        assert first is not None
        clean = sql.execute(f"SELECT measurement_uid, measurement_start_time FROM ({LATEST}) "
                            "WHERE probe_asn = ? AND domain = 'www.tiktok.com' AND outcome = "
                            "'ok' AND measurement_start_time < ? "
                            "ORDER BY measurement_start_time DESC LIMIT 1",
                            [asn, first[1]]).fetchone()
        assert clean is not None
        network = sql.execute("SELECT DISTINCT probe_network_name FROM measurements "
                              "WHERE probe_asn = ?", [asn]).fetchall()
        expected.append((first[1], [f"AS{asn}", network[0][0],
                                    first[1].strftime("%Y-%m-%d %H:%M:%S"), first[0],
                                    clean[1].strftime("%Y-%m-%d %H:%M:%S"), clean[0]]))
    expected.sort()
    got = [[r[0], r[1], r[2], uid_cell(r[3]), r[4], uid_cell(r[5])] for r in rows[1:]]
    assert got == [e for _, e in expected]
    assert [r[0] for r in rows[1:]] == ["AS29049", "AS41997"]  # onset order
    incident = sql.execute("SELECT payload FROM incidents").fetchall()
    assert len(incident) == 1
    networks = {n["asn"]: n for n in json.loads(incident[0][0])["networks"]}
    for r in rows[1:]:
        n = networks[int(r[0][2:])]
        assert r[6] == ", ".join(n["techniques"]) and int(r[7]) == len(n["endpoints"])


def test_counts_per_network_are_counts_of_stored_rows(
        report_dir: Path, sql: duckdb.DuckDBPyConnection) -> None:
    facts = _facts(report_dir)
    assert facts["measurements"] == sql.execute(
        f"SELECT count(*) FROM ({LATEST}) WHERE probe_cc = 'AZ'").fetchone()[0]  # type: ignore[index]
    gaps = dict(sql.execute(f"""
        SELECT probe_asn, max(epoch(t - prev)) FROM (
          SELECT probe_asn, measurement_start_time AS t,
                 lag(measurement_start_time) OVER (PARTITION BY probe_asn
                     ORDER BY measurement_start_time, measurement_uid) AS prev
          FROM ({LATEST}) WHERE domain = 'www.tiktok.com') GROUP BY probe_asn""").fetchall())
    by_asn = {c["asn"]: c for c in facts["coverage"]}
    assert set(by_asn) == set(NAMES)
    for asn, c in by_asn.items():
        total, first, last = sql.execute(
            f"SELECT count(*), min(measurement_start_time), max(measurement_start_time) "
            f"FROM ({LATEST}) WHERE probe_asn = ?", [asn]).fetchone()  # type: ignore[misc]
        scope, runs = sql.execute(
            f"SELECT count(*), count(DISTINCT report_id) FROM ({LATEST}) "
            "WHERE probe_asn = ? AND domain = 'www.tiktok.com'", [asn]).fetchone()  # type: ignore[misc]
        assert (c["measurements"], c["scope_measurements"], c["probe_runs"]) == (total, scope,
                                                                                   runs)
        assert (_time(c["first"]), _time(c["last"])) == (first, last)
        assert c["largest_gap"] == gaps[asn]
    # the Markdown coverage table says the same
    rows = md_table((report_dir / "report.md").read_text("utf-8"), "## Coverage")
    assert [[r[0], r[2], r[3], r[4]] for r in rows[1:]] == [
        [f"AS{a}", str(by_asn[a]["measurements"]), str(by_asn[a]["scope_measurements"]),
         str(by_asn[a]["probe_runs"])] for a in (29049, 41997, 28787)]
    versions = sql.execute(f"SELECT rules_version, count(*) FROM ({LATEST}) GROUP BY 1"
                           ).fetchall()
    assert sorted(map(tuple, facts["rules_versions"])) == sorted(versions)


def test_networks_endpoints_and_not_affected_match_sql(
        report_dir: Path, sql: duckdb.DuckDBPyConnection) -> None:
    (inc,) = _facts(report_dir)["incidents"]
    for n in inc["networks"]:
        blocked, measured = sql.execute(
            f"SELECT count(*) FILTER (WHERE outcome = 'blocked'), count(*) FROM ({LATEST}) "
            "WHERE probe_asn = ? AND domain = 'www.tiktok.com' AND measurement_start_time >= ?",
            [n["asn"], _time(n["onset"])]).fetchone()  # type: ignore[misc]
        assert (n["blocked"], n["measured"]) == (blocked, measured) and blocked > 0
        failing = {d for (d,) in sql.execute(
            f"SELECT DISTINCT domain FROM ({LATEST}) WHERE probe_asn = ? "
            "AND outcome = 'blocked'", [n["asn"]]).fetchall()}
        assert set(n["endpoints"]) == failing == {"www.tiktok.com"}
    (u,) = inc["not_affected"]
    assert u["asn"] == 28787
    measured, blocked = sql.execute(
        f"SELECT count(*), count(*) FILTER (WHERE outcome = 'blocked') FROM ({LATEST}) "
        "WHERE probe_asn = 28787 AND domain = 'www.tiktok.com' AND measurement_start_time >= ?",
        [_time(inc["start"])]).fetchone()  # type: ignore[misc]
    assert (u["measured"], u["blocked"]) == (measured, blocked) and measured > 0
    summary = (report_dir / "report.md").read_text("utf-8").split("## Summary")[1]
    assert f"AS28787 (Aztelekom LLC): {measured} measurements of TikTok during the incident, " \
           "none blocked" in summary


def test_sni_proof_rests_on_stored_handshakes(
        report_dir: Path, sql: duckdb.DuckDBPyConnection) -> None:
    (inc,) = _facts(report_dir)["incidents"]
    for n in inc["networks"]:
        sni = n["proof"]["sni"]
        assert sni is not None and sni["failed_name"] != sni["completed_name"]
        failed = sql.execute(
            "SELECT o.ip, o.tls_failure, o.tls_handshake_write_count, m.probe_asn FROM "
            "observations o JOIN measurements m USING (measurement_uid) WHERE "
            "measurement_uid = ? AND origin = 'probe' AND tls_server_name = ? "
            "AND tls_failure IS NOT NULL", [sni["failed_uid"], sni["failed_name"]]).fetchall()
        assert (sni["ip"], sni["failure"], sni["failed_writes"], n["asn"]) in failed
        completed = sql.execute(
            "SELECT o.ip, m.probe_asn, m.measurement_start_time FROM observations o "
            "JOIN measurements m USING (measurement_uid) WHERE measurement_uid = ? AND origin = "
            "'probe' AND tls_server_name = ? AND tls_success",
            [sni["completed_uid"], sni["completed_name"]]).fetchall()
        assert (sni["ip"], n["asn"], _time(sni["completed_at"])) in completed
        assert _time(sni["completed_at"]) >= _time(n["onset"])
        timeline = n["proof"]["timeline"]
        assert timeline["uid"] == n["first_blocked_uid"]
        assert timeline["source"] == "raw measurement"
        texts = [line["text"] for line in timeline["lines"]]
        hello = next(i for i, t in enumerate(texts) if t.endswith("(the ClientHello)"))
        assert any(f"→ {sni['failure']}" in t for t in texts[hello + 1:])
        statements = n["proof"]["statements"]
        (row,) = sql.execute("SELECT evidence_data FROM verdicts WHERE measurement_uid = ?",
                             [n["first_blocked_uid"]]).fetchall()
        assert [s["text"] for s in statements] == [e["text"] for e in json.loads(row[0])]
    cited = _facts(report_dir)["cited"]
    html = (report_dir / "report.html").read_text("utf-8")
    for uid in cited:
        assert f'id="m-{uid}"' in html and f'href="#m-{uid}"' in html
        assert f'href="https://explorer.example/measurement/{uid}"' in html
    assert set(re.findall(r'href="(https?://[^"]+)"', html)) == {
        f"https://explorer.example/measurement/{uid}" for uid in cited}


def test_report_files_and_charts(report_dir: Path) -> None:
    facts = _facts(report_dir)
    drawn = {c["name"]: c for c in facts["charts_drawn"]}
    assert set(drawn) == {"failures_by_name", "asn_endpoint_grid", "sni_matrix", "dns_answers",
                          "coverage"}
    html = (report_dir / "report.html").read_text("utf-8")
    md = (report_dir / "report.md").read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert "<script" not in html.lower() and "<link" not in html.lower()
    for name, chart in drawn.items():
        assert (report_dir / chart["file"]).read_text("utf-8").lstrip().startswith(("<?xml",
                                                                                    "<svg"))
        figure = re.search(rf'<figure id="chart-{name}">(.*?)</figure>', html, re.S)
        assert figure is not None and "<figcaption>" in figure.group(1)
        assert 'role="img"' in figure.group(1) and 'class="visually-hidden"' in figure.group(1)
        for series in chart["series"]:
            slug = re.sub(r"[^a-z0-9]+", "-", series.lower()).strip("-")
            assert f'id="series-{slug}"' in figure.group(1), (name, series)
        assert f"](charts/{name}.svg)" in md
    assert "@media print" in html
    # charts inlined in one page share no ids (but their series groups) and lose no reference
    ids = re.findall(r'\sid="([^"]+)"', html)
    repeated = {i for i in ids if ids.count(i) > 1}
    assert all(i.startswith("series-") for i in repeated), sorted(repeated)[:5]
    refs = set(re.findall(r'(?:href="#|url\(#)([^")]+)', html))
    assert refs and refs <= set(ids)


def test_lab_clock_and_cost_are_said_only_when_true(report_dir: Path) -> None:
    facts = _facts(report_dir)
    assert facts["lab_clock"] is None  # the golden measurements carry no lab clock
    assert "lab measurements" not in (report_dir / "report.md").read_text("utf-8")
    (inc,) = facts["incidents"]
    cost = inc["cost"]
    assert cost is not None and cost["low"] <= cost["central"] <= cost["high"]
    md = (report_dir / "report.md").read_text("utf-8")
    assert "\n### Cost\n" in md
    line = cost_line(cost)
    assert line is not None and f"Estimated cost: {line}." in md
    assert f"Estimated cost of the restriction: {line}" in md.split("## Summary")[1]


def test_timeline_from_observation_rows_when_the_raw_file_is_gone(tmp_path: Path) -> None:
    url = build_store(tmp_path / "s")
    (tmp_path / "s" / "case.jsonl").unlink()
    out = tmp_path / "r"
    assert run_cli("report", "--store", url, "--country", "AZ", "--out", str(out)).exit_code == 0
    for n in _facts(out)["incidents"][0]["networks"]:
        timeline = n["proof"]["timeline"]
        assert timeline["source"] == "observation rows"
        assert any(line["text"].startswith("TLS handshake 198.19.20.1:443 server name "
                                           "www.tiktok.com → generic_timeout_error")
                   for line in timeline["lines"])


# --- exit statuses -----------------------------------------------------------------------------

def _fails(code: int, *args: str) -> str:
    result = run_cli("report", *args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert (len(lines) == 1 and lines[0].startswith("censorscope: ")) or code == 2, result.stderr
    return result.stderr


@pytest.mark.parametrize("args", [
    ("--country", "AZE"), ("--country", "AZ", "--since", "yesterday"),
    ("--country", "AZ", "--since", "2022-09-15", "--until", "2022-09-14"),
    ("--country", "AZ", "--format", "html,docx"), ("--country", "AZ", "--target", "two words"),
    ("--country", "AZ", "--explorer-url", "javascript:alert(1)"),
])
def test_usage_errors_exit_2_and_write_nothing(case_url: str, tmp_path: Path,
                                               args: tuple[str, ...]) -> None:
    _fails(2, "--store", case_url, "--out", str(tmp_path / "out"), *args)
    assert list(tmp_path.iterdir()) == []


def test_store_problems(case_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    assert "cannot open the store" in _fails(2, "--store", f"duckdb:///{junk}", "--country",
                                             "AZ", "--out", str(tmp_path / "o"))
    assert "no measurement from FR (unknown country)" in _fails(
        5, "--store", case_url, "--country", "FR", "--out", str(tmp_path / "o"))
    assert "no scored measurement from 2030-01-01T00:00:00" in _fails(
        6, "--store", case_url, "--country", "AZ", "--since", "2030-01-01", "--out",
        str(tmp_path / "o"))
    message = _fails(7, "--store", case_url, "--country", "AZ", "--target", "youtube", "--out",
                     str(tmp_path / "o"))
    assert "no incident of service:youtube or outage" in message and "censorscope detect" in \
        message
    assert not (tmp_path / "o").exists()


def test_no_verdicts_and_not_detected(tmp_path: Path) -> None:
    measurements = case_measurements(runs=2)
    data = tmp_path / "m.jsonl"
    data.write_text("".join(json.dumps(m) + "\n" for m in measurements))
    url = f"duckdb:///{tmp_path / 'raw.duckdb'}"
    assert run_cli("ingest", "--store", url, "--no-progress", "--no-analyze", "-j", "1",
                   str(data)).exit_code == 0
    assert "holds no verdicts" in _fails(4, "--store", url, "--country", "AZ", "--out",
                                         str(tmp_path / "o"))
    undetected = build_store(tmp_path / "u", detect=False)
    assert "run censorscope detect first" in _fails(7, "--store", undetected, "--country", "AZ",
                                                    "--out", str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_busy_store_exits_3(case_url: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    url = copy_store(case_url, tmp_path / "held")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(60)", url.removeprefix("duckdb:///")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert "in use" in _fails(3, "--store", url, "--country", "AZ", "--out",
                                  str(tmp_path / "o"))
    finally:
        holder.kill()
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
    assert not (tmp_path / "o").exists()


def test_pdf_without_chromium_is_a_usage_error_before_anything_is_written(
        case_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf, "CHROMIUM_PATHS", (str(tmp_path / "no-chromium"),))
    monkeypatch.setattr(pdf, "CHROMIUM_NAME", "no-such-chromium-here")
    message = _fails(2, "--store", case_url, "--country", "AZ", "--format", "html,pdf",
                     "--out", str(tmp_path / "o"))
    assert "needs Chromium" in message
    assert list(tmp_path.iterdir()) == []


# --- atomic output -----------------------------------------------------------------------------

def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_a_failure_while_writing_leaves_the_old_report_and_no_temporary_files(
        case_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert run_cli("report", "--store", case_url, "--country", "AZ", "--out", str(out),
                   "--format", "md").exit_code == 0
    before = _tree(out)
    assert set(before) >= {"report.md", "report.json", "charts/coverage.svg"}

    def broken(*_: object, **__: object) -> str:
        raise RuntimeError("the renderer broke")

    monkeypatch.setattr(write, "render_html", broken)  # after the charts and JSON are written
    message = _fails(1, "--store", case_url, "--country", "AZ", "--out", str(out))
    assert "the renderer broke" in message and "is unchanged" in message
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    monkeypatch.undo()
    # a later run replaces it whole
    assert run_cli("report", "--store", case_url, "--country", "AZ", "--out",
                   str(out)).exit_code == 0
    after = _tree(out)
    assert "report.html" in after and after["report.md"] == before["report.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_unwritable_destination_exits_2_and_leaves_nothing(case_url: str,
                                                              tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a directory")
    message = _fails(2, "--store", case_url, "--country", "AZ", "--out",
                     str(blocker / "report"))
    assert "cannot write the report" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.browser
def test_pdf_is_printed_by_chromium(case_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("report", "--store", case_url, "--country", "AZ", "--out", str(out),
                     "--format", "pdf", "--png")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(out / "report.pdf")]
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert not (out / "report.html").exists()
    assert (out / "charts" / "coverage.png").read_bytes().startswith(b"\x89PNG")


def test_hostile_strings_are_escaped(tmp_path: Path) -> None:
    hostile_name = '<script>alert("x")</script> & Co | *bold* [link](http://evil.example)'
    hostile_input = "https://www.example.org/?q=<img src=x onerror=alert(1)>`|"
    measurements = case_measurements()
    for m in measurements:
        if m["probe_asn"] == "AS29049":
            m["probe_network_name"] = hostile_name
        if m["input"] == "https://www.example.org/":
            m["input"] = hostile_input
    url = build_store(tmp_path / "s", measurements)
    out = tmp_path / "r"
    assert run_cli("report", "--store", url, "--country", "AZ", "--out", str(out)).exit_code == 0
    html = (out / "report.html").read_text("utf-8")
    md = (out / "report.md").read_text("utf-8")
    assert "<script" not in html and "<img" not in html and "onerror=alert" not in \
        html.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    assert "http://evil.example" not in re.findall(r'href="([^"]*)"', html)
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;" in md
    rows = md_table(md, "### Onset per network")
    assert len(rows) == 3 and all(len(r) == 8 for r in rows)  # the pipe did not split a cell
    assert rows[1][1].startswith("&lt;script&gt;")
