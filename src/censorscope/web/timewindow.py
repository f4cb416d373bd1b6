"""The time windows of the country, network, domain and service pages.

A store may hold measurements of any period (the lab's are from 2022), so these pages do not
default to "the last 30 days before now" as the search does: they look at the last
:data:`RECENT_DAYS` days *of the data* — up to the midnight after the last measurement of the
country, network, domain or store. :func:`recent_window` is that window (cut at the first
measurement, with an hourly grain when it spans a week or less); :func:`form_window` is the
window of a page's since/until fields, with that default.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Final

from censorscope.api.params import parse_time, window
from censorscope.store.base import Store
from censorscope.store.search import SearchFilter

__all__ = ["HOURLY_DAYS", "RECENT_DAYS", "form_window", "last_measurement_time",
           "midnight_after", "recent_window"]

RECENT_DAYS: Final = 30
HOURLY_DAYS: Final = 7  # a chart window of at most this many days is drawn by the hour


def midnight_after(t: datetime) -> datetime:
    """00:00 of the day after ``t``."""
    return datetime.combine(t.date() + timedelta(days=1), time())


def recent_window(first: datetime | None, last: datetime, days: int = RECENT_DAYS
                  ) -> tuple[datetime, datetime, str]:
    """(since, until, grain) of the last ``days`` days of data ending with ``last``, starting
    no earlier than the midnight of ``first``; grain ``hour`` for a week or less, else
    ``day``."""
    until = midnight_after(last)
    since = until - timedelta(days=days)
    if first is not None:
        since = max(since, datetime.combine(first.date(), time()))
    grain = "hour" if until - since <= timedelta(days=HOURLY_DAYS) else "day"
    return since, until, grain


def last_measurement_time(store: Store, where: SearchFilter) -> datetime | None:
    """The start time of the newest measurement matching ``where`` (one bounded query)."""
    rows = store.search_measurements(where, order="desc", limit=1)
    return rows[0].measurement_start_time if rows else None


def form_window(since: str | None, until: str | None, last: datetime | None, *,
                max_days: int, days: int = RECENT_DAYS) -> tuple[datetime, datetime]:
    """The window of a page's since/until fields: ``until`` defaults to the midnight after
    ``last`` (the newest measurement the page is about; now without one), ``since`` to
    ``days`` before ``until``; refused (400) as the API refuses a window."""
    t0, t1 = parse_time("since", since), parse_time("until", until)
    if t1 is None and last is not None and (t0 is None or t0 < midnight_after(last)):
        t1 = midnight_after(last)
    return window(t0, t1, default_days=days, max_days=max_days)
