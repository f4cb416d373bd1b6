"""estimate(): the range, the inputs and a trace whose every step follows from the inputs and
the steps before it (re-computed from the formula text, independently of the methods)."""

from __future__ import annotations

import json
import math

import pytest

from censorscope.cost import CostInputError, Estimate, estimate
from censorscope.cost.formula import FormulaError, check_trace, evaluate

AZ_DAILY = 42_693_000_000 / 365  # World Bank GDP of Azerbaijan in 2020 / 365
AZ_DIGITAL = 0.014 + (84.6 - 25.4) * (0.124 - 0.014) / (94.8 - 25.4)
BLOCKED_2020 = ("facebook", "whatsapp", "youtube", "instagram", "tiktok", "linkedin", "x",
                "zoom", "skype", "facebook_messenger")


def _steps(e: Estimate) -> dict[str, dict[str, object]]:
    return {s["step"]: s for s in e.trace}


def test_national_azerbaijan_2020_one_day() -> None:
    e = estimate("AZ", 2020, "national", 1)
    assert e.currency == "USD"
    assert e.low == pytest.approx(AZ_DAILY * 0.019, rel=1e-12)
    assert e.central == pytest.approx(AZ_DAILY * AZ_DIGITAL, rel=1e-12)
    assert e.high == pytest.approx(AZ_DAILY * 0.378, rel=1e-12)
    assert (round(e.low / 1e6, 2), round(e.central / 1e6, 2), round(e.high / 1e6, 2)) == (
        2.22, 12.61, 44.21)
    assert check_trace(e.inputs, e.trace) == []


def test_inputs_carry_value_unit_and_source() -> None:
    e = estimate("AZ", 2020, "services", 13, services=BLOCKED_2020)
    for name, item in e.inputs.items():
        assert set(item) == {"value", "unit", "source"}, name
        assert item["unit"] and item["source"], name
    assert e.inputs["gdp_usd"] == {
        "value": 42_693_000_000.0, "unit": "USD (current)",
        "source": "World Bank, World Development Indicators (CC BY 4.0), NY.GDP.MKTP.CD, 2020"}
    assert e.inputs["internet_users_pct"]["value"] == 84.6
    assert "IT.NET.USER.ZS, 2020" in e.inputs["internet_users_pct"]["source"]
    assert "SP.POP.TOTL, 2020" in e.inputs["population"]["source"]
    assert e.inputs["app_classes"]["value"] == 5
    assert e.inputs["services"]["value"] == list(BLOCKED_2020)


def test_every_step_follows_from_the_inputs_and_earlier_steps() -> None:
    cases = [
        estimate("AZ", 2020, "national", 1),
        estimate("AZ", 2020, "services", 13, services=BLOCKED_2020),
        estimate("AZ", 2020, "regional", 2.5, affected_share=0.4, residual_pct=25),
        estimate("TD", 2020, "services", 3, services=["whatsapp", "facebook"]),
        estimate("AM", 2019, "services", 0.5, affected_share=0.3),
    ]
    for e in cases:
        assert check_trace(e.inputs, e.trace) == []
        names = {k: v["value"] for k, v in e.inputs.items()
                 if isinstance(v["value"], int | float)}
        for step in e.trace:  # by hand too: each formula over what came before it
            assert set(step) == {"step", "method", "formula", "value", "unit", "note"}
            assert math.isclose(evaluate(step["formula"], names), step["value"],
                                rel_tol=1e-9)
            names[step["step"]] = step["value"]
        assert [s["step"] for s in e.trace][-3:] == ["low", "central", "high"]
        assert (e.low, e.central, e.high) == tuple(_steps(e)[b]["value"]
                                                   for b in ("low", "central", "high"))
        assert e.low <= e.central <= e.high


def test_a_tampered_trace_is_caught() -> None:
    e = estimate("AZ", 2020, "national", 1)
    trace = [dict(s) for s in e.trace]
    trace[0]["value"] *= 1.01  # daily GDP off by 1 %
    problems = check_trace(e.inputs, trace)
    assert problems and problems[0].startswith("daily_gdp: gdp_usd / days_per_year = ")
    with pytest.raises(FormulaError, match="neither an input nor an earlier step"):
        evaluate("daily_gdp * nothing", {"daily_gdp": 1.0})
    with pytest.raises(FormulaError, match="not allowed"):
        evaluate("__import__('os')", {})


