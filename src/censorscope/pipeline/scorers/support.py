"""Scorer support: what every scorer shares. The probe's observation rows, failure →
mechanism, the evidence about one row (its failure, its connect; claims in :mod:`.claims`),
and :class:`Decider` (rule id → :class:`Verdict`, for the scorers of one rule family).

Scorers recompute from the observation rows (``tcp_connect``, ``tls_handshakes``,
``requests``, ``queries`` as the observe stage merged them), which exist for stored
measurements too; test-specific facts that only the raw measurement holds (Tor targets,
dnscheck lookups, echo bodies) are read from ``subject.raw`` and give ``insufficient`` when it
is absent.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from censorscope.model.endpoint import join_host_port
from censorscope.model.evidence import Evidence
from censorscope.model.rows import ObservationRow
from censorscope.model.verdict import LAYERS, Layer, LayerVerdict, Verdict
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.evidence import say
from censorscope.pipeline.rules import RuleFamily

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = [
    "MISSING",
    "Decider",
    "Failure",
    "answered",
    "connected",
    "describe_failure",
    "dominant",
    "endpoint",
    "failure_facts",
    "found_as",
    "interference",
    "key_found",
    "key_path",
    "lookup_key",
    "mechanism",
    "parse_key_path",
    "probe_rows",
    "raw_needed",
    "row_failure",
    "test_keys",
    "url_host",
]

Failure = tuple[Layer, str]

_DNS: Final = {
    "dns_nxdomain_error": "dns.nxdomain", "dns_name_error": "dns.nxdomain",
    "dns_refused_error": "dns.refused", "dns_servfail_error": "dns.servfail",
    "dns_server_failure": "dns.servfail", "generic_timeout_error": "dns.timeout",
    "dns_no_answer": "dns.no_answer", "dns_bogon_error": "dns.injection.bogon",
}
_TCP: Final = {
    "generic_timeout_error": "tcp.timeout", "timed_out": "tcp.timeout",
    "tcp_timed_out_error": "tcp.timeout", "connection_refused": "tcp.refused",
    "connection_refused_error": "tcp.refused", "connection_reset": "tcp.reset",
    "host_unreachable": "ip.unreachable", "network_unreachable": "ip.unreachable",
}
_TLS: Final = {
    "generic_timeout_error": "tls.timeout", "connection_reset": "tls.reset",
    "eof_error": "tls.eof", "ssl_unknown_authority": "tls.mitm",
    "ssl_invalid_hostname": "tls.mitm", "ssl_invalid_certificate": "tls.cert",
}
_HTTP: Final = {
    "generic_timeout_error": "http.timeout", "connection_reset": "http.reset",
    "eof_error": "http.eof",
}
_BY_LAYER: Final[dict[str, dict[str, str]]] = {"dns": _DNS, "tcp": _TCP, "tls": _TLS,
                                                "http": _HTTP}
# failures a censor produces and a down server rarely does
_INTERFERENCE: Final = frozenset({
    "generic_timeout_error", "timed_out", "tcp_timed_out_error", "connection_reset",
    "eof_error", "dns_nxdomain_error", "dns_name_error", "dns_bogon_error",
    "ssl_unknown_authority", "ssl_invalid_hostname",
})
_OPERATION_LAYER: Final[dict[str, Layer]] = {
    "resolve": "dns", "dns_round_trip": "dns", "connect": "tcp", "tls_handshake": "tls",
    "quic_handshake": "tls", "http_round_trip": "http", "read": "http", "write": "http",
}


# --- paths of test keys (the facts of claims about the raw measurement) ---------------------

_IDENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOKEN: Final = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')
MISSING: Final = object()


def key_path(*parts: str | int) -> str:
    """``test_keys.targets["1.2.3.4:443"].failure``: names as attributes, other keys quoted
    (JSON), list indices in brackets."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def parse_key_path(text: str) -> list[str | int]:
    """The parts of a :func:`key_path` (ValueError if it is not one)."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"not a key path: {text!r}")
        name, index, quoted = m.groups()
        parts.append(name if name is not None else int(index) if index is not None
                     else json.loads(quoted))
        pos = m.end()
    return parts


def lookup_key(raw: Any, path: str) -> Any:
    """The value at ``path`` in ``raw`` (``MISSING`` when there is none)."""
    value = raw
    for part in parse_key_path(path):
        if isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
            value = value[part]
        elif isinstance(part, str) and isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return MISSING
    return value


def found_as(value: Any) -> str:
    """What a test key holds, in words: ``missing``, ``null``, ``an empty list``, ``a list
    of 3``, ``a map of 2``, ``a string`` …"""
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, list | Mapping):
        what = "list" if isinstance(value, list) else "map"
        if not value:
            return f"an empty {what}"
        first = "" if isinstance(value, Mapping) or isinstance(value[0], Mapping) else \
            f" whose first item is {found_as(value[0])}"
        return f"a {what} of {len(value)}{first}"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a value")


def key_found(raw: Any, key: str) -> str:
    """:func:`found_as` of the value at ``key`` in ``raw``."""
    return found_as(lookup_key(raw, key))


def test_keys(subject: Subject) -> dict[str, Any] | None:
    """The raw ``test_keys`` (None when scoring stored rows or when they are not a dict)."""
    raw = subject.raw
    tk = raw.get("test_keys") if isinstance(raw, dict) else None
    return tk if isinstance(tk, dict) else None


def probe_rows(subject: Subject) -> list[ObservationRow]:
    """The probe's own observation rows."""
    return [r for r in subject.observations if r.origin == "probe"]


