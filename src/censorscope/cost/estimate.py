"""One cost estimate: low / central / high with every input and every step written out.

:func:`estimate` prices ``days`` of a disruption of ``kind`` in ``country`` (ISO-2) with the
World Bank figures of ``year`` (:mod:`~censorscope.cost.economy`) and the methods of
:mod:`~censorscope.cost.methods`:

- ``national``: the whole country offline: low = Deloitte's tier share, central = the
  Brookings/West-like digital share, high = the COST-style post-2021 intensity, each × daily
  GDP;
- ``regional``: the same × ``affected_share`` (the part of the country cut off, required);
- ``services``: the app classes of ``services`` (all known services when none are given) ×
  the per-class share of each bound, capped by the national share of that bound; an
  ``affected_share`` (the networks that block them) may apply.

Then × (1 − ``residual_pct``/100) × ``days``. The :class:`Estimate` carries ``inputs`` (name →
value, unit, source: every World Bank figure with its indicator and year, every coefficient
with its study) and ``trace`` (each step: name, method, formula over inputs and earlier steps,
value, unit, note); :func:`censorscope.cost.formula.check_trace` re-computes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from . import methods as m
from .economy import ATTRIBUTION, EconomyYear, economy_table
from .errors import CostInputError

__all__ = ["CURRENCY", "KINDS", "Estimate", "estimate"]

KINDS: Final = ("national", "services", "regional")
CURRENCY: Final = "USD"

_DELOITTE = ("Deloitte for GNI/Facebook, 'The economic impact of disruptions to Internet "
             "connectivity' (Oct 2016)")
_BCG = ("Brookings, D. M. West, 'Internet shutdowns cost countries $2.4 billion last year' "
        "(Oct 2016), using BCG's 2016 internet-economy shares")
_COST = "NetBlocks COST outputs as published (observatories.md §1.2) [derived]"
_APPS = ("per app class, implied by West (2016): Brazil WhatsApp 0.34 %, Saudi 0.49 %, "
         "Morocco 0.54 % of daily GDP (observatories.md §1.3) [derived]")


@dataclass(frozen=True)
class Estimate:
    """A cost with its range, inputs and steps (amounts in ``currency``, for the whole
    duration)."""

    low: float
    central: float
    high: float
    currency: str
    inputs: dict[str, Any]
    trace: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """``{"low", "central", "high", "currency", "inputs", "trace"}``."""
        return {"low": self.low, "central": self.central, "high": self.high,
                "currency": self.currency, "inputs": self.inputs, "trace": self.trace}


class _Builder:
    """Collects the inputs and steps of one estimate."""

    def __init__(self) -> None:
        self.inputs: dict[str, Any] = {}
        self.trace: list[dict[str, Any]] = []
        self.values: dict[str, float] = {}

    def input(self, name: str, value: Any, unit: str, source: str) -> None:
        self.inputs[name] = {"value": value, "unit": unit, "source": source}

    def step(self, name: str, method: str, formula: str, value: float, unit: str,
             note: str = "") -> float:
        self.trace.append({"step": name, "method": method, "formula": formula,
                           "value": value, "unit": unit, "note": note})
        self.values[name] = value
        return value


def _check(kind: str, days: float, residual_pct: float, affected_share: float | None,
           services: Sequence[str]) -> None:
    if kind not in KINDS:
        raise CostInputError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}",
                             "options")
    if not (isinstance(days, int | float) and math.isfinite(days) and days > 0):
        raise CostInputError(f"days must be a positive number, not {days!r}", "value")
    if not (math.isfinite(residual_pct) and 0.0 <= residual_pct <= 100.0):
        raise CostInputError(
            f"residual connectivity must be a percentage from 0 to 100, not {residual_pct!r}",
            "value")
    if affected_share is not None and not (math.isfinite(affected_share)
                                           and 0.0 < affected_share <= 1.0):
        raise CostInputError(
            f"the affected share must be above 0 and at most 1 (100 %), not "
            f"{affected_share!r} ({affected_share * 100:g} %)",
            "value")
    if services and kind != "services":
        raise CostInputError(f"services are priced with kind 'services', not {kind!r}",
                             "options")
    if kind == "regional" and affected_share is None:
        raise CostInputError("kind 'regional' needs the affected share (the part of the "
                             "country cut off)", "options")
    if kind == "national" and affected_share is not None and affected_share != 1.0:
        raise CostInputError("kind 'national' is the whole country: give an affected share "
                             "with kind 'regional' (or 'services')", "options")


def _economy_inputs(b: _Builder, e: EconomyYear, year_source: str) -> None:
    b.input("country", e.iso2, "ISO 3166-1 alpha-2",
            f"{e.name} ({e.iso3}, {e.region}, {e.income_group}; World Bank classification)")
    b.input("year", e.year, "year", year_source)
    b.input("gdp_usd", e.gdp.value, e.gdp.unit, e.gdp.source(e.year))
    b.input("population", e.population.value, e.population.unit,
            e.population.source(e.year))
    b.input("internet_users_pct", e.internet_users.value, e.internet_users.unit,
            e.internet_users.source(e.year))
    b.input("days_per_year", m.DAYS_PER_YEAR, "days",
            "daily GDP = annual GDP / 365 (observatories.md §1.2)")


def _shares(b: _Builder, e: EconomyYear) -> None:
    """The three national per-day shares of daily GDP."""
    users = e.internet_users.value
    b.input("deloitte_low_share", m.DELOITTE_SHARES["low"], "share of daily GDP",
            f"{_DELOITTE}: low connectivity")
    b.input("deloitte_medium_share", m.DELOITTE_SHARES["medium"], "share of daily GDP",
            f"{_DELOITTE}: medium connectivity")
    b.input("deloitte_high_share", m.DELOITTE_SHARES["high"], "share of daily GDP",
            f"{_DELOITTE}: high connectivity")
    b.input("deloitte_medium_min_pct", m.DELOITTE_MEDIUM_MIN_PCT, "% internet users",
            "tier threshold [ours, not from the report]")
    b.input("deloitte_high_min_pct", m.DELOITTE_HIGH_MIN_PCT, "% internet users",
            "tier threshold [ours, not from the report]")
    b.input("bcg_low_users_pct", m.BCG_LOW_ANCHOR[0], "% internet users",
            f"Indonesia, {ATTRIBUTION}, IT.NET.USER.ZS, 2016")
    b.input("bcg_low_share", m.BCG_LOW_ANCHOR[1], "share of GDP",
            f"{_BCG}: Indonesia 1.4 %")
    b.input("bcg_high_users_pct", m.BCG_HIGH_ANCHOR[0], "% internet users",
            f"United Kingdom, {ATTRIBUTION}, IT.NET.USER.ZS, 2016")
    b.input("bcg_high_share", m.BCG_HIGH_ANCHOR[1], "share of GDP",
            f"{_BCG}: United Kingdom 12.4 %")
    b.input("cost_high_share", m.cost_share(), "share of daily GDP",
            f"{_COST}: the top of the post-Nov-2021 range 15.6–37.8 % (UK, c. 2023)")
    b.step("deloitte_share", "deloitte",
           "deloitte_high_share if internet_users_pct >= deloitte_high_min_pct else "
           "(deloitte_medium_share if internet_users_pct >= deloitte_medium_min_pct "
           "else deloitte_low_share)",
           m.deloitte_share(users), "share of daily GDP",
           f"{m.deloitte_tier(users)} connectivity tier ({users:g} % internet users)")
    b.step("digital_share", "brookings",
           "min(bcg_high_share, max(bcg_low_share, bcg_low_share + (internet_users_pct - "
           "bcg_low_users_pct) * (bcg_high_share - bcg_low_share) / (bcg_high_users_pct - "
           "bcg_low_users_pct)))",
           m.digital_share(users), "share of GDP",
           "internet economy's share of GDP, linear in internet users between the BCG anchors")
    b.step("cost_share", "cost", "cost_high_share", m.cost_share(), "share of daily GDP",
           "COST's national per-day intensity since its Nov 2021 escalators (top)")


def _per_day(b: _Builder, kind: str, daily: float, services: Sequence[str]) -> None:
    national = {"low": b.values["deloitte_share"], "central": b.values["digital_share"],
                "high": b.values["cost_share"]}
    source_step = {"low": "deloitte_share", "central": "digital_share", "high": "cost_share"}
    method = {"low": "deloitte", "central": "brookings", "high": "cost"}
    if kind != "services":
        for bound in m.BOUNDS:
            b.step(f"{bound}_per_day", method[bound], f"daily_gdp * {source_step[bound]}",
                   daily * national[bound], "USD/day",
                   f"national loss per day ({method[bound]})")
        return
    classes = m.app_classes(services)
    names = sorted({m.canonical_service(s) for s in services})
    b.input("app_classes", len(classes), "app classes",
            "; ".join(f"{c}: " + ", ".join(s for s in names if m.SERVICE_CLASSES[s] == c)
                      for c in classes) + " (service → class map [ours])")
    for bound in m.BOUNDS:
        b.input(f"app_class_{bound}_share", m.APP_CLASS_SHARES[bound], "share of daily GDP",
                _APPS + (" (midpoint of 0.3–0.6 %)" if bound == "central" else ""))
    for bound in m.BOUNDS:
        share = m.services_share(len(classes), bound, national[bound])
        capped = share < len(classes) * m.APP_CLASS_SHARES[bound]
        b.step(f"services_{bound}_share", "services",
               f"min(app_classes * app_class_{bound}_share, {source_step[bound]})", share,
               "share of daily GDP",
               "capped at the national value" if capped else "not above the national value")
        b.step(f"{bound}_per_day", "services", f"daily_gdp * services_{bound}_share",
               daily * share, "USD/day", f"services' loss per day ({bound})")


def estimate(country: str, year: int, kind: str, days: float, *,
             services: Sequence[str] = (), residual_pct: float = 0.0,
             affected_share: float | None = None,
             provenance: Mapping[str, str] | None = None) -> Estimate:
    """The cost of ``days`` days of a ``kind`` disruption in ``country`` (ISO-2) in ``year``.

    ``residual_pct``: connectivity left, 0–100 %; ``affected_share``: the part of the country
    affected, a fraction in (0, 1] (required for ``regional``). ``provenance`` replaces the
    source text of the inputs ``year``, ``days``, ``services``, ``affected_share`` and
    ``residual_pct`` (e.g. "measured: outage out-…"). Raises :class:`CostInputError`.
    """
    _check(kind, days, residual_pct, affected_share, services)
    if isinstance(year, bool) or not isinstance(year, int):
        raise CostInputError(f"the year must be a whole number, not {year!r}", "value")
    said = dict(provenance or {})
    if kind == "services":
        names = [m.canonical_service(s) for s in services]  # unknown names raise here
        if not names:
            names = sorted(m.SERVICE_CLASSES)
            said.setdefault("services", "none given: every service censorscope knows "
                                        "(all app classes)")
    else:
        names = []
    economy = economy_table().lookup(country, year)
    b = _Builder()
    _economy_inputs(b, economy, said.get("year", "given"))
    b.input("kind", kind, "kind", said.get("kind", "given"))
    if kind == "services":
        b.input("services", names, "services", said.get("services", "given"))
    b.input("days", float(days), "days", said.get("days", "given"))
    share = 1.0 if affected_share is None else float(affected_share)
    b.input("affected_share", share, "share of the country",
            said.get("affected_share", "given" if affected_share is not None
                     else "the whole country"))
    b.input("residual_pct", float(residual_pct), "% of ordinary connectivity",
            said.get("residual_pct", "given" if residual_pct else "none (total loss)"))

    daily = b.step("daily_gdp", "input", "gdp_usd / days_per_year",
                   m.daily_gdp(economy.gdp.value), "USD/day", f"GDP of {economy.year} / 365")
    _shares(b, economy)
    _per_day(b, kind, daily, names)
    factor = b.step("scope_factor", "scope", "affected_share * (1 - residual_pct / 100)",
                    share * m.residual_factor(residual_pct), "share",
                    "the affected part of the country, less the connectivity left")
    b.step("internet_users_affected", "scope",
           "population * internet_users_pct / 100 * affected_share",
           economy.population.value * economy.internet_users.value / 100 * share, "persons",
           "people online in the affected part (for reading the figures; not a factor)")
    totals = {}
    for bound in m.BOUNDS:
        per_day = b.values[f"{bound}_per_day"]
        totals[bound] = b.step(bound, "total", f"{bound}_per_day * scope_factor * days",
                               per_day * factor * days, CURRENCY,
                               f"{bound} estimate for {days:g} day(s)")
    return Estimate(low=totals["low"], central=totals["central"], high=totals["high"],
                    currency=CURRENCY, inputs=b.inputs, trace=b.trace)
