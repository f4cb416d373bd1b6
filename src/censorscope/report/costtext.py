"""The cost section of a report: an estimate (``censorscope.cost.Estimate.to_json()``) as
blocks — the low/central/high line, every input with its value, unit and source, and the
trace of the computation step by step — or the note saying why there is none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .document import Block, Mono, Para, Table, text
from .summary import cost_line

__all__ = ["cost_blocks"]


_CREDENTIALS = re.compile(r"(//)[^/@\s]+:[^/@\s]*@")


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    if isinstance(v, list | tuple):
        return ", ".join(_value(x) for x in v)
    return "" if v is None else _CREDENTIALS.sub(r"\1", str(v))  # no password of a store URL


def _input_row(name: str, value: Any) -> tuple[str, str, str, str]:
    if isinstance(value, Mapping):
        source = value.get("source", "")
        if isinstance(source, Mapping):
            source = ", ".join(f"{k} {_value(v)}" for k, v in source.items())
        extra = {k: v for k, v in value.items() if k not in ("value", "unit", "source")}
        note = "; ".join(f"{k} {_value(v)}" for k, v in extra.items())
        src = _value(source) + (f" ({note})" if note else "")
        return name, _value(value.get("value")), _value(value.get("unit", "")), src
    return name, _value(value), "", ""


def cost_blocks(cost: Mapping[str, Any] | None, note: str | None) -> list[Block]:
    """Blocks of the cost section (see the module docstring)."""
    if cost is None:
        return [Para(text(note or "No cost estimate for this event."))]
    blocks: list[Block] = [Para(text(
        f"Estimated cost: {cost_line(dict(cost))}. The range comes from the methods below; "
        "every input and step is listed so the figure can be recomputed."))]
    inputs = cost.get("inputs") or {}
    if isinstance(inputs, Mapping) and inputs:
        rows = tuple(tuple(text(c) for c in _input_row(str(k), v)) for k, v in inputs.items())
        blocks.append(Table(("input", "value", "unit", "source"), rows,
                            caption="Inputs of the cost estimate"))
    trace = cost.get("trace") or []
    if isinstance(trace, list) and trace:
        rows = tuple((text(_value(s.get("step"))), text(_value(s.get("method"))),
                      text(Mono(_value(s.get("formula")))) if s.get("formula") else text(""),
                      text(_value(s.get("value"))), text(_value(s.get("unit"))),
                      text(_value(s.get("note"))))
                     for s in trace if isinstance(s, Mapping))
        blocks.append(Table(("step", "method", "formula", "value", "unit", "note"), rows,
                            caption="How the estimate was computed"))
    return blocks
