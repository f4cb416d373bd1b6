"""The HTTP API on a big store: latency of the MAT and of search pages, and requests/s under
concurrent clients, against ``censorscope serve`` (real uvicorn, in a child process).

The store is a synthetic one (``bench/synthstore.py``; ``--measurements N`` builds one into
``--store`` when the file does not exist). For each ``--workers`` value the server is started
with ``--no-quotas --store-linger -1`` (no per-client quota: every request of the benchmark
comes from 127.0.0.1) and measured:

- ``mat``: ``/api/v1/aggregation?probe_cc=XX&since=…&until=…&axis_x=measurement_start_day``,
  a 30-day window of one country (the countries of the store in turn, the biggest first;
  the window slides over the year), target p50 ≤ 300 ms;
- ``search``: ``/api/v1/measurements?probe_cc=XX&test_name=web_connectivity&limit=50`` over a
  30-day window; ``search_domain``: the same with ``domain=`` one of the country's most tested
  domains; target p50 ≤ 50 ms;
- sequentially (one client), ``--requests`` of each kind: p50/p95 of the wall-clock time per
  request seen by the client (and the server's own ``elapsed_seconds``/``query_time``);
- ``cold``: the store file's pages are dropped from the page cache
  (``posix_fadvise(DONTNEED)`` on that file only) and the server is restarted before each of
  ``--cold-runs`` runs; the first request of each kind after that is a cold one (it opens the
  file, reads the catalog and the blocks from disk); the server counts as started when it
  answers 404 to an unknown path, plus 5 s with several workers (uvicorn's supervisor listens
  before its workers are up);
- ``load``: ``--clients`` concurrent keep-alive clients (asyncio, one connection each) send a
  mix of 40 % MAT, 40 % search and 20 % search_domain requests for ``--seconds``: requests/s,
  p50/p95/p99 under load, non-200 answers; once right after a cold start (the first
  ``--cold-seconds``) and once warm;
- ``mat_year`` and ``mat_year_by_country`` (no target): every country over the whole year by
  day, and by day and country, ``--wide`` requests each, warm.

Every figure is one JSON line on stdout (``"bench": "api"``, ``"case"`` names it).

    .venv/bin/python bench/api.py --store /var/tmp/cs-api-10m.duckdb [--measurements 10000000]
        [--workers 1 2] [--requests 60] [--clients 32] [--seconds 30] [--cold-runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

import duckdb  # noqa: E402

SERVE = [sys.executable, "-m", "censorscope.cli.main", "serve"]
WINDOW_DAYS = 30
WORKER_SETTLE_SECONDS = 5.0  # --workers N: time for the other workers to start


@dataclass(frozen=True)
class Targets:
    """What the requests ask for: countries (biggest first), each country's most tested
    web_connectivity domains, and the first and last day of the store."""

    countries: list[str]
    domains: dict[str, list[str]]
    first: date
    last: date


def targets(path: Path, countries: int = 12) -> Targets:
    """Read the request targets from the store file (read-only, closed before serving)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        ccs = [cc for (cc,) in con.execute(
            "SELECT probe_cc FROM measurements GROUP BY 1 ORDER BY count(*) DESC, 1 "
            "LIMIT ?", [countries]).fetchall()]
        domains: dict[str, list[str]] = {}
        for cc, domain in con.execute(
                "SELECT probe_cc, domain FROM (SELECT probe_cc, domain, row_number() OVER "
                "(PARTITION BY probe_cc ORDER BY count(*) DESC, domain) AS r FROM measurements "
                "WHERE test_name = 'web_connectivity' AND probe_cc IN (SELECT unnest(?)) "
                "GROUP BY 1, 2) WHERE r <= 5 ORDER BY 1, r", [ccs]).fetchall():
            domains.setdefault(cc, []).append(domain)
        row = con.execute("SELECT min(measurement_start_time), max(measurement_start_time) "
                          "FROM measurements").fetchone()
    finally:
        con.close()
    assert row is not None and row[0] is not None, "the store holds no measurement"
    return Targets(ccs, domains, row[0].date(), row[1].date())


