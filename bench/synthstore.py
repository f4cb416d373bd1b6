"""A synthetic censorscope store for the API benchmark: N measurements with their verdicts and
observation rows, written with DuckDB's own SQL (``range()`` and hash-based choices, no Python
per row) into a DuckDB file whose schema is the real one (created by ``open_store``).

What the rows look like (deterministic for a given ``--seed``):

- one year of measurement start times (2024-01-01 to 2025-01-01 UTC), in ingest order (each
  chunk sorted by time, as the collector and a day-by-day ingest write them); ``--order
  random`` spreads every chunk over the whole year instead (a store with no time locality);
- 60 countries with Zipf-like volumes (rank r gets ∝ 1/r^1.1: the first has ~25 %, the last
  ~0.3 %), 2–12 networks per country, themselves Zipf-weighted, with AS numbers and names;
- test names as OONI's volumes go: web_connectivity ~78 %, then signal, whatsapp, telegram,
  facebook_messenger, dnscheck, stunreachability, tor, ndt, dash and the two middlebox tests;
- web_connectivity inputs from the Citizen Lab test lists shipped in the package
  (``censorscope/data/test-lists``: the global list, and the country's own list where there
  is one), popular ones more often; ``domain`` is the input's host name;
- outcomes: a country blocks a share of the test-list domains and of the apps (more in the
  countries that censor a lot), each network by its own method (DNS, TCP, TLS, HTTP), so the
  anomaly share is ~8.5 % in all, ~1 % confirmed (blockpages matched by a fingerprint), ~2 %
  failure (``insufficient``) and 0.5 % ``down``;
- one verdict per measurement (the MAT flags and ``blocking_type`` of the measurement row are
  the verdict's, as ``ingest`` writes them), with evidence text and evidence data;
- observation rows: for web_connectivity the probe's endpoint row (DNS answer, TCP, TLS and
  HTTP facts of one endpoint; the failure where the method interferes) and the control's; one
  probe row for the other tests.

Memory is bounded: the rows are written in chunks of ``--chunk`` measurements (default
1,000,000), and DuckDB runs with ``--memory-limit`` (default 3 GB; it spills past that).

    .venv/bin/python bench/synthstore.py --out /var/tmp/cs-api-10m.duckdb \\
        [--measurements 10000000] [--seed 1] [--chunk 1000000] [--order time|random]

Prints one JSON line: the counts of every table and class, the seconds taken, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

import duckdb  # noqa: E402

from censorscope.store import open_store  # noqa: E402

START: Final = "2024-01-01"
END: Final = "2025-01-01"
# 60 countries by rank of their measurement volume (rank r gets a share ∝ 1/r^1.1)
COUNTRIES: Final = (
    "US", "RU", "IR", "DE", "IN", "IT", "BR", "TR", "CN", "ID", "GB", "FR", "MX", "UA", "KZ",
    "VE", "EG", "PK", "BD", "MY", "TH", "VN", "PH", "NG", "KE", "ET", "MM", "CU", "BY", "AZ",
    "AM", "UZ", "KG", "TJ", "TM", "SA", "AE", "IQ", "SY", "JO", "LB", "IL", "ES", "NL", "PL",
    "SE", "CA", "AU", "JP", "KR", "HK", "TW", "SG", "CO", "AR", "CL", "PE", "ZA", "MA", "DZ",
)
# per-mille of the test-list domains a country blocks (and percent of the apps); the rest
# block a few (ZIPF_BLOCK_DEFAULT)
BLOCK_LEVEL: Final = {
    "CN": 300, "IR": 350, "TM": 300, "RU": 160, "MM": 150, "TR": 120, "BY": 90, "EG": 110,
    "SA": 100, "VE": 70, "PK": 80, "AZ": 70, "CU": 80, "ET": 60, "SY": 90, "KZ": 50, "UZ": 60,
    "VN": 60, "AE": 60, "IQ": 40, "TJ": 60, "BD": 30, "ID": 50, "TH": 30, "IN": 25, "KG": 30,
}
BLOCK_DEFAULT: Final = 4
# countries whose DNS and HTTP blockpages are known fingerprints (their blocks are confirmed)
FINGERPRINTED: Final = ("IR", "RU", "TR", "ID", "TH", "AZ", "SA", "AE", "KZ", "IN", "PK",
                        "EG", "VN", "BY", "CN", "MM")
# (test name, share in per-mille, test_version, rules_version)
TESTS: Final = (
    ("web_connectivity", 780, "0.4.3", "cs-wc-2"),
    ("signal", 30, "0.2.5", "cs-messaging-2"),
    ("whatsapp", 30, "0.11.0", "cs-messaging-2"),
    ("telegram", 30, "0.3.1", "cs-messaging-2"),
    ("facebook_messenger", 30, "0.2.0", "cs-messaging-2"),
    ("dnscheck", 20, "0.9.2", "cs-tests-1"),
    ("stunreachability", 20, "0.4.0", "cs-tests-1"),
    ("tor", 15, "0.4.0", "cs-tests-1"),
    ("ndt", 15, "0.10.0", "cs-tests-1"),
    ("dash", 10, "0.13.0", "cs-tests-1"),
    ("http_header_field_manipulation", 10, "0.2.0", "cs-tests-1"),
    ("http_invalid_request_line", 10, "0.2.0", "cs-tests-1"),
)
# the apps a country may block (the others are never "blocked" here)
APP_TESTS: Final = ("signal", "whatsapp", "telegram", "facebook_messenger", "tor")
APP_HOSTS: Final = {
    "signal": "textsecure-service.whispersystems.org", "whatsapp": "v.whatsapp.net",
    "telegram": "web.telegram.org", "facebook_messenger": "edge-mqtt.facebook.com",
    "tor": "tor.bridges.example", "dnscheck": "dns.google", "stunreachability":
    "stun.l.google.com", "ndt": "ndt-mlab1.mlab-oti.measurement-lab.org",
    "dash": "neubot-mlab.mlab-oti.measurement-lab.org",
    "http_header_field_manipulation": "hhfm.ooni.io",
    "http_invalid_request_line": "hirl.ooni.io",
}
INPUT_TESTS: Final = {"web_connectivity": None, "dnscheck": "dot://dns.google/",
                      "stunreachability": "stun://stun.l.google.com:19302"}
ORDERS: Final = ("time", "random")
CC_BUCKETS: Final = 10_000
NET_BUCKETS: Final = 1_000


def _test_lists() -> Path:
    return Path(str(resources.files("censorscope.data").joinpath("test-lists")))


def _setup(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    """The small lookup tables every chunk joins with (countries, networks, tests, inputs)."""
    ranks = list(range(1, len(COUNTRIES) + 1))
    weights = [1 / r ** 1.1 for r in ranks]
    total = sum(weights)
    # country buckets: CC_BUCKETS slots filled in rank order by share (at least one each)
    slots = [max(1, round(CC_BUCKETS * w / total)) for w in weights]
    slots[0] += CC_BUCKETS - sum(slots)
    pick: list[int] = []
    for ci, n in enumerate(slots):
        pick += [ci] * n
    con.execute("CREATE TEMP TABLE syn_ccpick AS SELECT (i - 1)::BIGINT AS b, ci::BIGINT AS ci "
                "FROM (SELECT unnest(?) AS ci, generate_subscripts(?, 1) AS i)", [pick, pick])
    lists = _test_lists()
    local = {p.stem.upper() for p in lists.glob("??.csv")}
    con.execute("""CREATE TEMP TABLE syn_cc (ci BIGINT, cc VARCHAR, level BIGINT,
                   fingerprinted BOOLEAN, nets BIGINT, has_local BOOLEAN)""")
    con.executemany("INSERT INTO syn_cc VALUES (?, ?, ?, ?, ?, ?)", [
        [ci, cc, BLOCK_LEVEL.get(cc, BLOCK_DEFAULT), cc in FINGERPRINTED,
         max(2, min(12, round(12 / (ci + 1) ** 0.45))), cc in local]
        for ci, cc in enumerate(COUNTRIES)])
    # networks: bucket b of a country → its k-th network (k Zipf-weighted: b·(b+1)… squared)
    con.execute(f"""
        CREATE TEMP TABLE syn_net AS
        SELECT c.ci, b.b,
               LEAST(c.nets - 1, floor(c.nets * pow(b.b / {NET_BUCKETS}.0, 1.6)))::BIGINT AS k
        FROM syn_cc c, (SELECT range AS b FROM range({NET_BUCKETS})) b""")
    con.execute(f"""
        CREATE TEMP TABLE syn_asn AS
        SELECT ci, k, (1000 + hash(ci, k, {seed}) % 64000)::BIGINT AS asn,
               (hash(ci, k, {seed}, 3) % 5)::BIGINT AS method,
               (hash(ci, k, {seed}, 4) % 10) < 8 AS blocks
        FROM (SELECT DISTINCT ci, k FROM syn_net)""")
    con.execute("""
        CREATE TEMP TABLE syn_netpick AS
        SELECT n.ci, n.b, a.asn, a.method, a.blocks,
               'AS' || a.asn || ' ' || c.cc || ' network ' || (n.k + 1) AS net_name
        FROM syn_net n JOIN syn_asn a USING (ci, k) JOIN syn_cc c USING (ci)""")
    tests, bounds = [], []
    for name, share, version, rules in TESTS:
        tests += [[name, version, rules]] * share
        bounds.append(share)
    assert len(tests) == 1000, sum(bounds)
    con.execute("CREATE TEMP TABLE syn_test (b BIGINT, test_name VARCHAR, test_version VARCHAR,"
                " rules_version VARCHAR, host VARCHAR)")
    con.executemany("INSERT INTO syn_test VALUES (?, ?, ?, ?, ?)",
                    [[b, n, v, r, APP_HOSTS.get(n)] for b, (n, v, r) in enumerate(tests)])
    # inputs: per country its own list first (when it has one), then the global list
    con.execute(f"""
        CREATE TEMP TABLE syn_url AS
        SELECT DISTINCT upper(regexp_extract(filename, '([a-z]+)\\.csv$', 1)) AS src, url
        FROM read_csv('{lists}/*.csv', filename = true, header = true, all_varchar = true,
                      union_by_name = true)
        WHERE regexp_matches(filename, '/([a-z]{{2}}|global)\\.csv$') AND url LIKE 'http%'""")
    con.execute("""
        CREATE TEMP TABLE syn_input AS
        SELECT c.ci, (row_number() OVER (PARTITION BY c.ci ORDER BY u.src = 'GLOBAL', u.url)
                      - 1)::BIGINT AS k, u.url AS input,
               lower(regexp_extract(u.url, '^[a-zA-Z]+://([^/:?#]+)', 1)) AS domain
        FROM syn_cc c JOIN syn_url u ON u.src = c.cc OR u.src = 'GLOBAL'""")
    con.execute("CREATE TEMP TABLE syn_ninput AS SELECT ci, count(*)::BIGINT AS n "
                "FROM syn_input GROUP BY ci")


def _chunk(con: duckdb.DuckDBPyConnection, lo: int, hi: int, total: int, seed: int,
           order: str) -> None:
    """Measurements ``lo``…``hi - 1`` of ``total`` with their verdicts and observations;
    ``order`` "time": the i-th measurement is at i/total of the year (plus up to 10 minutes),
    the chunk written in time order; "random": anywhere in the year, written in i order."""
    span = int((datetime.fromisoformat(END) - datetime.fromisoformat(START)).total_seconds())
    time_sql = (f"LEAST({span - 1}, (r.i * {span}) // {total} + hash(r.i, {seed}, 1) % 600)"
                if order == "time" else f"hash(r.i, {seed}, 1) % {span}")
    sort = "t, uid" if order == "time" else "i"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE syn_g AS
        SELECT r.i,
               TIMESTAMP '{START}' + to_seconds({time_sql}) AS t,
               (hash(r.i, {seed}, 2) % {CC_BUCKETS})::BIGINT AS bc,
               (hash(r.i, {seed}, 3) % {NET_BUCKETS})::BIGINT AS bn,
               (hash(r.i, {seed}, 4) % 1000)::BIGINT AS bt,
               (hash(r.i, {seed}, 5) % 1000000) / 1000000.0 AS u_input,
               (hash(r.i, {seed}, 6) % 10000)::BIGINT AS r_outcome,
               (hash(r.i, {seed}, 7) % 1000)::BIGINT AS r_block,
               hash(r.i, {seed}, 8) AS h
        FROM range({lo}, {hi}) r(i)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE syn_m AS
        WITH a AS (
            SELECT g.*, c.ci, c.cc, c.level, c.fingerprinted, n.asn, n.method, n.blocks,
                   n.net_name, tt.test_name, tt.test_version, tt.rules_version, tt.host,
                   floor(ni.n * pow(g.u_input, 2))::BIGINT AS k
            FROM syn_g g
            JOIN syn_ccpick p ON p.b = g.bc
            JOIN syn_cc c ON c.ci = p.ci
            JOIN syn_netpick n ON n.ci = c.ci AND n.b = g.bn
            JOIN syn_test tt ON tt.b = g.bt
            JOIN syn_ninput ni ON ni.ci = c.ci
        ), b AS (
            SELECT a.*,
                   CASE WHEN a.test_name = 'web_connectivity' THEN inp.input
                        ELSE {_input_sql('a.test_name')} END AS input,
                   CASE WHEN a.test_name = 'web_connectivity' THEN inp.domain
                        ELSE a.host END AS domain
            FROM a LEFT JOIN syn_input inp
              ON a.test_name = 'web_connectivity' AND inp.ci = a.ci AND inp.k = a.k
        ), c AS (
            SELECT b.*, CASE
                WHEN r_outcome < 200 THEN 'insufficient'
                WHEN r_outcome < 250 THEN 'down'
                WHEN test_name = 'web_connectivity' AND blocks
                     AND hash(cc, domain, {seed}) % 1000 < level AND r_block < 900 THEN 'blocked'
                WHEN test_name IN {APP_TESTS} AND blocks
                     AND hash(cc, test_name, {seed}) % 1000 < 4 * level AND r_block < 850
                     THEN 'blocked'
                WHEN r_block >= 985 THEN 'blocked'
                ELSE 'ok' END AS outcome
            FROM b
        ), d AS (
            SELECT c.*,
                   CASE WHEN outcome <> 'blocked' THEN NULL
                        WHEN test_name = 'web_connectivity'
                             THEN ['dns', 'tcp', 'tls', 'http', 'http'][method + 1]
                        WHEN method < 2 THEN 'tcp' ELSE 'tls' END AS layer,
                   outcome = 'blocked' AND fingerprinted AND test_name = 'web_connectivity'
                       AND method IN (0, 4) AND r_block < 900 AS confirmed
            FROM c
        )
        SELECT d.*,
               CASE WHEN layer IS NULL THEN NULL
                    WHEN layer = 'dns' AND confirmed THEN 'dns.injection.blockpage'
                    WHEN layer = 'dns' THEN (CASE WHEN h % 2 = 0 THEN 'dns.nxdomain'
                                                  ELSE 'dns.injection.bogon' END)
                    WHEN layer = 'tcp' THEN 'tcp.timeout'
                    WHEN layer = 'tls' THEN (CASE WHEN h % 3 = 0 THEN 'tls.timeout.sni'
                                                  ELSE 'tls.reset.sni' END)
                    WHEN confirmed THEN 'http.blockpage'
                    WHEN method = 3 THEN 'http.reset'
                    ELSE 'http.diff' END AS mechanism,
               CASE WHEN outcome = 'insufficient' THEN NULL
                    WHEN outcome IN ('ok', 'down') THEN 'false'
                    WHEN layer = 'dns' THEN 'dns' WHEN layer = 'tcp' THEN 'tcp_ip'
                    WHEN layer = 'tls' THEN 'tls'
                    WHEN method = 3 THEN 'http-failure' ELSE 'http-diff' END AS blocking,
               strftime(t, '%Y%m%d%H%M%S') || '.' || lpad((h % 1000000)::VARCHAR, 6, '0')
                   || '_' || cc || '_' || replace(test_name, '_', '') || '_'
                   || printf('%016x', hash(i, {seed}, 9)) AS uid,
               strftime(t - to_seconds(h % 3600), '%Y%m%dT%H0000Z') || '_'
                   || replace(test_name, '_', '') || '_' || cc || '_' || asn || '_n1_'
                   || substr(md5(cc || asn || strftime(t, '%Y%m%d%H') || (h % 7)), 1, 16)
                   AS report_id,
               ((h // 7) % 4)::BIGINT AS sw,
               (hash(domain) % 223 + 1) || '.' || (hash(domain) // 223 % 256) || '.'
                   || (hash(domain) // 57088 % 256) || '.' || (hash(domain) // 14614528 % 254 + 1)
                   AS ip
        FROM d
        ORDER BY {sort}""")
    con.execute("""
        INSERT INTO measurements (measurement_uid, report_id, input, domain, probe_cc,
            probe_asn, probe_network_name, test_name, test_version, software_name,
            software_version, measurement_start_time, test_start_time, test_runtime, platform,
            engine_name, engine_version, architecture, network_type, resolver_ip,
            resolver_asn, resolver_network_name, anomaly, confirmed, failure, blocking_type)
        SELECT uid, report_id, input, domain, cc, asn, net_name, test_name, test_version,
               ['ooniprobe-android', 'ooniprobe-cli', 'ooniprobe-desktop', 'ooniprobe-ios'][sw + 1],
               ['3.22.0', '3.21.1', '3.20.0', '3.22.0'][sw + 1],
               t, t - to_seconds(h % 3600), 1.0 + (h % 30000) / 1000.0,
               ['android', 'linux', 'windows', 'ios'][sw + 1], 'ooniprobe-engine', '3.22.0',
               ['arm64', 'amd64', 'amd64', 'arm64'][sw + 1],
               CASE WHEN sw IN (0, 3) THEN 'mobile' ELSE 'wifi' END,
               CASE WHEN h % 5 = 0 THEN '8.8.8.8' ELSE '10.' || (asn % 256) || '.0.53' END,
               CASE WHEN h % 5 = 0 THEN 15169 ELSE asn END,
               CASE WHEN h % 5 = 0 THEN 'Google LLC' ELSE net_name END,
               outcome = 'blocked', confirmed, outcome = 'insufficient',
               CASE WHEN blocking = 'false' THEN NULL ELSE blocking END
        FROM syn_m""")
    con.execute("""
        INSERT INTO verdicts (measurement_uid, rules_version, outcome, layer, mechanism,
            blocking, anomaly, confirmed, failure, rule_id, fingerprints, evidence,
            evidence_data)
        SELECT uid, rules_version || CASE WHEN test_name = 'web_connectivity'
                                          THEN '+fp.synthetic0001' ELSE '' END,
               outcome, layer, mechanism, blocking, outcome = 'blocked', confirmed,
               outcome = 'insufficient',
               'synth.' || coalesce(mechanism, outcome),
               CASE WHEN confirmed THEN ['synth.' || lower(cc) || '_blockpage']
                    ELSE []::VARCHAR[] END,
               [text], to_json([{'claim': 'synth.' || coalesce(mechanism, outcome),
                                 'source': 'probe', 'text': text,
                                 'facts': {'hostname': domain, 'address': ip}}])::VARCHAR
        FROM (SELECT *, CASE outcome
                  WHEN 'ok' THEN 'The probe reached ' || coalesce(domain, test_name)
                                 || ' as the control did.'
                  WHEN 'down' THEN 'Neither the probe nor the control reached '
                                   || coalesce(domain, test_name) || '.'
                  WHEN 'insufficient' THEN 'The measurement of '
                                           || coalesce(domain, test_name)
                                           || ' has too few facts to decide.'
                  ELSE 'The probe''s ' || layer || ' step towards '
                       || coalesce(domain, test_name) || ' failed (' || mechanism
                       || ') while the control''s succeeded.' END AS text
              FROM syn_m)""")
    con.execute("""
        INSERT INTO observations (measurement_uid, observation_idx, origin, hostname, ip,
            port, ip_is_bogon, dns_query_type, dns_engine, dns_resolver_address, dns_failure,
            dns_answer_type, dns_answer, dns_answer_asn, dns_t, tcp_success, tcp_failure,
            tcp_t, tls_server_name, tls_version, tls_failure, tls_success, tls_t,
            http_request_url, http_request_method, http_failure, http_success,
            http_response_status_code, http_response_body_length, http_t)
        WITH s AS (
            SELECT uid, domain, input, h, layer, mechanism,
                   CASE WHEN mechanism = 'dns.nxdomain' THEN NULL
                        WHEN mechanism = 'dns.injection.blockpage' THEN '10.10.34.36'
                        WHEN mechanism = 'dns.injection.bogon' THEN '127.0.0.1'
                        ELSE ip END AS ans,
                   CASE WHEN layer = 'dns' THEN NULL
                        ELSE layer IS DISTINCT FROM 'tcp' AND outcome <> 'down' END AS tcp_ok,
                   CASE WHEN tcp_ok THEN layer IS DISTINCT FROM 'tls' END AS tls_ok,
                   CASE WHEN tls_ok THEN mechanism IS DISTINCT FROM 'http.reset' END AS http_ok
            FROM syn_m)
        SELECT uid, 0, 'probe', domain, ans, 443,
               mechanism IN ('dns.injection.blockpage', 'dns.injection.bogon'), 'A',
               'system', '', CASE WHEN mechanism = 'dns.nxdomain' THEN 'dns_nxdomain_error' END,
               CASE WHEN ans IS NOT NULL THEN 'A' END, ans,
               CASE WHEN layer IS DISTINCT FROM 'dns' AND ans IS NOT NULL THEN 13335 END,
               0.01 + (h % 90) / 1000.0,
               tcp_ok, CASE WHEN NOT tcp_ok THEN 'generic_timeout_error' END,
               CASE WHEN tcp_ok IS NOT NULL THEN 0.05 + (h % 200) / 1000.0 END,
               CASE WHEN tcp_ok THEN domain END, CASE WHEN tls_ok THEN 'TLSv1.3' END,
               CASE WHEN NOT tls_ok AND mechanism = 'tls.timeout.sni' THEN 'generic_timeout_error'
                    WHEN NOT tls_ok THEN 'connection_reset' END,
               tls_ok, CASE WHEN tcp_ok THEN 0.1 + (h % 300) / 1000.0 END,
               CASE WHEN tls_ok THEN coalesce(input, 'https://' || domain || '/') END,
               CASE WHEN tls_ok THEN 'GET' END,
               CASE WHEN NOT http_ok THEN 'connection_reset' END, http_ok,
               CASE WHEN http_ok THEN 200 END,
               CASE WHEN http_ok AND mechanism IN ('http.blockpage', 'http.diff') THEN 1480
                    WHEN http_ok THEN 20000 + h % 100000 END,
               CASE WHEN tls_ok THEN 0.3 + (h % 900) / 1000.0 END
        FROM s
        UNION ALL
        SELECT uid, 1, 'control', domain, ip, 443, false, 'A', 'system', '', NULL, 'A', ip,
               13335, 0.02, true, NULL, 0.04, domain, 'TLSv1.3', NULL, true, 0.09, input,
               'GET', NULL, true, 200, 20000 + h % 100000, 0.25
        FROM syn_m WHERE test_name = 'web_connectivity' AND outcome <> 'down'""")
    con.execute("DROP TABLE syn_g")
    con.execute("DROP TABLE syn_m")


