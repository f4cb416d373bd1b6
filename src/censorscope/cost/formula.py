"""Re-computing a trace: each step's formula evaluated over the inputs and earlier steps.

An estimate's trace writes every step as a formula over named values (``daily_gdp *
deloitte_share``); :func:`evaluate` computes such a formula — numbers, names, ``+ - * /``,
unary minus, comparisons, ``a if c else b``, ``min``/``max`` and nothing else — and
:func:`check_trace` re-computes every step of an estimate from its inputs and the steps before
it, so anyone can verify that the printed numbers follow from the printed inputs.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

__all__ = ["FormulaError", "check_trace", "evaluate"]

_BINARY: Final[dict[type[ast.operator], Callable[[float, float], float]]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: Final[dict[type[ast.cmpop], Callable[[float, float], bool]]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_CALLS: Final[dict[str, Callable[..., float]]] = {"min": min, "max": max}


class FormulaError(ValueError):
    """A formula that is not of the small language, or names an unknown value."""


def evaluate(formula: str, names: Mapping[str, float]) -> float:
    """The value of ``formula`` with ``names`` bound."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"cannot parse {formula!r}: {exc.msg}") from None
    return float(_eval(tree.body, names, formula))


def _eval(node: ast.AST, names: Mapping[str, float], formula: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise FormulaError(f"{formula!r} names {node.id!r}, which is neither an input nor "
                               "an earlier step")
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_eval(node.left, names, formula),
                                      _eval(node.right, names, formula))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, names, formula)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        return _COMPARE[type(node.ops[0])](_eval(node.left, names, formula),
                                           _eval(node.comparators[0], names, formula))
    if isinstance(node, ast.IfExp):
        chosen = node.body if _eval(node.test, names, formula) else node.orelse
        return _eval(chosen, names, formula)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _CALLS and not node.keywords):
        return _CALLS[node.func.id](*(_eval(a, names, formula) for a in node.args))
    raise FormulaError(f"{formula!r}: {ast.dump(node)[:60]} is not allowed in a formula")


def check_trace(inputs: Mapping[str, Mapping[str, Any]], trace: Sequence[Mapping[str, Any]],
                rel_tol: float = 1e-9) -> list[str]:
    """The steps whose recorded value differs from their formula's (empty: all agree).

    Numeric inputs (their ``value``) and each earlier step's value (by its ``step`` name) are
    the names a formula may use."""
    names: dict[str, float] = {k: float(v["value"]) for k, v in inputs.items()
                               if isinstance(v.get("value"), int | float)
                               and not isinstance(v.get("value"), bool)}
    problems: list[str] = []
    for step in trace:
        try:
            value = evaluate(step["formula"], names)
        except FormulaError as exc:
            problems.append(f"{step['step']}: {exc}")
            continue
        if not math.isclose(value, step["value"], rel_tol=rel_tol, abs_tol=1e-12):
            problems.append(f"{step['step']}: {step['formula']} = {value!r}, "
                            f"recorded {step['value']!r}")
        names[step["step"]] = float(step["value"])
    return problems
