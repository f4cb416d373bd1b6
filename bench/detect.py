"""Benchmark: detection end to end over millions of stored verdicts on DuckDB.

Generates ``--count`` measurements (default 10 million) with one verdict each straight into a
DuckDB store with DuckDB's own SQL (``range()``; no Python per row): 5 countries × 20
networks × 300 domains over 30 days. Most measurements are clean; the story in them:

- country ``AZ``: the TikTok names (from the bundled endpoint set) blocked at TLS on three
  networks, each from its own onset (days 14, 16, 18);
- country ``AM``: one domain blocked by DNS on all 20 networks from day 10 (a national block);
- country ``KZ``: one network's measurements all fail (``down``) for six hours of day 20;
- everywhere: 0.3 % ``insufficient`` noise.

Then it runs detection exactly as ``censorscope detect --store URL`` does (store read →
``pipeline.detect.detect`` → ``replace_detections``) and prints one JSON object with the
times of each step and what was found. ``--keep`` reuses a store generated before.

    .venv/bin/python bench/detect.py [--count 10000000] [--store PATH] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from censorscope.ingest.detection import run_detection  # noqa: E402
from censorscope.model.services import KNOWN_SERVICES  # noqa: E402,F401
from censorscope.pipeline.detect.targets import bundled_targets  # noqa: E402
from censorscope.store import open_store  # noqa: E402
from censorscope.store.detections import DetectionWindow  # noqa: E402

COUNTRIES = ("AZ", "AM", "KZ", "TR", "IR")
NETS_PER_COUNTRY = 20
DOMAINS = 300
DAYS = 30


def _tiktok_names() -> list[str]:
    tmap = bundled_targets()
    return sorted(d for d in tmap if "tiktok" in tmap[d])[:8]


def generate(path: Path, count: int) -> float:
    """Write ``count`` measurements and verdicts into the store at ``path``; seconds taken."""
    began = time.perf_counter()
    tiktok = _tiktok_names()
    store = open_store(f"duckdb://{path}")
    store.close()
    import duckdb

    con = duckdb.connect(str(path))
    names = tiktok + [f"site{i:03d}.example" for i in range(DOMAINS - len(tiktok))]
    con.execute("CREATE TEMP TABLE dom AS SELECT (row_number() OVER () - 1)::BIGINT AS d, "
                "name FROM (SELECT unnest(?) AS name)", [names])
    nets = len(COUNTRIES) * NETS_PER_COUNTRY
    span = DAYS * 86400
    con.execute(f"""
        CREATE TEMP TABLE gen AS
        SELECT i,
               printf('cs-%010d', i) AS uid,
               (i % {nets}) AS net,
               (hash(i) % {DOMAINS})::BIGINT AS d,
               TIMESTAMP '2022-09-01' + to_seconds((i * {span}) // {count}) AS t,
               (hash(i * 7 + 1) % 1000)::BIGINT AS noise
        FROM range({count}) r(i)
    """)
    con.execute(f"""
        CREATE TEMP TABLE g2 AS
        SELECT g.uid, g.t, g.noise, dom.name AS domain, dom.d,
               list_extract(?, (g.net // {NETS_PER_COUNTRY})::INTEGER + 1) AS cc,
               (g.net % {NETS_PER_COUNTRY}) AS k,
               10000 + g.net AS asn,
               datediff('second', TIMESTAMP '2022-09-01', g.t) / 86400.0 AS day
        FROM gen g JOIN dom ON dom.d = g.d
    """, [list(COUNTRIES)])
    con.execute(f"""
        CREATE TEMP TABLE g3 AS
        SELECT *, CASE
            WHEN cc = 'AZ' AND d < {len(tiktok)} AND k < 3 AND day >= 14 + 2 * k
                THEN 'tls'
            WHEN cc = 'AM' AND d = {len(tiktok)} AND day >= 10 THEN 'dns'
            WHEN cc = 'KZ' AND k = 7 AND day >= 20 AND day < 20.25 THEN 'down'
            WHEN noise < 3 THEN 'insufficient'
            ELSE 'ok' END AS what
        FROM g2
    """)
    con.execute("""
        INSERT INTO measurements (measurement_uid, report_id, input, domain, probe_cc,
            probe_asn, probe_network_name, test_name, test_version, software_name,
            software_version, measurement_start_time, test_start_time, test_runtime, platform,
            anomaly, confirmed, failure, blocking_type)
        SELECT uid, 'report-' || cc || asn, 'https://' || domain || '/', domain, cc, asn,
               'AS' || asn || ' Net', 'web_connectivity', '0.4.3', 'censorscope', '0.1', t, t,
               1.0, 'linux', what IN ('tls', 'dns'), false, what = 'insufficient',
               CASE what WHEN 'tls' THEN 'tls' WHEN 'dns' THEN 'dns' ELSE NULL END
        FROM g3
    """)
    con.execute("""
        INSERT INTO verdicts (measurement_uid, rules_version, outcome, layer, mechanism,
            blocking, anomaly, confirmed, failure, rule_id, fingerprints, evidence)
        SELECT uid, 'cs-web-1',
               CASE WHEN what IN ('tls', 'dns') THEN 'blocked' ELSE what END,
               CASE what WHEN 'tls' THEN 'tls' WHEN 'dns' THEN 'dns'
                         WHEN 'down' THEN 'tcp' ELSE NULL END,
               CASE what WHEN 'tls' THEN 'tls.timeout.sni' WHEN 'dns' THEN 'dns.nxdomain'
                         ELSE NULL END,
               CASE what WHEN 'tls' THEN 'tls' WHEN 'dns' THEN 'dns' ELSE 'false' END,
               what IN ('tls', 'dns'), false, what = 'insufficient', 'bench.' || what,
               []::VARCHAR[], ['generated']
        FROM g3
    """)
    con.close()
    return time.perf_counter() - began


def run(path: Path) -> dict[str, object]:
    store = open_store(f"duckdb://{path}")
    try:
        verdicts = store.count("verdicts")
        began = time.perf_counter()
        result = run_detection(store, DetectionWindow())
        total = time.perf_counter() - began
        d = result.detection
        return {
            "bench": "detect", "engine": "duckdb", "verdicts": verdicts,
            "points": result.points, "seconds": round(total, 2),
            "change_points": len(d.change_points), "incidents": len(d.incidents),
            "outages": len(d.outages), "written": result.written,
            "incident_titles": [i.title for i in d.incidents][:10],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        }
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10_000_000)
    ap.add_argument("--store", type=Path, default=None, help="DuckDB file (default: a temp)")
    ap.add_argument("--keep", action="store_true", help="reuse the store at --store")
    args = ap.parse_args()
    tmp = None
    path = args.store
    if path is None:
        tmp = tempfile.TemporaryDirectory(prefix="cs-bench-detect-")
        path = Path(tmp.name) / "detect.duckdb"
    gen_s = None
    if not (args.keep and path.exists()):
        path.unlink(missing_ok=True)
        gen_s = round(generate(path, args.count), 2)
    out = run(path)
    out["generate_seconds"] = gen_s
    print(json.dumps(out))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
