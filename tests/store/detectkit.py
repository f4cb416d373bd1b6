"""Rows for detection tests: measurements with a verdict (and observation rows), built small.

Used by tests/store (the store's point read and result tables) and tests/ingest (the detect,
incidents and outages commands).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from censorscope.model.rows import MeasurementRow, ObservationRow, VerdictRow, make_observation

T0 = datetime(2022, 9, 1)


def measurement(uid: str, at: datetime, cc: str = "AZ", asn: int = 29049,
                test_name: str = "web_connectivity", domain: str | None = "www.tiktok.com",
                input_: str | None = None, network: str = "Delta Telecom") -> MeasurementRow:
    if input_ is None and domain is not None:
        input_ = f"https://{domain}/"
    return MeasurementRow(
        uid, f"report-{uid}", input_, domain, cc, asn, network, test_name, "0.1", "censorscope",
        "0.1", at, at, 1.0, "linux", None, None, None, None, None, None, None)


_BLOCKED = {"dns": "dns.nxdomain", "tcp": "tcp.timeout", "tls": "tls.timeout.sni",
            "http": "http.blockpage"}


def verdict(uid: str, outcome: str = "ok", layer: str | None = None,
            rules_version: str = "cs-1") -> VerdictRow:
    mechanism = _BLOCKED.get(layer or "") if outcome in ("blocked", "impaired") else None
    blocked = outcome == "blocked"
    return VerdictRow(uid, rules_version, outcome, layer, mechanism,
                      (layer or "false") if blocked else "false", blocked, False,
                      outcome == "insufficient", f"rule.{outcome}", [], [f"{outcome}."])


def observation(uid: str, idx: int, origin: str = "probe", **facts: object) -> ObservationRow:
    return make_observation(uid, idx, origin, facts)


def series(prefix: str, start: datetime, outcomes: str, *, step: timedelta = timedelta(hours=1),
           layer: str = "tls", **kw: object
           ) -> tuple[list[MeasurementRow], list[VerdictRow]]:
    """One measurement per character of ``outcomes`` (``o`` ok, ``b`` blocked at ``layer``,
    ``d`` down, ``i`` insufficient), ``step`` apart."""
    names = {"o": "ok", "b": "blocked", "d": "down", "i": "insufficient"}
    ms, vs = [], []
    for i, ch in enumerate(outcomes):
        uid = f"{prefix}-{i:04d}"
        ms.append(measurement(uid, start + i * step, **kw))  # type: ignore[arg-type]
        outcome = names[ch]
        vs.append(verdict(uid, outcome, layer if outcome == "blocked" else None))
    return ms, vs


def tiktok_case(asns: dict[int, int | None], *, hours: int = 48, cc: str = "AZ"
                ) -> tuple[list[MeasurementRow], list[VerdictRow]]:
    """Hourly web_connectivity measurements of www.tiktok.com from each AS of ``asns``,
    clean until the hour given (blocked at TLS from then on; None: never blocked)."""
    ms: list[MeasurementRow] = []
    vs: list[VerdictRow] = []
    for asn, onset in asns.items():
        outcomes = "".join("b" if onset is not None and h >= onset else "o"
                           for h in range(hours))
        m, v = series(f"{cc}{asn}", T0, outcomes, cc=cc, asn=asn, network=f"AS{asn} Net")
        ms += m
        vs += v
    return ms, vs
