"""Each resolver's result as the test keys hold it: its answers (AS, bogon, TLS result) and
its class (``censorscope.model.dns_consistency.classify`` against the reference)."""

from __future__ import annotations

from typing import Any

from censorscope.model.dns_consistency import (
    FAILED_CLASSES,
    TAMPERED_CLASSES,
    Reference,
    classify,
)
from censorscope.model.ipinfo import is_bogon

from .lookups import Lookup
from .options import DNSConsistencyOptions

__all__ = ["resolver_result", "summary"]


def resolver_result(lookup: Lookup, replies: int, reference: Reference | None,
                    tls: dict[str, str], opts: DNSConsistencyOptions) -> dict[str, Any]:
    """The ``resolvers`` entry of one lookup. Without a reference the class is null."""

    def bogon(ip: str) -> bool:
        return is_bogon(ip, allowed=opts.public_ranges)

    out: dict[str, Any] = {
        "resolver": lookup.name,
        "engine": lookup.engine,
        "address": lookup.address,
        "transaction_id": lookup.transaction_id,
        "failure": lookup.failure,
        "answers": [{"ip": ip, "asn": opts.asn_of(ip), "as_org_name": opts.as_name_of(ip),
                     "bogon": bogon(ip), "tls": tls.get(ip)} for ip in lookup.addresses],
        "replies": replies,
        "classification": None,
        "decided_by": {},
    }
    if reference is not None:
        found = classify(failure=lookup.failure, addresses=lookup.addresses,
                         distinct_replies=replies, reference=reference, asn_of=opts.asn_of,
                         is_bogon=bogon, tls=tls)
        out.update(found.to_json())
    if lookup.note:
        out["note"] = lookup.note
    return out


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """``dns_consistency`` (``consistent``/``inconsistent``, null without a class) and the
    resolvers tampered with or failing, by name and address."""
    classes = [r["classification"] for r in results if r["classification"] is not None]
    tampered = [f"{r['resolver']} {r['address']}".strip() for r in results
                if r["classification"] in TAMPERED_CLASSES]
    failed = [f"{r['resolver']} {r['address']}".strip() for r in results
              if r["classification"] in FAILED_CLASSES]
    verdict = ("inconsistent" if tampered else "consistent") if classes else None
    return {"dns_consistency": verdict, "inconsistent": tampered, "failed": failed}
