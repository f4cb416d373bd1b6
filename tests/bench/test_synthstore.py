"""The API benchmark's synthetic store (``bench/synthstore.py``) at 10,000 measurements: its
rows are what the API and the analysis expect (the real schema, verdicts consistent with the
measurements' MAT flags, inputs from the shipped test lists, the advertised distributions), the
API answers a MAT query and search pages on it exactly as direct SQL on the file does, and
``bench/api.py`` runs end to end against ``censorscope serve`` on it."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from bench import synthstore
from censorscope.api.app import create_app
from censorscope.api.deps import UID_PATTERN
from censorscope.api.settings import Settings
from censorscope.store import migrations, open_store

N = 10_000
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    path = tmp_path_factory.mktemp("synth") / "synth.duckdb"
    census = synthstore.generate(path, N, chunk=4_000)  # three chunks
    return path, census


@pytest.fixture(scope="module")
def sql(synth: tuple[Path, dict[str, object]]) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(synth[0]), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def client(synth: tuple[Path, dict[str, object]]) -> Iterator[TestClient]:
    app = create_app(f"duckdb://{synth[0]}", settings=Settings(quotas=(), store_linger=None))
    with TestClient(app) as c:
        yield c


def _one(sql: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None
         ) -> object:
    row = sql.execute(query, params or []).fetchone()
    assert row is not None
    return row[0]


def test_store_has_the_real_schema_and_every_row(synth: tuple[Path, dict[str, object]],
                                                 sql: duckdb.DuckDBPyConnection) -> None:
    path, census = synth
    with open_store(f"duckdb://{path}", read_only=True) as store:
        assert store.schema_version() == migrations.LATEST
        assert store.count("measurements") == store.count("verdicts") == N
    assert census["measurements"] == census["verdicts"] == N
    assert _one(sql, "SELECT count(DISTINCT measurement_uid) FROM measurements") == N
    # every measurement has its probe row of observations; web_connectivity ones a control
    assert _one(sql, "SELECT count(*) FROM measurements m WHERE NOT EXISTS (SELECT 1 FROM "
                     "observations o WHERE o.measurement_uid = m.measurement_uid "
                     "AND o.origin = 'probe')") == 0
    assert _one(sql, "SELECT count(*) FROM observations o WHERE NOT EXISTS (SELECT 1 FROM "
                     "measurements m WHERE o.measurement_uid = m.measurement_uid)") == 0
    uid = re.compile(UID_PATTERN)
    assert all(uid.match(u) for (u,) in sql.execute(
        "SELECT measurement_uid FROM measurements").fetchall())


def test_verdicts_agree_with_the_measurements(sql: duckdb.DuckDBPyConnection) -> None:
    """The MAT flags and blocking_type of each row are its verdict's (as ingest writes them:
    ``with_verdict``), and the verdict obeys the vocabulary's derivations."""
    assert _one(sql, """
        SELECT count(*) FROM measurements m JOIN verdicts v USING (measurement_uid)
        WHERE m.anomaly <> v.anomaly OR m.confirmed <> v.confirmed OR m.failure <> v.failure
           OR m.blocking_type IS DISTINCT FROM
              CASE WHEN v.blocking IN ('false') THEN NULL ELSE v.blocking END
           OR v.anomaly <> (v.outcome IN ('blocked', 'impaired'))
           OR v.failure <> (v.outcome = 'insufficient')
           OR v.confirmed <> (v.outcome = 'blocked' AND len(v.fingerprints) > 0)
           OR (v.outcome = 'blocked') <> (v.layer IS NOT NULL AND v.mechanism IS NOT NULL)
        """) == 0
    from censorscope.model.verdict import MECHANISMS, OUTCOMES

    for outcome, mechanism in sql.execute(
            "SELECT DISTINCT outcome, mechanism FROM verdicts").fetchall():
        assert outcome in OUTCOMES and (mechanism is None or mechanism in MECHANISMS)


