"""The three row types the store keeps: one per measurement, per observation, per verdict.

They are ``NamedTuple``s: cheap to build in the hot ingest loop, immutable, and transposed into
columns with ``zip(*rows)`` for columnar inserts. The store derives its schema from
``ROW_COLUMNS`` (column name → logical type), so a field added here plus a migration is all a
new column needs.

Logical types: ``str``, ``int``, ``float``, ``bool``, ``datetime`` (naive, UTC) and ``list``
(list of strings); a ``?`` suffix means the column is nullable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, NamedTuple


class MeasurementRow(NamedTuple):
    """Metadata and MAT flags of one measurement, like OONI's ``fastpath`` table (§1.4).

    ``probe_asn``/``resolver_asn`` are integers (``"AS30722"`` → 30722, missing → 0 / None).
    ``input`` is the measurement's input; a list input (meek) is written ``"{a,b}"`` as fastpath
    does. ``archive_*`` point at the raw body: the source file (``file!member`` inside a tar),
    and the byte offset and length of the body in the (decompressed) stream.
    """

    measurement_uid: str
    report_id: str
    input: str | None
    domain: str | None
    probe_cc: str
    probe_asn: int
    probe_network_name: str | None
    test_name: str
    test_version: str | None
    software_name: str | None
    software_version: str | None
    measurement_start_time: datetime | None
    test_start_time: datetime | None
    test_runtime: float | None
    platform: str | None
    engine_name: str | None
    engine_version: str | None
    architecture: str | None
    network_type: str | None
    resolver_ip: str | None
    resolver_asn: int | None
    resolver_network_name: str | None
    anomaly: bool = False
    confirmed: bool = False
    failure: bool = False
    blocking_type: str | None = None
    archive_file: str | None = None
    archive_offset: int | None = None
    archive_length: int | None = None


class ObservationRow(NamedTuple):
    """One DNS answer or one endpoint (ip, port) of a measurement, modelled on OONI's
    ``obs_web`` (§2.3): DNS, TCP, TLS and HTTP facts about the same endpoint share one sparse
    row. ``origin`` is ``"probe"`` or ``"control"`` (the test helper's view).

    ``http_response_headers`` (a JSON object) and ``http_response_body`` (the body as text,
    kept only when it is at most ``BODY_KEEP_BYTES``: blockpages are small) let ``reprocess``
    match HTTP fingerprints again without the raw file (migration 2)."""

    measurement_uid: str
    observation_idx: int
    origin: str
    hostname: str | None = None
    transaction_id: int | None = None
    ip: str | None = None
    port: int | None = None
    ip_is_bogon: bool | None = None
    dns_query_type: str | None = None
    dns_engine: str | None = None
    dns_resolver_address: str | None = None
    dns_failure: str | None = None
    dns_rcode: int | None = None
    dns_answer_type: str | None = None
    dns_answer: str | None = None
    dns_answer_asn: int | None = None
    dns_t: float | None = None
    tcp_success: bool | None = None
    tcp_failure: str | None = None
    tcp_t: float | None = None
    tls_server_name: str | None = None
    tls_version: str | None = None
    tls_cipher_suite: str | None = None
    tls_failure: str | None = None
    tls_success: bool | None = None
    tls_no_verify: bool | None = None
    tls_cert_chain_length: int | None = None
    tls_handshake_read_count: int | None = None
    tls_handshake_write_count: int | None = None
    tls_handshake_read_bytes: int | None = None
    tls_handshake_write_bytes: int | None = None
    tls_handshake_last_operation: str | None = None
    tls_t: float | None = None
    http_request_url: str | None = None
    http_request_method: str | None = None
    http_failure: str | None = None
    http_success: bool | None = None
    http_response_status_code: int | None = None
    http_response_body_length: int | None = None
    http_response_body_is_truncated: bool | None = None
    http_response_body_sha1: str | None = None
    http_response_title: str | None = None
    http_response_header_location: str | None = None
    http_response_header_server: str | None = None
    http_t: float | None = None
    http_response_headers: str | None = None
    http_response_body: str | None = None


class VerdictRow(NamedTuple):
    """The analysis' decision on one measurement (brief: "Verdict vocabulary").

    ``blocking`` is OONI's value as text (``"false"``, ``"dns"``, ``"tcp_ip"``,
    ``"http-failure"``, ``"http-diff"``, ``"tls"``) or None. One row per
    (measurement_uid, rules_version). ``evidence_data`` is the evidence as data: the JSON
    text of ``[e.to_json() for e in verdict.evidence]`` (claim, source, text, facts; migration
    3), None for rows written before it.
    """

    measurement_uid: str
    rules_version: str
    outcome: str
    layer: str | None
    mechanism: str | None
    blocking: str | None
    anomaly: bool
    confirmed: bool
    failure: bool
    rule_id: str | None
    fingerprints: list[str]
    evidence: list[str]
    evidence_data: str | None = None


_MEASUREMENT_TYPES: Final[dict[str, str]] = {
    "measurement_uid": "str", "report_id": "str", "input": "str?", "domain": "str?",
    "probe_cc": "str", "probe_asn": "int", "probe_network_name": "str?", "test_name": "str",
    "test_version": "str?", "software_name": "str?", "software_version": "str?",
    "measurement_start_time": "datetime?", "test_start_time": "datetime?",
    "test_runtime": "float?", "platform": "str?", "engine_name": "str?",
    "engine_version": "str?", "architecture": "str?", "network_type": "str?",
    "resolver_ip": "str?", "resolver_asn": "int?", "resolver_network_name": "str?",
    "anomaly": "bool", "confirmed": "bool", "failure": "bool", "blocking_type": "str?",
    "archive_file": "str?", "archive_offset": "int?", "archive_length": "int?",
}

_OBSERVATION_TYPES: Final[dict[str, str]] = {
    "measurement_uid": "str", "observation_idx": "int", "origin": "str",
    **{
        name: kind
        for name, kind in (
            ("hostname", "str?"), ("transaction_id", "int?"), ("ip", "str?"), ("port", "int?"),
            ("ip_is_bogon", "bool?"), ("dns_query_type", "str?"), ("dns_engine", "str?"),
            ("dns_resolver_address", "str?"), ("dns_failure", "str?"), ("dns_rcode", "int?"),
            ("dns_answer_type", "str?"), ("dns_answer", "str?"), ("dns_answer_asn", "int?"),
            ("dns_t", "float?"), ("tcp_success", "bool?"), ("tcp_failure", "str?"),
            ("tcp_t", "float?"), ("tls_server_name", "str?"), ("tls_version", "str?"),
            ("tls_cipher_suite", "str?"), ("tls_failure", "str?"), ("tls_success", "bool?"),
            ("tls_no_verify", "bool?"), ("tls_cert_chain_length", "int?"),
            ("tls_handshake_read_count", "int?"), ("tls_handshake_write_count", "int?"),
            ("tls_handshake_read_bytes", "int?"), ("tls_handshake_write_bytes", "int?"),
            ("tls_handshake_last_operation", "str?"), ("tls_t", "float?"),
            ("http_request_url", "str?"), ("http_request_method", "str?"),
            ("http_failure", "str?"), ("http_success", "bool?"),
            ("http_response_status_code", "int?"), ("http_response_body_length", "int?"),
            ("http_response_body_is_truncated", "bool?"), ("http_response_body_sha1", "str?"),
            ("http_response_title", "str?"), ("http_response_header_location", "str?"),
            ("http_response_header_server", "str?"), ("http_t", "float?"),
            ("http_response_headers", "str?"), ("http_response_body", "str?"),
        )
    },
}

_VERDICT_TYPES: Final[dict[str, str]] = {
    "measurement_uid": "str", "rules_version": "str", "outcome": "str", "layer": "str?",
    "mechanism": "str?", "blocking": "str?", "anomaly": "bool", "confirmed": "bool",
    "failure": "bool", "rule_id": "str?", "fingerprints": "list", "evidence": "list",
    "evidence_data": "str?",
}

ROW_COLUMNS: Final[dict[str, dict[str, str]]] = {
    "measurements": _MEASUREMENT_TYPES,
    "observations": _OBSERVATION_TYPES,
    "verdicts": _VERDICT_TYPES,
}

# observation fields after (measurement_uid, observation_idx, origin), for fast construction
OBSERVATION_FACTS: Final = ObservationRow._fields[3:]


# every field None, in field order: a copy updated with a row's facts is the row's values
_OBSERVATION_NONE: Final[dict[str, object]] = dict.fromkeys(ObservationRow._fields)


_new_observation: Final = ObservationRow.__new__


def make_observation(uid: str, idx: int, origin: str, facts: dict[str, object]
                     ) -> ObservationRow:
    """An ObservationRow from a dict of facts (missing keys are None). This runs for every
    observation of every ingested measurement: keyword construction is the fast path; facts
    with keys that are not fact fields take the slower template path (extra keys ignored,
    ``uid``/``idx``/``origin`` win)."""
    try:
        return _new_observation(ObservationRow, uid, idx, origin, **facts)  # type: ignore[arg-type]
    except TypeError:
        pass
    values = _OBSERVATION_NONE.copy()
    values.update(facts)
    if len(values) != len(_OBSERVATION_NONE):  # facts has keys that are not fields
        return tuple.__new__(ObservationRow,
                             (uid, idx, origin, *map(facts.get, OBSERVATION_FACTS)))
    values["measurement_uid"] = uid
    values["observation_idx"] = idx
    values["origin"] = origin
    return tuple.__new__(ObservationRow, values.values())


for _table, _row in (
    ("measurements", MeasurementRow),
    ("observations", ObservationRow),
    ("verdicts", VerdictRow),
):
    assert tuple(ROW_COLUMNS[_table]) == _row._fields, _table
