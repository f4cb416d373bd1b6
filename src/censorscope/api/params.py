"""Query parameter values as OONI spells them, turned into store values (or a 400 naming
the parameter): comma lists, AS numbers, country codes, times, windows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from .errors import bad_parameter

__all__ = ["asn_list", "cc_list", "name_list", "parse_time", "window"]

_CC: Final = re.compile(r"^[A-Z]{2}$")
_ASN: Final = re.compile(r"^(?:AS)?([0-9]{1,10})$", re.IGNORECASE)
_TEST_NAME: Final = re.compile(r"^[a-z0-9_]+$")
MAX_LIST: Final = 100  # values in one comma list


def _items(name: str, value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise bad_parameter(name, "empty list", value)
    if len(items) > MAX_LIST:
        raise bad_parameter(name, f"more than {MAX_LIST} values")
    return items


def cc_list(name: str, value: str | None) -> tuple[str, ...] | None:
    """``IT,IR`` → ("IT", "IR"); two-letter country codes, upper-cased."""
    items = _items(name, value)
    if items is None:
        return None
    out = tuple(v.upper() for v in items)
    bad = [v for v in out if not _CC.match(v)]
    if bad:
        raise bad_parameter(name, "not a two-letter country code", bad[0])
    return out


def asn_list(name: str, value: str | None) -> tuple[int, ...] | None:
    """``AS30722,12389`` → (30722, 12389)."""
    items = _items(name, value)
    if items is None:
        return None
    out = []
    for v in items:
        m = _ASN.match(v)
        if not m or int(m.group(1)) > 2**32 - 1:
            raise bad_parameter(name, "not an AS number (AS123 or 123)", v)
        out.append(int(m.group(1)))
    return tuple(out)


def name_list(name: str, value: str | None, *, test_names: bool = False,
              min_length: int = 1) -> tuple[str, ...] | None:
    """A comma list of names (test names: ``[a-z0-9_]``; domains: at least ``min_length``
    characters, as OONI asks of ``domain`` and ``input``)."""
    items = _items(name, value)
    if items is None:
        return None
    for v in items:
        if test_names and not _TEST_NAME.match(v):
            raise bad_parameter(name, "a test name is lower-case letters, digits and _", v)
        if len(v) < min_length:
            raise bad_parameter(name, f"shorter than {min_length} characters", v)
    return tuple(items)


def parse_time(name: str, value: str | None) -> datetime | None:
    """``2024-03-01`` (midnight UTC) or an ISO 8601 date and time (``Z`` or an offset;
    without one it is UTC) → a naive UTC datetime."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time())
        t = datetime.fromisoformat(text)
    except ValueError:
        raise bad_parameter(name, "not a date (YYYY-MM-DD) or ISO 8601 time", value) from None
    return t if t.tzinfo is None else t.astimezone(UTC).replace(tzinfo=None)


def window(since: datetime | None, until: datetime | None, *, default_days: int,
           max_days: int) -> tuple[datetime, datetime]:
    """(since, until) with OONI's defaults (until: tomorrow 00:00 UTC; since: ``default_days``
    before until), refused when empty or longer than ``max_days``."""
    if until is None:
        today = datetime.now(UTC).date()
        until = datetime.combine(today + timedelta(days=1), time())
    if since is None:
        since = until - timedelta(days=default_days)
    if since >= until:
        raise bad_parameter("since", "since must be before until",
                            f"{since.isoformat()} >= {until.isoformat()}")
    if until - since > timedelta(days=max_days):
        raise bad_parameter("until", f"the window from since to until is longer than "
                            f"{max_days} days")
    return since, until
