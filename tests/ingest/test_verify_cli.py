"""``censorscope verify``: stored evidence statements re-checked against the stored data.

Real OONI samples are ingested into a real DuckDB file; every statement must check true; a
statement whose fact is changed in the store (an address, a failure string) must be reported
false with exit status 1; the raw measurement is read back from the ingested file when a claim
needs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import orjson
from click.testing import CliRunner

from censorscope.cli.main import cli
from censorscope.pipeline.evidence import CLAIMS, render

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ooni-samples"


def _ingest(tmp_path: Path) -> str:
    files = sorted(str(p) for p in (SAMPLES / "webconnectivity-real").glob("*/measurement.json"))
    files += sorted(str(p) for p in (SAMPLES / "fastpath").glob("*.json"))
    url = f"duckdb:///{tmp_path / 's.duckdb'}"
    result = CliRunner().invoke(cli, ["ingest", "--store", url, *files])
    assert result.exit_code in (0, 1), result.output
    return url


def _verify(url: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["verify", "--store", url, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_every_stored_statement_of_the_real_samples_is_true(tmp_path: Path) -> None:
    url = _ingest(tmp_path)
    code, out = _verify(url)
    assert code == 0, out["false_statements"]
    assert out["verdicts"] >= 40 and out["statements"] >= out["verdicts"]
    assert out["false"] == 0 and out["without_data"] == 0
    assert out["true"] + out["needs_raw"] == out["statements"]


def _tamper(path: Path) -> str:
    """Change the first fact that is an address or a failure in one stored statement (and its
    sentence, re-rendered, so only the fact is wrong); returns the claim changed."""
    con = duckdb.connect(str(path))
    rows = con.execute("SELECT measurement_uid, rules_version, evidence_data FROM verdicts "
                       "ORDER BY measurement_uid").fetchall()
    for uid, version, data in rows:
        items = orjson.loads(data)
        for item in items:
            facts = item["facts"]
            for key in ("ip", "address", "failure", "hostname"):
                if isinstance(facts.get(key), str) and facts[key]:
                    facts[key] = "203.0.113.99" if key in ("ip", "address") else "bogus_value"
                    item["text"] = render(CLAIMS[item["claim"]].template, facts)
                    con.execute("UPDATE verdicts SET evidence_data = ? WHERE measurement_uid = ? "
                                "AND rules_version = ?", [orjson.dumps(items).decode(), uid,
                                                          version])
                    con.close()
                    return str(item["claim"])
    con.close()
    raise AssertionError("no statement with an address or failure to tamper with")


def test_a_changed_fact_is_reported_false(tmp_path: Path) -> None:
    url = _ingest(tmp_path)
    claim_id = _tamper(tmp_path / "s.duckdb")
    code, out = _verify(url)
    assert code == 1
    assert out["false"] == 1, out["false_statements"]
    assert out["false_statements"][0]["claim"] == claim_id


def test_a_reworded_sentence_is_reported_false(tmp_path: Path) -> None:
    url = _ingest(tmp_path)
    con = duckdb.connect(str(tmp_path / "s.duckdb"))
    uid, version, data = con.execute("SELECT measurement_uid, rules_version, evidence_data "
                                     "FROM verdicts LIMIT 1").fetchone()
    items = orjson.loads(data)
    items[0]["text"] += " (and the moon is made of cheese)"
    con.execute("UPDATE verdicts SET evidence_data = ? WHERE measurement_uid = ? AND "
                "rules_version = ?", [orjson.dumps(items).decode(), uid, version])
    con.close()
    code, out = _verify(url)
    assert code == 1 and out["false"] == 1
    assert "not the rendering of its facts" in out["false_statements"][0]["why"]


def test_an_unreadable_store_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.duckdb"
    bad.write_text("this is not a database")
    result = CliRunner().invoke(cli, ["verify", "--store", f"duckdb:///{bad}"])
    assert result.exit_code == 2
    assert "cannot open the store" in result.output and "Traceback" not in result.output
