"""Store test kit: real ClickHouse servers (started with scripts/clickhouse.sh), throwaway
databases per test, and a dataset built from the real OONI samples.

Used by tests/store and tests/ingest (their conftest puts this directory on sys.path).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from clickhouse_driver import Client

from censorscope.ingest import rows_of
from censorscope.pipeline.observe import (
    MeasurementRow,
    ObservationRow,
    VerdictRow,
    is_measurement,
    with_verdict,
)
from censorscope.store import open_store
from censorscope.store.base import Store

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "data" / "ooni-samples"
SAMPLE_DIRS = ("fastpath", "webconnectivity-real", "spec-examples")
CH_HOST = os.environ.get("CENSORSCOPE_CH_HOST", "127.0.0.1")
CH_PORT = int(os.environ.get("CENSORSCOPE_CH_PORT", "9000"))
CH_CLUSTER = "censorscope_2shards"
ENGINES = [
    "duckdb",
    pytest.param("clickhouse", marks=pytest.mark.clickhouse),
    pytest.param("clickhouse_cluster", marks=pytest.mark.clickhouse),
]


def _answers(port: int) -> bool:
    client = Client(CH_HOST, port=port, connect_timeout=2, send_receive_timeout=5)
    try:
        client.execute("SELECT 1")
        return True
    except Exception:
        return False
    finally:
        client.disconnect()


def ensure_clickhouse() -> None:
    """Both local servers up, started with scripts/clickhouse.sh if needed; fail otherwise."""
    if _answers(CH_PORT) and _answers(CH_PORT + 1):
        return
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "clickhouse.sh"), "start", "--shards", "2",
         "--port", str(CH_PORT)], capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0 or not (_answers(CH_PORT) and _answers(CH_PORT + 1)):
        pytest.fail(f"cannot start ClickHouse with scripts/clickhouse.sh: "
                    f"{proc.stdout}\n{proc.stderr}", pytrace=False)


def store_url(engine: str, database: str, tmp_path: Path) -> str:
    if engine == "duckdb":
        return f"duckdb://{tmp_path / (database + '.duckdb')}"
    if engine == "clickhouse":
        return f"clickhouse://{CH_HOST}:{CH_PORT}/{database}"
    return f"clickhouse+cluster://{CH_HOST}:{CH_PORT}/{database}?cluster={CH_CLUSTER}"


def drop_database(engine: str, database: str) -> None:
    if engine == "duckdb":
        return
    ports = [CH_PORT] if engine == "clickhouse" else [CH_PORT, CH_PORT + 1]
    for port in ports:
        client = Client(CH_HOST, port=port)
        try:
            client.execute(f"DROP DATABASE IF EXISTS {database}")
        finally:
            client.disconnect()


def open_test_store(engine: str, tmp_path: Path) -> Iterator[Store]:
    if engine != "duckdb":
        ensure_clickhouse()
    database = f"cs_test_{uuid.uuid4().hex[:12]}"
    store = open_store(store_url(engine, database, tmp_path))
    try:
        yield store
    finally:
        store.close()
        drop_database(engine, database)


def sample_files() -> list[Path]:
    """Every sample file that holds one OONI measurement (JSON with test_name + test_keys)."""
    out = []
    for sub in SAMPLE_DIRS:
        for path in sorted((SAMPLES / sub).rglob("*")):
            if path.suffix != ".json":
                continue
            obj = orjson.loads(path.read_bytes())
            if is_measurement(obj):
                out.append(path)
    return out


def _flags(uid: str) -> VerdictRow:
    """A deterministic, varied verdict so that aggregates have every class."""
    h = hashlib.sha256(uid.encode()).digest()[0]
    anomaly, confirmed, failure = bool(h & 1), bool(h & 2) and bool(h & 1), bool(h & 4)
    return VerdictRow(measurement_uid=uid, rules_version="test-1",
                      outcome="blocked" if anomaly else "ok", layer="dns" if anomaly else None,
                      mechanism="dns.nxdomain" if anomaly else None,
                      blocking="dns" if anomaly else "false", anomaly=anomaly,
                      confirmed=confirmed, failure=failure, rule_id=f"r{h % 7}",
                      fingerprints=[f"fp{h % 3}"] if confirmed else [],
                      evidence=[f"sentence {h}"],
                      evidence_data=None if h % 5 == 0 else orjson.dumps([{
                          "claim": "keys.value", "source": "probe", "text": f"sentence {h}",
                          "facts": {"key": "test_keys.x", "value": h}}]).decode())


def dataset(copies: int = 3) -> tuple[list[MeasurementRow], list[ObservationRow],
                                      list[VerdictRow]]:
    """Rows of every sample measurement, ``copies`` times with distinct uids and shifted days,
    each with a verdict whose flags vary."""
    ms: list[MeasurementRow] = []
    obs: list[ObservationRow] = []
    vs: list[VerdictRow] = []
    for path in sample_files():
        msm: dict[str, Any] = orjson.loads(path.read_bytes())
        for copy in range(copies):
            variant = dict(msm)
            variant["measurement_uid"] = f"{path.parent.name}-{path.stem}-{copy}"
            start = variant.get("measurement_start_time")
            if isinstance(start, str) and copy:
                day = f"{(copy % 28) + 1:02d}"
                variant["measurement_start_time"] = start[:8] + day + start[10:]
            m, o, _ = rows_of(variant)
            v = _flags(m.measurement_uid)
            ms.append(with_verdict(m, v))
            obs.extend(o)
            vs.append(v)
    return ms, obs, vs


def reference_aggregate(rows: list[MeasurementRow], keys: list[str]) -> list[dict[str, Any]]:
    """The MAT aggregation computed in Python, the oracle for both engines."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        values = tuple(
            (r.measurement_start_time.date() if r.measurement_start_time else None)
            if k == "day" else getattr(r, k) for k in keys)
        g = groups.setdefault(values, {**dict(zip(keys, values, strict=True)),
                                       "anomaly_count": 0, "confirmed_count": 0,
                                       "failure_count": 0, "ok_count": 0,
                                       "measurement_count": 0})
        g["measurement_count"] += 1
        if r.failure:
            g["failure_count"] += 1
        elif r.confirmed:
            g["confirmed_count"] += 1
        elif r.anomaly:
            g["anomaly_count"] += 1
        else:
            g["ok_count"] += 1
    return sorted(groups.values(), key=lambda g: tuple(
        (g[k] is not None, g[k] if g[k] is not None else 0) for k in keys))