def test_distributions_are_the_advertised_ones(synth: tuple[Path, dict[str, object]],
                                               sql: duckdb.DuckDBPyConnection) -> None:
    _, census = synth
    assert 0.05 <= float(census["anomaly_share"]) <= 0.10  # type: ignore[arg-type]
    assert 0.005 <= float(census["confirmed_share"]) <= 0.015  # type: ignore[arg-type]
    assert 0.015 <= float(census["failure_share"]) <= 0.025  # type: ignore[arg-type]
    assert 0.75 <= float(census["web_connectivity_share"]) <= 0.81  # type: ignore[arg-type]
    assert census["countries"] == len(synthstore.COUNTRIES) == 60
    # Zipf-like: the biggest country has ~a quarter, the smallest well under 1 %
    shares = [n / N for (n,) in sql.execute(
        "SELECT count(*) FROM measurements GROUP BY probe_cc ORDER BY 1 DESC").fetchall()]
    assert 0.2 <= shares[0] <= 0.3 and shares[-1] < 0.01
    # several networks per country, a year of time
    fewest = _one(sql, "SELECT min(n) FROM (SELECT count(DISTINCT probe_asn) AS n FROM "
                       "measurements GROUP BY probe_cc)")
    assert isinstance(fewest, int) and fewest >= 2
    first, last = sql.execute("SELECT min(measurement_start_time), "
                              "max(measurement_start_time) FROM measurements").fetchone() or ()
    assert str(first) >= synthstore.START and str(last) < synthstore.END
    assert (last - first).days >= 360
    # rows in time order (as ingest writes them): the MAT's and search's zone maps rely on it
    assert _one(sql, "SELECT count(*) FROM (SELECT measurement_start_time AS t, lag("
                     "measurement_start_time) OVER (ORDER BY rowid) AS prev FROM measurements)"
                     " WHERE t < prev") == 0


def test_inputs_come_from_the_shipped_test_lists(sql: duckdb.DuckDBPyConnection) -> None:
    lists = Path(str(resources.files("censorscope.data").joinpath("test-lists")))
    urls: set[str] = set()
    for path in lists.glob("*.csv"):
        if re.fullmatch(r"[a-z]{2}|global", path.stem):
            with path.open(newline="", encoding="utf-8") as f:
                urls |= {row["url"] for row in csv.DictReader(f)}
    inputs = {i for (i,) in sql.execute(
        "SELECT DISTINCT input FROM measurements WHERE test_name = 'web_connectivity'"
    ).fetchall()}
    assert len(inputs) > 1000 and inputs <= urls
    # the domain is the input's host name
    assert _one(sql, "SELECT count(*) FROM measurements WHERE test_name = 'web_connectivity' "
                     "AND NOT starts_with(split_part(input, '://', 2), domain)") == 0


