"""Webhooks against a real local HTTP server: signed JSON, retried with backoff on 5xx and
dead receivers (bounded in attempts and time), never holding back the other alerts, a
delivery log in the state, and failed deliveries sent again by the next run."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from censorscope.alerts import webhook
from censorscope.alerts.episodes import episodes
from censorscope.alerts.run import Settings, payload_json, run
from censorscope.alerts.state import load
from censorscope.alerts.webhook import Job, RetryPolicy, deliver, deliver_all, sign, verify

from .alertkit import T0, incident, outage, receiver

SECRET = b"s3cr3t-shared-with-the-receiver"
FAST = RetryPolicy(attempts=4, first_delay=0.05, factor=2.0, max_delay=0.5, total=5.0,
                   timeout=2.0)
H = timedelta(hours=1)


def _job(url: str, n: int = 1) -> Job:
    body = json.dumps({"event": "opened", "n": n}).encode()
    return Job(url, body, "opened", f"inc-test/{n}")


def test_signature_covers_timestamp_and_body() -> None:
    body = b'{"event":"opened"}'
    stamp = int(time.time())
    good = sign(SECRET, stamp, body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert verify(SECRET, body, str(stamp), good)
    assert not verify(b"another secret", body, str(stamp), good)
    assert not verify(SECRET, body + b" ", str(stamp), good)
    assert not verify(SECRET, body, str(stamp + 1), good)  # the timestamp is signed
    # a captured request replayed ten minutes later is refused
    assert not verify(SECRET, body, str(stamp), good, now=stamp + 600)
    assert not verify(SECRET, body, None, good)


def test_retries_until_the_receiver_accepts_and_signs_every_attempt() -> None:
    with receiver(SECRET, fail_first=2) as rx:
        started = time.monotonic()
        result = deliver(_job(rx.url), SECRET, FAST)
        elapsed = time.monotonic() - started
    assert (result.status, result.attempts, result.http_status) == ("delivered", 3, 200)
    assert [r.signature_ok for r in rx.received] == [True, True, True]
    assert rx.received[0].path == "/hooks/censorscope?token=t0ps3cret"
    # backoff: at least 0.025 + 0.05 s of waiting (jitter halves at most)
    assert elapsed >= 0.075
    stamps = [int(r.headers[webhook.TIMESTAMP_HEADER]) for r in rx.received]
    assert all(abs(s - time.time()) < 60 for s in stamps)
    assert {r.headers[webhook.DELIVERY_HEADER] for r in rx.received} == {"inc-test/1"}


def test_a_receiver_that_never_recovers_costs_bounded_attempts_and_time() -> None:
    with receiver(SECRET, status=500) as rx:
        started = time.monotonic()
        result = deliver(_job(rx.url), SECRET, FAST)
        elapsed = time.monotonic() - started
    assert (result.status, result.attempts, result.error) == ("failed", 4, "HTTP 500")
    assert len(rx.received) == 4 and elapsed < FAST.total
    bounded = RetryPolicy(attempts=50, first_delay=0.2, factor=1.0, total=1.0, timeout=1.0)
    with receiver(SECRET, status=503) as rx:
        started = time.monotonic()
        result = deliver(_job(rx.url), SECRET, bounded)
        elapsed = time.monotonic() - started
    assert result.status == "failed" and 2 <= result.attempts < 10 and elapsed < 1.5


def test_a_4xx_is_a_rejection_not_retried_and_a_bad_secret_is_refused() -> None:
    with receiver(SECRET, status=410) as rx:
        result = deliver(_job(rx.url), SECRET, FAST)
    assert (result.status, result.attempts, result.http_status) == ("rejected", 1, 410)
    with receiver(SECRET) as rx:
        result = deliver(_job(rx.url), b"the wrong secret", FAST)
    assert (result.status, result.http_status) == ("rejected", 401)
    assert rx.received[0].signature_ok is False


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_dead_or_hanging_receiver_never_holds_back_the_others() -> None:
    dead = f"http://127.0.0.1:{_dead_port()}/hook"
    with receiver(SECRET) as good, receiver(SECRET, delay=3.0) as slow:
        policy = RetryPolicy(attempts=2, first_delay=0.05, total=1.5, timeout=0.7)
        jobs = [_job(dead, 1), _job(slow.url, 2), _job(good.url, 3), _job(good.url, 4)]
        started = time.monotonic()
        results = deliver_all(jobs, SECRET, policy)
        elapsed = time.monotonic() - started
    assert [r.status for r in results] == ["failed", "failed", "delivered", "delivered"]
    assert "ConnectionRefusedError" in (results[0].error or "")
    assert "timed out" in (results[1].error or "")
    assert elapsed < 2.5  # in parallel: not the sum of the budgets
    assert sorted(json.loads(r.body)["n"] for r in good.received) == [3, 4]


def test_a_run_posts_the_alerts_and_keeps_a_delivery_log(tmp_path: Path) -> None:
    state = tmp_path / "alerts.state.json"
    with receiver(SECRET, fail_first=1) as rx:
        settings = Settings(state=state, webhooks=(rx.url,), secret=SECRET, retry=FAST)
        report = run(episodes([incident((29049, 41997))], [outage()]), settings,
                     now=T0 + H)
        assert [a.event for a in report.made] == ["opened", "opened"]
        assert report.count("delivered") == 2
        bodies = rx.accepted()
    by_kind = {("incident" if "incident" in b else "outage"): b for b in bodies}
    inc = by_kind["incident"]
    assert inc["event"] == "opened"
    assert inc["incident"] == incident((29049, 41997)).to_json()
    assert {"uid": "uid-blocked-41997-1", "url": "http://127.0.0.1:8480/api/v1/raw_measurement"
            "?measurement_uid=uid-blocked-41997-1"} in inc["evidence"]
    assert by_kind["outage"]["outage"] == outage().to_json()
    log = load(state).alerts
    sink = log[0].deliveries[0]
    assert (sink.status, sink.attempts, sink.http_status) == ("delivered", 2, 200)
    # the log names the receiver without its token; the secret is nowhere in the state
    assert sink.sink == rx.url.split("?")[0]
    text = state.read_text()
    assert "t0ps3cret" not in text and SECRET.decode() not in text
    assert payload_json(log[0]) in {r.body for r in rx.received}


def test_a_failed_delivery_is_retried_on_the_next_run(tmp_path: Path) -> None:
    state = tmp_path / "alerts.state.json"
    with receiver(SECRET, status=503) as rx:
        settings = Settings(state=state, webhooks=(rx.url,), secret=SECRET, retry=FAST)
        first = run(episodes([incident()], []), settings, now=T0 + H)
        assert first.count("failed") == 1
        rx.status = None  # the receiver recovers
        second = run(episodes([incident()], []), settings, now=T0 + 2 * H)
        assert second.made == [] and second.count("delivered") == 1
        third = run(episodes([incident()], []), settings, now=T0 + 3 * H)
        assert third.deliveries == []  # delivered once, not again
        accepted = rx.accepted()
    assert [b["event"] for b in accepted] == ["opened"] * 5  # 4 failed attempts + 1
    [delivery] = load(state).alerts[0].deliveries
    assert (delivery.status, delivery.attempts) == ("delivered", 5)


def test_settings_refuse_webhooks_without_secret_or_with_a_bad_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shared secret"):
        Settings(state=tmp_path / "s", webhooks=("http://127.0.0.1:1/x",))
    with pytest.raises(ValueError, match="not an http"):
        Settings(state=tmp_path / "s", webhooks=("ftp://user:pw@host/x",), secret=SECRET)
    with pytest.raises(ValueError, match="not an http") as info:
        Settings(state=tmp_path / "s", webhooks=("file:///etc/passwd?key=abc",), secret=SECRET)
    assert "abc" not in str(info.value)


def test_made_at_is_the_wall_time_and_closed_reaches_the_webhook(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    with receiver(SECRET) as rx:
        settings = Settings(state=state, webhooks=(rx.url,), secret=SECRET, retry=FAST)
        run(episodes([incident()], []), settings, now=T0 + H,
            made_at=datetime(2026, 1, 1, 10, 0))
        run(episodes([incident(end=T0 + 2 * H)], []), settings, now=T0 + 4 * H,
            made_at=datetime(2026, 1, 1, 11, 0))
        bodies = rx.accepted()
    assert [(b["event"], b["alert"]["made_at"]) for b in bodies] == [
        ("opened", "2026-01-01T10:00:00Z"), ("closed", "2026-01-01T11:00:00Z")]
    assert bodies[1]["incident"]["end"] == "2022-09-14T14:11:00Z"


def test_concurrent_runs_announce_once(tmp_path: Path) -> None:
    """The state is locked for a whole run: four runs at once make one alert, one POST."""
    state = tmp_path / "s.json"
    made: list[str] = []
    with receiver(SECRET, delay=0.2) as rx:
        settings = Settings(state=state, webhooks=(rx.url,), secret=SECRET, retry=FAST)

        def one() -> None:
            report = run(episodes([incident()], []), settings, now=T0 + H)
            made.extend(a.event for a in report.made)

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert made == ["opened"]
        assert len(rx.received) == 1