def answered(row: ObservationRow) -> bool:
    """True if the row's HTTP transaction got a response (OONI writes code 0 on failure)."""
    return bool(row.http_success) or (row.http_response_status_code or 0) > 0


def mechanism(layer: str | None, failure: str | None) -> str | None:
    """The taxonomy mechanism of ``failure`` at ``layer`` (None if it has no name)."""
    if layer is None or failure is None:
        return None
    return _BY_LAYER.get(layer, {}).get(failure)


def interference(failure: str | None) -> bool:
    """True for failures censors cause (timeouts, resets, EOF, NXDOMAIN, bogons, forged
    certificates) as opposed to refused connections and other server-side errors."""
    return failure in _INTERFERENCE


def operation_layer(operation: Any) -> Layer | None:
    """The layer of an OONI ``failed_operation``."""
    return _OPERATION_LAYER.get(operation) if isinstance(operation, str) else None


def row_failure(row: ObservationRow) -> Failure | None:
    """The first failure along DNS → TCP → TLS → HTTP of one endpoint row."""
    if row.dns_failure:
        return "dns", row.dns_failure
    if row.tcp_success is False:
        return "tcp", row.tcp_failure or "unknown_failure"
    if row.tls_success is False:
        return "tls", row.tls_failure or "unknown_failure"
    if row.http_success is False:
        return "http", row.http_failure or "unknown_failure"
    return None


def endpoint(row: ObservationRow) -> str:
    """``host (ip:port)`` / ``ip:port`` / the URL of a row, for evidence."""
    addr = join_host_port(row.ip, row.port) if row.ip else None
    name = row.tls_server_name or row.hostname
    if row.http_request_url and not addr:
        return row.http_request_url
    if name and addr:
        return f"{name} ({addr})"
    return addr or name or row.http_request_url or "an endpoint"


