"""The test keys of a throttling measurement.

OONI's lists (``queries``, ``tcp_connect``, ``tls_handshakes``, ``requests``,
``network_events`` with the ``bytes_received_cumulative`` samples) hold every event of both
downloads (transaction id 1: the target, 2: the control). The experiment's own keys:

- ``target``, ``control`` (null without a control): per download its ``url``,
  ``transaction_id``, ``address``, ``server_name``, ``failure`` and ``failed_operation``
  (a deadline after the first body byte is recorded but does not void the figures),
  ``status_code``, ``bytes`` (body bytes received), ``complete`` (all ``size`` bytes),
  ``tcp_connect_time``, ``tls_handshake_time``, ``time_to_first_byte`` (request write →
  first read), ``total_time`` (connect → end), ``body_time`` (first byte → end),
  ``mean_kbps`` (body bytes / body time), ``plateau_kbps``, ``plateau_method``,
  ``plateau_windows``, ``plateau_cv`` (``censorscope.model.throughput``) and ``throughput``
  ([end of interval s, kbit/s] per sample interval);
- ``size``, ``sample_interval``, ``control_url``; ``verdict`` (``throttled`` / ``ok`` /
  ``inconclusive``), ``ratio`` (target plateau / control plateau) and ``verdict_reason``.
"""

from __future__ import annotations

import itertools
from typing import Any

from censorscope.model.throughput import (
    BodyRate,
    Judgement,
    first_byte_time,
    kbps,
    rate_from_events,
    samples_of,
)

from .download import Download
from .options import ThrottlingOptions

__all__ = ["build_test_keys", "download_keys", "rate_of"]


def rate_of(d: Download, opts: ThrottlingOptions) -> BodyRate:
    """The download's :class:`BodyRate`, from its recorded events (as the scorer reads them)."""

    return rate_from_events(d.events, d.trace.transaction_id,
                            complete=d.body_bytes >= opts.size,
                            sample_interval=opts.sample_interval)


def _throughput(samples: list[tuple[float, int]]) -> list[list[float]]:
    out: list[list[float]] = []
    for (t1, b1), (t2, b2) in itertools.pairwise(samples):
        if t2 > t1:
            out.append([round(t2, 3), kbps((b2 - b1) / (t2 - t1)) or 0.0])
    return out


def download_keys(d: Download, opts: ThrottlingOptions) -> dict[str, Any]:
    """The ``target`` / ``control`` object of one download."""

    tid = d.trace.transaction_id
    samples = samples_of(d.events, tid)
    first = first_byte_time(d.events, tid)
    rate = rate_of(d, opts)
    end = max((t for t, _ in samples), default=None)
    p = rate.plateau
    return {
        "url": d.url,
        "transaction_id": tid,
        "address": d.address,
        "server_name": d.server_name,
        "failure": d.failure,
        "failed_operation": d.failed_operation,
        "status_code": d.status_code,
        "bytes": d.body_bytes,
        "complete": rate.complete,
        "tcp_connect_time": d.connect_time,
        "tls_handshake_time": d.tls_handshake_time,
        "time_to_first_byte": (round(first - d.t_request, 6)
                               if first is not None and d.t_request is not None else None),
        "total_time": (round(end - d.t_connect, 6)
                       if end is not None and d.t_connect is not None else None),
        "body_time": round(rate.body_seconds, 6) if rate.started else None,
        "mean_kbps": (kbps(d.body_bytes / rate.body_seconds)
                      if rate.started and rate.body_seconds > 0 else None),
        "plateau_kbps": kbps(p.rate),
        "plateau_method": p.method,
        "plateau_windows": p.windows,
        "plateau_cv": p.cv,
        "throughput": _throughput(samples),
    }


def build_test_keys(target: Download, control: Download | None, judgement: Judgement,
              opts: ThrottlingOptions) -> dict[str, Any]:
    """Every test key of one measurement."""

    downloads = [target] + ([control] if control is not None else [])
    return {
        "queries": [q for d in downloads for q in d.trace.queries],
        "tcp_connect": [c for d in downloads for c in d.trace.tcp_connect],
        "tls_handshakes": [h for d in downloads for h in d.trace.tls_handshakes],
        "requests": [r for d in reversed(downloads) for r in d.trace.requests],
        "network_events": [e for d in downloads for e in d.events],
        "size": opts.size,
        "sample_interval": opts.sample_interval,
        "control_url": control.url if control is not None else None,
        "target": download_keys(target, opts),
        "control": download_keys(control, opts) if control is not None else None,
        "verdict": judgement.verdict,
        "ratio": judgement.ratio,
        "verdict_reason": judgement.reason,
    }
