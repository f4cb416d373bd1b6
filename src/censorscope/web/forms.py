"""Values of the explorer's forms, as a browser sends them: every field, empty when unset.

An empty field means "no filter" (None); a value is checked as the API checks it, and a bad
one is the API's 400 naming the field (``censorscope.api.errors.bad_parameter``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Final

from fastapi import Query

from censorscope.api.errors import bad_parameter

__all__ = ["Field", "choice", "flag", "integer", "text"]

MAX_FIELD: Final = 2000
# a form field: any text up to MAX_FIELD characters, checked by the functions below
Field = Annotated[str | None, Query(max_length=MAX_FIELD)]

_TRUE: Final = ("true", "yes", "1")
_FALSE: Final = ("false", "no", "0")


def text(value: str | None, *, name: str = "", min_length: int = 0) -> str | None:
    """The field's text without surrounding blanks; None when empty."""
    if value is None or not value.strip():
        return None
    out = value.strip()
    if len(out) < min_length:
        raise bad_parameter(name, f"shorter than {min_length} characters", out)
    return out


def flag(name: str, value: str | None) -> bool | None:
    """``true``/``false`` (also ``yes``/``no``, ``1``/``0``); empty or ``any``: None."""
    v = text(value)
    if v is None or v.lower() == "any":
        return None
    if v.lower() in _TRUE:
        return True
    if v.lower() in _FALSE:
        return False
    raise bad_parameter(name, "true, false or empty", v)


def integer(name: str, value: str | None, *, low: int, high: int) -> int | None:
    v = text(value)
    if v is None:
        return None
    if not v.isdigit() or not low <= int(v) <= high:
        raise bad_parameter(name, f"a whole number from {low} to {high}", v)
    return int(v)


def choice(name: str, value: str | None, choices: Sequence[str], default: str) -> str:
    v = text(value)
    if v is None:
        return default
    if v not in choices:
        raise bad_parameter(name, f"one of {', '.join(choices)}", v)
    return v