def _top_country(sql: duckdb.DuckDBPyConnection) -> str:
    cc = _one(sql, "SELECT probe_cc FROM measurements GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    assert isinstance(cc, str)
    return cc


def test_mat_equals_direct_sql(client: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    cc = _top_country(sql)
    r = client.get("/api/v1/aggregation", params={
        "probe_cc": cc, "since": "2024-05-03", "until": "2024-06-02",
        "axis_x": "measurement_start_day"})
    assert r.status_code == 200, r.text
    got = {c["measurement_start_day"]: (c["measurement_count"], c["anomaly_count"],
                                        c["confirmed_count"], c["failure_count"], c["ok_count"])
           for c in r.json()["result"]}
    want = {str(d): (n, a, c, f, ok) for d, n, a, c, f, ok in sql.execute("""
        SELECT CAST(measurement_start_time AS DATE), count(*),
               count(*) FILTER (anomaly AND NOT confirmed AND NOT failure),
               count(*) FILTER (confirmed AND NOT failure), count(*) FILTER (failure),
               count(*) FILTER (NOT anomaly AND NOT confirmed AND NOT failure)
        FROM measurements WHERE probe_cc = ? AND measurement_start_time >= '2024-05-03'
          AND measurement_start_time < '2024-06-02' GROUP BY 1""", [cc]).fetchall()}
    assert got == want and len(want) == 30
    assert sum(v[0] for v in want.values()) > 100
    assert sum(v[1] + v[2] for v in want.values()) > 0  # anomalies are there to count


@pytest.mark.parametrize("with_domain", [False, True])
def test_search_pages_equal_direct_sql(client: TestClient, sql: duckdb.DuckDBPyConnection,
                                       with_domain: bool) -> None:
    cc = _top_country(sql)
    params: dict[str, str | int] = {"probe_cc": cc, "test_name": "web_connectivity",
                                    "since": "2024-03-01", "until": "2024-06-29", "limit": 50}
    where, values = "", []
    if with_domain:
        domain = _one(sql, "SELECT domain FROM measurements WHERE probe_cc = ? AND test_name = "
                           "'web_connectivity' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
                      [cc])
        params["domain"], where, values = str(domain), " AND domain = ?", [domain]
    want = [u for (u,) in sql.execute(
        "SELECT measurement_uid FROM measurements WHERE probe_cc = ? AND test_name = "
        "'web_connectivity' AND measurement_start_time >= '2024-03-01' AND "
        f"measurement_start_time < '2024-06-29'{where} "
        "ORDER BY measurement_start_time DESC, measurement_uid DESC", [cc, *values]).fetchall()]
    got: list[str] = []
    page = client.get("/api/v1/measurements", params=params).json()
    while True:  # walk every page with the cursor: each row once, in order
        assert all(r["probe_cc"] == cc for r in page["results"])
        got += [r["measurement_uid"] for r in page["results"]]
        if page["metadata"]["next_cursor"] is None:
            break
        page = client.get("/api/v1/measurements",
                          params={**params, "cursor": page["metadata"]["next_cursor"]}).json()
    assert got == want
    assert len(want) > (50 if not with_domain else 1)


def test_generator_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "x.duckdb"
    path.write_bytes(b"")
    with pytest.raises(FileExistsError):
        synthstore.generate(path, 10)


@pytest.mark.slow
def test_bench_api_runs_against_censorscope_serve(synth: tuple[Path, dict[str, object]]
                                                  ) -> None:
    """bench/api.py for a few seconds: every JSON line, every answer a 200."""
    r = subprocess.run(
        [sys.executable, str(REPO / "bench" / "api.py"), "--store", str(synth[0]),
         "--workers", "1", "--requests", "3", "--clients", "4", "--seconds", "1",
         "--cold-runs", "1", "--cold-seconds", "0", "--wide", "1"],
        capture_output=True, text=True, timeout=240, check=False)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    cases = {line["case"]: line for line in lines}
    assert set(cases) == {"store", "mat_cold", "search_cold", "search_domain_cold",
                          "mat_warm", "search_warm", "search_domain_warm", "load_warm",
                          "mat_year_warm", "mat_year_by_country_warm"}
    assert cases["store"]["measurements"] == N
    for kind, n in (("mat", 3), ("search", 3), ("search_domain", 3), ("mat_year", 1),
                    ("mat_year_by_country", 1)):
        assert cases[f"{kind}_warm"]["non_200"] == 0 and cases[f"{kind}_warm"]["requests"] == n
        assert cases[f"{kind}_warm"]["p50_ms"] > 0
    load = cases["load_warm"]
    assert load["requests"] > 0 and load["non_200"] == 0 and load["requests_per_s"] > 0


def test_serve_no_quotas_has_no_rate_limit(synth: tuple[Path, dict[str, object]]) -> None:
    """``censorscope serve --no-quotas`` (what the benchmark starts) charges nobody: no
    X-RateLimit-Remaining, and the store's answer as usual."""
    from bench import api as bench_api

    with bench_api.serving(synth[0], 1) as port:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/v1/aggregation?since=2024-01-01"
                "&until=2025-01-01", timeout=30) as r:
            assert r.status == 200
            assert "x-ratelimit-remaining" not in {k.lower() for k in r.headers}
            assert json.loads(r.read())["result"]["measurement_count"] == N