def failure_facts(row: ObservationRow, layer: Layer) -> tuple[str, dict[str, Any]] | None:
    """The claim and facts of "<the operation at ``layer``> of ``row`` failed: <failure>", or
    None when the row has no failure at that layer (the claims' checkers use this too)."""
    idx = row.observation_idx
    if layer == "dns":
        if not row.dns_failure:
            return None
        facts: dict[str, Any] = {"observation": idx, "hostname": row.hostname or "the name"}
        if row.dns_resolver_address:
            facts["resolver"] = row.dns_resolver_address
        facts["failure"] = row.dns_failure
        return ("rows.dns_failed_via" if "resolver" in facts else "rows.dns_failed"), facts
    success, failure = {"tcp": (row.tcp_success, row.tcp_failure),
                        "tls": (row.tls_success, row.tls_failure),
                        "http": (row.http_success, row.http_failure)}[layer]
    if success is not False:
        return None
    text = failure or "unknown_failure"
    if layer == "http":
        return "rows.http_failed", {"observation": idx,
                                    "url": row.http_request_url or endpoint(row),
                                    "failure": text}
    facts = {"observation": idx, "endpoint": endpoint(row), "ip": row.ip, "port": row.port}
    if layer == "tls":
        facts["server_name"] = row.tls_server_name
    facts["failure"] = text
    return f"rows.{layer}_failed", facts


def describe_failure(row: ObservationRow, failure: Failure) -> Evidence:
    """The evidence that ``row`` failed at ``failure``'s layer (``TCP connect to
    1.2.3.4:443 failed: generic_timeout_error``); the failure must be the row's own."""
    found = failure_facts(row, failure[0])
    if found is None or found[1]["failure"] != failure[1]:
        raise ValueError(f"row {row.observation_idx} has no {failure[0]} failure {failure[1]}")
    claim_id, facts = found
    return say(claim_id, **facts)


def connected(row: ObservationRow) -> Evidence:
    """The evidence that ``row``'s TCP connect succeeded."""
    return say("rows.tcp_connected", observation=row.observation_idx, endpoint=endpoint(row),
               ip=row.ip, port=row.port)


def raw_needed(keys: str) -> Evidence:
    """The evidence that the raw measurement (``keys`` of it) was not at hand."""
    return say("scorer.raw_needed", source="rules", keys=keys)


def dominant(failures: Iterable[Failure]) -> Failure | None:
    """The most frequent (layer, failure), earliest layer first on ties."""
    counts = Counter(failures)
    if not counts:
        return None
    order = {name: i for i, name in enumerate(LAYERS)}
    return min(counts, key=lambda f: (-counts[f], order.get(f[0], 9), f[1]))


def url_host(url: str | None) -> str | None:
    """The lower-case host of a URL."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


@dataclass(frozen=True)
class Decider:
    """``decide(subject, ctx, rule_id, …)`` for the scorers of one rule family: each scorer
    module binds one (``decide = Decider(MESSAGING)``), so it can conclude only with its
    family's rules (and those the family shares) and its verdicts carry its family's
    version."""

    family: RuleFamily

    def __call__(self, subject: Subject, ctx: AnalysisContext | None, rule_id: str, *,
                 failure: Failure | None = None, evidence: Sequence[Evidence] = (),
                 fingerprints: Sequence[str] = ()) -> Verdict:
        """The verdict of ``rule_id``: outcome from the rule table; a ``"*"`` layer or
        mechanism from ``failure``. One :class:`LayerVerdict` for the deciding layer."""
        rule = self.family.rule(rule_id)
        assert rule.outcome is not None, rule_id
        layer: Layer | None
        if rule.layer == "*":
            layer = failure[0] if failure else None
        else:
            layer = rule.layer
        mech = rule.mechanism
        if mech == "*":
            mech = mechanism(failure[0], failure[1]) if failure else None
        items = tuple(evidence)
        layers = (LayerVerdict(layer, rule.outcome, mech, rule_id, items),) if layer else ()
        version = ctx.fingerprints_version if ctx is not None else None
        return subject.verdict(rule.outcome, rule_id=rule_id, layer=layer, mechanism=mech,
                               evidence=items, layers=layers,
                               fingerprints=tuple(fingerprints), fingerprints_version=version,
                               rules_version=self.family.version)