class Requests:
    """Request paths of each kind, in a fixed pseudo-random order (``seed``)."""

    def __init__(self, t: Targets, seed: int = 7) -> None:
        self.t = t
        self.rng = random.Random(seed)
        self.n = 0

    def _window(self) -> tuple[str, str]:
        days = max(1, (self.t.last - self.t.first).days - WINDOW_DAYS)
        since = self.t.first + timedelta(days=self.rng.randrange(days))
        return since.isoformat(), (since + timedelta(days=WINDOW_DAYS)).isoformat()

    def _cc(self) -> str:
        self.n += 1
        return self.t.countries[self.n % len(self.t.countries)]

    def mat(self) -> str:
        since, until = self._window()
        return "/api/v1/aggregation?" + urlencode({
            "probe_cc": self._cc(), "since": since, "until": until,
            "axis_x": "measurement_start_day"})

    def search(self) -> str:
        since, until = self._window()
        return "/api/v1/measurements?" + urlencode({
            "probe_cc": self._cc(), "test_name": "web_connectivity", "since": since,
            "until": until, "limit": 50})

    def search_domain(self) -> str:
        since, until = self._window()
        cc = self._cc()
        return "/api/v1/measurements?" + urlencode({
            "probe_cc": cc, "test_name": "web_connectivity",
            "domain": self.rng.choice(self.t.domains[cc]), "since": since, "until": until,
            "limit": 50})

    def mat_year(self) -> str:
        """Every country, the whole year, by day (no target: beyond the MAT's usual query)."""
        return "/api/v1/aggregation?" + urlencode({
            "since": self.t.first.isoformat(),
            "until": (self.t.last + timedelta(days=1)).isoformat(),
            "axis_x": "measurement_start_day"})

    def mat_year_by_country(self) -> str:
        """The whole year by day and country (a grid of ~22,000 cells)."""
        return self.mat_year() + "&axis_y=probe_cc"

    def kind(self, kind: str) -> str:
        path: str = getattr(self, kind)()
        return path

    def mixed(self) -> tuple[str, str]:
        r = self.rng.random()
        kind = "mat" if r < 0.4 else "search" if r < 0.8 else "search_domain"
        return kind, self.kind(kind)


# --- a minimal HTTP/1.1 keep-alive client (asyncio streams: light on the shared CPU) --------
class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = head.decode("latin-1").lower()
        if "transfer-encoding: chunked" in headers:
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            length = int(headers.split("content-length:", 1)[1].split("\r\n", 1)[0])
            body = await self.reader.readexactly(length)
        if "connection: close" in headers:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except ConnectionError:
                pass
        self.reader = self.writer = None


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50_ms": round(1000 * statistics.median(ordered), 1), "p95_ms": at(0.95),
            "p99_ms": at(0.99), "max_ms": round(1000 * ordered[-1], 1)}


def _server_seconds(body: bytes) -> float | None:
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if "db_stats" in answer:
        return float(answer["db_stats"]["elapsed_seconds"])
    if "metadata" in answer:
        return float(answer["metadata"]["query_time"])
    return None


async def sequential_one(port: int, path: str) -> tuple[int, bytes]:
    conn = Connection(port)
    try:
        return await conn.get(path)
    finally:
        await conn.close()


async def sequential(port: int, paths: list[str]) -> tuple[list[float], list[float], int]:
    """(client seconds, server seconds, non-200 count) of ``paths`` one after another."""
    conn = Connection(port)
    took: list[float] = []
    server: list[float] = []
    bad = 0
    try:
        for path in paths:
            began = time.perf_counter()
            status, body = await conn.get(path)
            took.append(time.perf_counter() - began)
            if status != 200:
                bad += 1
            elif (s := _server_seconds(body)) is not None:
                server.append(s)
    finally:
        await conn.close()
    return took, server, bad


async def load(port: int, reqs: Requests, clients: int, seconds: float
               ) -> dict[str, Any]:
    """``clients`` connections sending mixed requests for ``seconds``."""
    deadline = time.perf_counter() + seconds
    took: dict[str, list[float]] = {"mat": [], "search": [], "search_domain": []}
    statuses: dict[int, int] = {}

    async def client() -> None:
        conn = Connection(port)
        try:
            while time.perf_counter() < deadline:
                kind, path = reqs.mixed()
                began = time.perf_counter()
                status, _ = await conn.get(path)
                took[kind].append(time.perf_counter() - began)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            await conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    done = sum(len(v) for v in took.values())
    everything = [x for v in took.values() for x in v]
    return {
        "clients": clients, "seconds": round(elapsed, 1), "requests": done,
        "requests_per_s": round(done / elapsed, 1),
        "non_200": sum(n for s, n in statuses.items() if s != 200),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        **_percentiles(everything),
        "by_kind": {k: {"requests": len(v), **_percentiles(v)} for k, v in took.items()},
    }


