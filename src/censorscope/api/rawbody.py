"""The raw measurement of a stored row (``raw_measurement``): the one reader of raw bodies,
:mod:`censorscope.archive.raw` — a file ``ingest`` read (plain, gzip, a tar post-can member)
or the collector's archive (sealed can or spool, by uid). Not at hand: None, and the API
answers 404."""

from __future__ import annotations

from censorscope.archive.raw import MAX_RAW_BYTES, read_raw

__all__ = ["MAX_RAW_BYTES", "read_raw"]
