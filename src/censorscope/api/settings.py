"""What an API server may do: page sizes, query windows, quotas, store connections."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Quota", "Settings"]


@dataclass(frozen=True)
class Quota:
    """``seconds`` of request time a client may use per ``window`` seconds (OONI charges
    wall-clock time too, ooni-backend §3.8)."""

    window: float
    seconds: float


@dataclass(frozen=True)
class Settings:
    """Limits and knobs of one API server (the defaults are the production ones).

    - ``default_page_size`` / ``max_page_size``: ``limit`` of the list endpoints (OONI: 100,
      and at most 1,000 here: deeper reads page with ``next_cursor``).
    - ``search_window_days``: longest ``since``…``until`` of ``/measurements`` (OONI: 180).
    - ``aggregation_window_days``: longest window of ``/aggregation``.
    - ``max_aggregation_rows``: most cells one aggregation may return (a bigger one is a 400
      asking for a narrower query, not a huge answer).
    - ``quotas``: per client; empty disables rate limiting. ``min_request_cost``: seconds
      charged at least per request. ``trust_forwarded_for``: the client is the first address of
      ``X-Forwarded-For`` (only behind a proxy that sets it), else the peer address.
    - ``store_linger``: seconds an idle store connection is kept open (None: for the life of
      the server). For DuckDB, a writer (ingest, collector, detect) can open the file only
      while the API holds no connection to it.
    - ``tokens_file``: the bearer tokens of the writes (``api.tokens``; None: no write is
      allowed). ``annotations_file``: the SQLite sidecar of findings and feedback (None:
      beside the store, ``api.annotations``). ``max_body_bytes``: longest request body.
    """

    default_page_size: int = 100
    max_page_size: int = 1000
    search_window_days: int = 180
    aggregation_window_days: int = 731
    max_aggregation_rows: int = 100_000
    quotas: tuple[Quota, ...] = field(default_factory=lambda: (
        Quota(60.0, 30.0), Quota(86_400.0, 3_600.0)))
    min_request_cost: float = 0.01
    trust_forwarded_for: bool = False
    store_linger: float | None = 2.0
    tokens_file: str | None = None
    annotations_file: str | None = None
    max_body_bytes: int = 65_536
