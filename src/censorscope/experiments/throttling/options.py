"""Settings of one throttling run: the download size, the sampling interval, the control URL.

``size`` (bytes to fetch, default 524288 = OONI's body cap) and ``sample_interval`` (seconds
between ``bytes_received_cumulative`` samples, default 0.1 s: OONI's plateau test speaks of
100-ms samples) come from ``--option throttling.KEY=VALUE``; ``control_url`` is the same object
on a control endpoint (default: none, so the verdict rests on the target alone: see
``censorscope.model.throughput``). A control URL without a path (``https://host/``) takes the
target's path and query. The download deadline is the probe's HTTP timeout, TCP/TLS/DNS use
theirs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from censorscope.experiments.interface import ExperimentSettings, Timeouts

__all__ = ["DEFAULT_SAMPLE_INTERVAL", "DEFAULT_SIZE", "OPTIONS", "ThrottlingOptions",
           "control_for"]

DEFAULT_SIZE = 1 << 19
DEFAULT_SAMPLE_INTERVAL = 0.1
MAX_SIZE = 1 << 30

OPTIONS = {
    "control_url": "the same object on a control endpoint (https://host/ takes the target's "
                   "path); default none: no comparison",
    "size": f"bytes to download from each (default {DEFAULT_SIZE})",
    "sample_interval": f"seconds between throughput samples (default {DEFAULT_SAMPLE_INTERVAL})",
}


def _http_url(key: str, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"throttling.{key}: {value!r} is not an http(s) URL")
    return value.strip()


def _size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        raise ValueError(f"throttling.size: {value!r} is not a whole number of bytes") from None
    if not 1 <= size <= MAX_SIZE:
        raise ValueError(f"throttling.size: {size} is not between 1 and {MAX_SIZE}")
    return size


def _interval(value: str) -> float:
    try:
        interval = float(value)
    except ValueError:
        raise ValueError(f"throttling.sample_interval: {value!r} is not a number") from None
    if not math.isfinite(interval) or not 0.01 <= interval <= 5.0:
        raise ValueError(f"throttling.sample_interval: {value} is not between 0.01 and 5 s")
    return interval


def control_for(control_url: str, target_url: str) -> str:
    """The control download's URL: ``control_url``, with the target's path and query when it
    has no path of its own."""

    parts = urlsplit(control_url)
    if parts.path not in ("", "/") or parts.query:
        return control_url
    target = urlsplit(target_url)
    return urlunsplit((parts.scheme, parts.netloc, target.path or "/", target.query, ""))


@dataclass(frozen=True)
class ThrottlingOptions:
    """Everything the measurer needs (``allow_loopback``: tests on 127.0.0.0/8)."""

    size: int = DEFAULT_SIZE
    sample_interval: float = DEFAULT_SAMPLE_INTERVAL
    control_url: str | None = None
    ca_file: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    allow_loopback: bool = False

    @classmethod
    def from_settings(cls, settings: ExperimentSettings) -> ThrottlingOptions:
        """The options of ``settings`` (``ValueError`` naming the key of a bad value)."""

        opts = settings.options
        control = (opts.get("control_url") or "").strip()
        return cls(
            size=_size(opts["size"]) if "size" in opts else DEFAULT_SIZE,
            sample_interval=(_interval(opts["sample_interval"]) if "sample_interval" in opts
                             else DEFAULT_SAMPLE_INTERVAL),
            control_url=_http_url("control_url", control) if control else None,
            ca_file=settings.ca_file,
            timeouts=settings.timeouts,
            allow_loopback=settings.allow_loopback,
        )
