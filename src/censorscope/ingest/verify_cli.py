"""``censorscope verify``: check every stored evidence statement against the stored data.

Each verdict row keeps its evidence as data (``verdicts.evidence_data``: claim, source, facts,
cited measurements). This command re-runs each claim's checker (``censorscope.pipeline
.evidence``) against the measurement's stored observation rows, the cited measurements (looked
up in the same store) and, when the measurement came from a file that is still where ``ingest``
read it, the raw measurement itself. It prints the totals and every statement that does not
hold; the exit status is 1 when one is false, 0 otherwise.

Statements that can only be checked against the raw measurement (a scorer's test-key claims)
are counted apart when the raw measurement is no longer at hand; verdicts stored before
evidence was data (no ``evidence_data``) are counted as such.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click
import orjson

from censorscope.archive.raw import read_raw
from censorscope.model.evidence import Evidence
from censorscope.model.rows import MeasurementRow, ObservationRow
from censorscope.pipeline.analyze.registry import load_scorers
from censorscope.pipeline.evidence import Facts, check_items
from censorscope.pipeline.scorers.claims import NEEDS_RAW
from censorscope.store import default_url
from censorscope.store.base import Store

from .exits import fail, open_store_or_exit

__all__ = ["verify", "verify_store"]

MAX_SHOWN = 50


class _Lookup:
    """uid → stored rows, memoised for the measurements cited again and again."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[str, tuple[MeasurementRow, Sequence[ObservationRow]] | None] = {}

    def __call__(self, uid: str) -> tuple[MeasurementRow, Sequence[ObservationRow]] | None:
        if uid not in self.cache:
            if len(self.cache) > 10_000:
                self.cache.clear()
            meta = self.store.get_measurement(uid)
            self.cache[uid] = None if meta is None else (meta, self.store.get_observations(uid))
        return self.cache[uid]


def verify_store(store: Store, *, latest_only: bool = True) -> dict[str, Any]:
    """Check the stored evidence; returns the totals and the statements that do not hold."""
    load_scorers()
    lookup = _Lookup(store)
    totals = {"verdicts": 0, "statements": 0, "true": 0, "false": 0, "needs_raw": 0,
              "without_data": 0}
    false: list[dict[str, Any]] = []
    for batch in store.iter_uids():
        for uid in batch:
            rows = store.get_verdicts(uid)
            if not rows:
                continue
            if latest_only:
                rows = [max(rows, key=lambda r: r.rules_version)]
            meta = store.get_measurement(uid)
            if meta is None:
                continue
            facts = Facts(meta, store.get_observations(uid), None, lookup)
            raw_loaded = False
            for row in rows:
                totals["verdicts"] += 1
                if not row.evidence_data:
                    totals["without_data"] += 1
                    continue
                items = [Evidence.from_json(o) for o in orjson.loads(row.evidence_data)]
                results = check_items(items, facts)
                if not raw_loaded and any(why == NEEDS_RAW
                                          for _, why in results):
                    raw_loaded = True
                    raw = read_raw(meta)
                    if raw is not None:
                        facts = Facts(meta, facts.observations, raw, lookup)
                        results = check_items(items, facts)
                for ev, why in results:
                    totals["statements"] += 1
                    if why is None:
                        totals["true"] += 1
                    elif why == NEEDS_RAW:
                        totals["needs_raw"] += 1
                    else:
                        totals["false"] += 1
                        false.append({"measurement_uid": uid, "rules_version": row.rules_version,
                                      "claim": ev.claim, "why": why, "text": ev.text})
    return {**totals, "false_statements": false}


@click.command("verify")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Store URL (default $CENSORSCOPE_STORE or duckdb:censorscope.duckdb).")
@click.option("--all-versions", is_flag=True,
              help="Check the verdicts of every rules version, not only the latest.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def verify(store_url: str | None, all_versions: bool, as_json: bool) -> None:
    """Check every stored evidence statement against the stored measurements."""
    with open_store_or_exit(store_url or default_url()) as store:
        try:
            result = verify_store(store, latest_only=not all_versions)
        except Exception as exc:  # an unreadable store: one line, not a traceback
            fail(f"verify: cannot read the store: {exc}")
    if as_json:
        click.echo(orjson.dumps(result).decode())
    else:
        click.echo(f"verify: {result['verdicts']} verdicts, {result['statements']} statements: "
                   f"{result['true']} true, {result['false']} false, {result['needs_raw']} "
                   f"not checkable without the raw measurement; {result['without_data']} "
                   "verdicts stored without evidence data")
        for f in result["false_statements"][:MAX_SHOWN]:
            click.echo(f"  FALSE {f['measurement_uid']} {f['claim']}: {f['why']}: {f['text']}")
    sys.exit(1 if result["false"] else 0)