# --- the server ------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def drop_page_cache(path: Path) -> None:
    """Evict the file's pages from the OS page cache (this file only; clean pages)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


@contextmanager
def serving(path: Path, workers: int, extra: list[str] | None = None) -> Iterator[int]:
    """``censorscope serve`` on the store file ``path`` (a child process of its own session);
    yields its port once it answers, and stops it with SIGINT (as Ctrl-C) afterwards."""
    port = _free_port()
    proc = subprocess.Popen(
        [*SERVE, "--store", f"duckdb://{path}", "--port", str(port), "--workers", str(workers),
         "--no-quotas", "--store-linger", "-1", "--log-level", "warning", *(extra or [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    try:
        deadline = time.monotonic() + 60
        while True:  # an unknown path answers 404 without touching the store
            try:
                status, _ = asyncio.run(sequential_one(port, "/bench-ready"))
                if status == 404:
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                raise SystemExit("censorscope serve exited: "
                                 + (proc.stderr.read() if proc.stderr else ""))
            if time.monotonic() > deadline:
                raise SystemExit("censorscope serve did not answer in 60 s")
            time.sleep(0.1)
        if workers > 1:  # the supervisor listens before its workers have started
            time.sleep(WORKER_SETTLE_SECONDS)
        yield port
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _line(**fields: Any) -> None:
    print(json.dumps({"bench": "api", **fields,
                      "load_average": round(os.getloadavg()[0], 1)}), flush=True)


def run(path: Path, *, workers: int, requests: int, clients: int, seconds: float,
        cold_runs: int, cold_seconds: float, t: Targets, wide: int) -> None:
    common = {"workers": workers, "store": str(path)}
    kinds = ("mat", "search", "search_domain")
    # cold: page cache of the file dropped, fresh server, first request of each kind
    cold: dict[str, list[float]] = {k: [] for k in kinds}
    reqs = Requests(t, seed=11)
    for _ in range(cold_runs):
        drop_page_cache(path)
        with serving(path, workers) as port:
            for kind in kinds:
                took, _, bad = asyncio.run(sequential(port, [reqs.kind(kind)]))
                assert not bad, f"{kind}: not 200"
                cold[kind].append(took[0])
    for kind in kinds:
        _line(case=f"{kind}_cold", runs=cold_runs, **_percentiles(cold[kind]), **common)
    if cold_seconds > 0:
        drop_page_cache(path)
        with serving(path, workers) as port:
            _line(case="load_cold", **asyncio.run(load(port, Requests(t, seed=13), clients,
                                                       cold_seconds)), **common)
    with serving(path, workers) as port:
        reqs = Requests(t, seed=17)
        # warm-up: every country's 30-day windows once over (the buffer pool holds the blocks)
        asyncio.run(sequential(port, [reqs.kind(k) for k in kinds for _ in range(20)]))
        for kind in kinds:
            took, server, bad = asyncio.run(
                sequential(port, [reqs.kind(kind) for _ in range(requests)]))
            target = 300 if kind == "mat" else 50
            stats = _percentiles(took)
            _line(case=f"{kind}_warm", requests=len(took), non_200=bad, **stats,
                  server_p50_ms=_percentiles(server)["p50_ms"], target_p50_ms=target,
                  met=stats["p50_ms"] is not None and stats["p50_ms"] <= target, **common)
        _line(case="load_warm", **asyncio.run(load(port, Requests(t, seed=19), clients,
                                                   seconds)), **common)
        for kind in ("mat_year", "mat_year_by_country"):
            took, server, bad = asyncio.run(sequential(port, [reqs.kind(kind)] * wide))
            _line(case=f"{kind}_warm", requests=len(took), non_200=bad, **_percentiles(took),
                  server_p50_ms=_percentiles(server)["p50_ms"], **common)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, required=True, help="the DuckDB file")
    ap.add_argument("--measurements", type=int, default=10_000_000,
                    help="size of the store built when --store does not exist")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--requests", type=int, default=60, help="per kind, sequential")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30.0, help="warm load duration")
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--cold-seconds", type=float, default=10.0, help="cold load duration")
    ap.add_argument("--wide", type=int, default=10,
                    help="requests of each whole-year MAT query (no target)")
    args = ap.parse_args()
    if not args.store.exists():
        sys.path.insert(0, str(Path(__file__).parent))
        from synthstore import generate

        _line(case="generate", **generate(args.store, args.measurements))
    t = targets(args.store)
    size = duckdb.connect(str(args.store), read_only=True)
    try:
        count = (size.execute("SELECT count(*) FROM measurements").fetchone() or (0,))[0]
    finally:
        size.close()
    _line(case="store", measurements=count, countries=t.countries, first=str(t.first),
          last=str(t.last), cpus=os.cpu_count(), at=datetime.now().isoformat(timespec="seconds"))
    for workers in args.workers:
        run(args.store, workers=workers, requests=args.requests, clients=args.clients,
            seconds=args.seconds, cold_runs=args.cold_runs, cold_seconds=args.cold_seconds,
            t=t, wide=args.wide)


if __name__ == "__main__":
    main()
