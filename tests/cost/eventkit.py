"""The store of the event tests: a real DuckDB store with detection results, built from
measurements written as ingest writes them, then ``censorscope detect`` (the real command).

The scenario (Azerbaijan, from 2020-09-27 00:00 UTC, 48 hours): three networks measure ten
targets every hour (nine sites and www.tiktok.com, six minutes apart), each with a control
observation. AS28787 and AS31721 are shut down from hour 20 to hour 29 (every measurement
``down``, the control unreachable — but one: AS28787's first of hour 25 still reached it);
AS39232 blocks TikTok at TLS from hour 10 on, and site8.example at DNS from hour 30 on
(``shut_networks`` changes who is shut down).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))

from detectkit import measurement, observation, verdict

from censorscope.cli.main import cli
from censorscope.model.rows import MeasurementRow, ObservationRow, VerdictRow
from censorscope.store import open_store

T0 = datetime(2020, 9, 27)
HOURS = 48
NETWORKS = {28787: "Baktelekom", 31721: "Azercell", 39232: "Uninet"}
TARGETS = (*(f"site{i}.example" for i in range(9)), "www.tiktok.com")
SHUT = frozenset({28787, 31721})
SHUT_HOURS = range(20, 30)
CONTROL_STILL_REACHED = ("AZ28787", 25, 0)  # (network prefix, hour, target index)
TIKTOK_BLOCKER, TIKTOK_ONSET = 39232, 10
SITE_BLOCKED, SITE_ONSET = "site8.example", 30  # by TIKTOK_BLOCKER too, at DNS


@dataclass(frozen=True)
class Made:
    """One generated measurement (what the test knows without asking the store)."""

    uid: str
    asn: int
    at: datetime
    outcome: str
    control_ok: bool


def scenario(t0: datetime = T0, cc: str = "AZ", shut_networks: frozenset[int] = SHUT
             ) -> tuple[list[MeasurementRow], list[ObservationRow], list[VerdictRow],
                        list[Made]]:
    ms: list[MeasurementRow] = []
    obs: list[ObservationRow] = []
    vs: list[VerdictRow] = []
    made: list[Made] = []
    for asn, name in NETWORKS.items():
        for h in range(HOURS):
            for k, domain in enumerate(TARGETS):
                uid = f"{cc}{asn}-{h:02d}-{k}"
                at = t0 + timedelta(hours=h, minutes=6 * k)
                shut = asn in shut_networks and h in SHUT_HOURS
                control_ok = not shut or (f"{cc}{asn}", h, k) == CONTROL_STILL_REACHED
                if shut:
                    outcome, layer = "down", None
                elif (asn == TIKTOK_BLOCKER and h >= TIKTOK_ONSET
                      and domain == "www.tiktok.com"):
                    outcome, layer = "blocked", "tls"
                elif asn == TIKTOK_BLOCKER and h >= SITE_ONSET and domain == SITE_BLOCKED:
                    outcome, layer = "blocked", "dns"
                else:
                    outcome, layer = "ok", None
                ms.append(measurement(uid, at, cc=cc, asn=asn, domain=domain, network=name))
                obs.append(observation(uid, 0, "control", ip="192.0.2.10", port=443,
                                       tcp_success=control_ok))
                vs.append(verdict(uid, outcome, layer))
                made.append(Made(uid, asn, at, outcome, control_ok))
    return ms, obs, vs, made


@dataclass(frozen=True)
class DetectedStore:
    url: str
    made: list[Made]


def build_store(path: Path, t0: datetime = T0, shut_networks: frozenset[int] = SHUT
                ) -> DetectedStore:
    url = f"duckdb://{path}"
    ms, obs, vs, made = scenario(t0, shut_networks=shut_networks)
    with open_store(url) as store:
        store.write_batch(ms, obs, vs)
    result = CliRunner().invoke(cli, ["detect", "--store", url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return DetectedStore(url, made)