def _input_sql(test: str) -> str:
    cases = " ".join(f"WHEN {test} = '{name}' THEN '{value}'"
                     for name, value in INPUT_TESTS.items() if value is not None)
    return f"CASE {cases} ELSE NULL END"


def census(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Counts of what the store holds: rows per table, MAT classes, countries, networks."""
    (m, anomaly, confirmed, failure, ccs, asns, domains, tmin, tmax) = con.execute(
        "SELECT count(*), count(*) FILTER (anomaly), count(*) FILTER (confirmed), "
        "count(*) FILTER (failure), count(DISTINCT probe_cc), count(DISTINCT probe_asn), "
        "count(DISTINCT domain), min(measurement_start_time), max(measurement_start_time) "
        "FROM measurements").fetchone() or ()
    obs = (con.execute("SELECT count(*) FROM observations").fetchone() or (0,))[0]
    ver = (con.execute("SELECT count(*) FROM verdicts").fetchone() or (0,))[0]
    wc = (con.execute("SELECT count(*) FROM measurements WHERE test_name = 'web_connectivity'")
          .fetchone() or (0,))[0]
    top = con.execute("SELECT probe_cc, count(*) AS n FROM measurements GROUP BY 1 "
                      "ORDER BY n DESC LIMIT 3").fetchall()
    return {
        "measurements": m, "verdicts": ver, "observations": obs,
        "anomaly_share": round(anomaly / m, 4) if m else 0.0,
        "confirmed_share": round(confirmed / m, 4) if m else 0.0,
        "failure_share": round(failure / m, 4) if m else 0.0,
        "web_connectivity_share": round(wc / m, 4) if m else 0.0,
        "countries": ccs, "networks": asns, "domains": domains,
        "top_countries": [[cc, n] for cc, n in top],
        "first": str(tmin), "last": str(tmax),
    }


def generate(path: Path, measurements: int, *, seed: int = 1, chunk: int = 1_000_000,
             order: str = "time", memory_limit: str = "3GB", threads: int = 2
             ) -> dict[str, Any]:
    """Write a synthetic store of ``measurements`` measurements into the new DuckDB file
    ``path`` (which must not exist); returns the census and the seconds taken. ``order``:
    "time" (as ingest and the collector write) or "random" (no time locality at all)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}")
    if path.exists():
        raise FileExistsError(f"{path} exists; remove it first")
    began = time.perf_counter()
    open_store(f"duckdb://{path}").close()  # the real schema, through its migrations
    con = duckdb.connect(str(path))
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET threads = {int(threads)}")
        con.execute(f"SET temp_directory = '{path}.tmp'")
        _setup(con, seed)
        for lo in range(0, measurements, chunk):
            con.execute("BEGIN TRANSACTION")
            _chunk(con, lo, min(measurements, lo + chunk), measurements, seed, order)
            con.execute("COMMIT")
        con.execute("CHECKPOINT")
        out = census(con)
    finally:
        con.close()
    out["seconds"] = round(time.perf_counter() - began, 1)
    out["file_mib"] = round(path.stat().st_size / 2**20)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="DuckDB file to create")
    ap.add_argument("--measurements", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=1_000_000)
    ap.add_argument("--order", choices=ORDERS, default="time",
                    help="time: rows in time order as ingest writes them; random: no locality")
    ap.add_argument("--memory-limit", default="3GB")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = ap.parse_args()
    if args.force:
        args.out.unlink(missing_ok=True)
        Path(f"{args.out}.wal").unlink(missing_ok=True)
    out = generate(args.out, args.measurements, seed=args.seed, chunk=args.chunk,
                   order=args.order, memory_limit=args.memory_limit)
    print(json.dumps({"bench": "synthstore", "path": str(args.out), "order": args.order,
                      **out}))


if __name__ == "__main__":
    main()