def test_services_thirteen_days() -> None:
    e = estimate("AZ", 2020, "services", 13, services=BLOCKED_2020)
    # 5 app classes x 0.3 / 0.45 / 0.6 % of daily GDP x 13 days
    assert e.low == pytest.approx(AZ_DAILY * 5 * 0.003 * 13, rel=1e-12)
    assert e.central == pytest.approx(AZ_DAILY * 5 * 0.0045 * 13, rel=1e-12)
    assert e.high == pytest.approx(AZ_DAILY * 5 * 0.006 * 13, rel=1e-12)
    # the default (no services named) is every service: the same five classes
    default = estimate("AZ", 2020, "services", 13)
    assert (default.low, default.central, default.high) == (e.low, e.central, e.high)
    assert default.inputs["services"]["source"].startswith("none given: every service")


def test_services_are_capped_by_the_national_value() -> None:
    # Chad 2020: 8.34 % internet users -> Deloitte low tier 0.4 %; two classes x 0.3 % = 0.6 %
    e = estimate("TD", 2020, "services", 1, services=["whatsapp", "facebook"])
    daily = 10_715_396_042.3343 / 365
    assert e.low == pytest.approx(daily * 0.004, rel=1e-9)
    assert _steps(e)["services_low_share"]["note"] == "capped at the national value"
    assert e.central == pytest.approx(daily * min(2 * 0.0045, 0.014), rel=1e-9)


def test_regional_and_residual() -> None:
    e = estimate("AZ", 2020, "regional", 2.5, affected_share=0.4, residual_pct=25)
    factor = 0.4 * (1 - 0.25)
    assert _steps(e)["scope_factor"]["value"] == pytest.approx(factor)
    assert e.central == pytest.approx(AZ_DAILY * AZ_DIGITAL * factor * 2.5, rel=1e-12)
    assert _steps(e)["internet_users_affected"]["value"] == pytest.approx(
        10_093_121 * 0.846 * 0.4)
    full = estimate("AZ", 2020, "regional", 2.5, affected_share=1.0)
    national = estimate("AZ", 2020, "national", 2.5)
    assert (full.low, full.central, full.high) == (national.low, national.central,
                                                   national.high)


@pytest.mark.parametrize(("args", "kwargs", "reason", "message"), [
    (("ZZ", 2020, "national", 1), {}, "country", "unknown country 'ZZ'"),
    (("AZ", 2024, "national", 1), {}, "year", "years with data: 2000–2023"),
    (("AZ", 2020, "national", 0), {}, "value", "days must be a positive number, not 0"),
    (("AZ", 2020, "national", -3), {}, "value", "days must be a positive number"),
    (("AZ", 2020, "national", math.inf), {}, "value", "days must be a positive number"),
    (("AZ", 2020, "national", 1), {"residual_pct": 101}, "value", "from 0 to 100"),
    (("AZ", 2020, "national", 1), {"residual_pct": -1}, "value", "from 0 to 100"),
    (("AZ", 2020, "regional", 1), {"affected_share": 1.5}, "value", r"at most 1 \(100 %\)"),
    (("AZ", 2020, "regional", 1), {"affected_share": 0}, "value", "above 0"),
    (("AZ", 2020, "regional", 1), {}, "options", "'regional' needs the affected share"),
    (("AZ", 2020, "national", 1), {"services": ["x"]}, "options",
     "services are priced with kind 'services', not 'national'"),
    (("AZ", 2020, "national", 1), {"affected_share": 0.5}, "options", "whole country"),
    (("AZ", 2020, "services", 1), {"services": ["myspace"]}, "options", "unknown service"),
    (("AZ", 2020, "global", 1), {}, "options", "unknown kind 'global'"),
    (("AZ", 2020.5, "national", 1), {}, "value", "whole number"),
])
def test_bad_input(args: tuple[object, ...], kwargs: dict[str, object], reason: str,
                   message: str) -> None:
    with pytest.raises(CostInputError, match=message) as info:
        estimate(*args, **kwargs)  # type: ignore[arg-type]
    assert info.value.reason == reason


def test_json_shape_and_provenance() -> None:
    e = estimate("AZ", 2020, "regional", 1, affected_share=0.25,
                 provenance={"affected_share": "measured: 16 of 64 measurements"})
    data = json.loads(json.dumps(e.to_json()))
    assert list(data) == ["low", "central", "high", "currency", "inputs", "trace"]
    assert data["currency"] == "USD"
    assert data["inputs"]["affected_share"] == {
        "value": 0.25, "unit": "share of the country",
        "source": "measured: 16 of 64 measurements"}
    assert data["inputs"]["days"]["source"] == "given"
