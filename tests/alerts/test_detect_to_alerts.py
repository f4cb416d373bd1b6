"""From stored verdicts to alerts: ``censorscope detect`` then ``censorscope alerts``, run as
measurements keep arriving — one incident opens once, grows (``updated``), and closes once
its end has held in the data; the webhook receiver gets exactly those three, signed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from censorscope.cli.main import cli
from censorscope.model.rows import MeasurementRow, VerdictRow
from censorscope.store import open_store
from tests.store.detectkit import T0, series

from .alertkit import receiver
from .test_cli import SECRET


def _case(onsets: dict[int, int | None], ends: dict[int, int], hours: int
          ) -> tuple[list[MeasurementRow], list[VerdictRow]]:
    """Hourly TikTok measurements per AS: blocked from its onset hour until its end hour."""
    ms: list[MeasurementRow] = []
    vs: list[VerdictRow] = []
    for asn, onset in onsets.items():
        end = ends.get(asn, 10**6)
        outcomes = "".join("b" if onset is not None and onset <= h < end else "o"
                           for h in range(hours))
        m, v = series(f"AZ{asn}", T0, outcomes, cc="AZ", asn=asn, network=f"AS{asn} Net")
        ms += m
        vs += v
    return ms, vs


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _feed(url: str, tmp_path: Path, *extra: str) -> Result:
    detected = _cli("detect", "--store", url)
    assert detected.exit_code == 0, detected.output
    return _cli("alerts", "--store", url, "--feed", str(tmp_path / "alerts.atom"),
                "--quiet", "3h", *extra)


def _ingest(url: str, rows: tuple[list[MeasurementRow], list[VerdictRow]]) -> None:
    with open_store(url) as store:
        store.write_batch(rows[0], [], rows[1])


def test_detect_then_alerts_as_the_story_unfolds(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'store.duckdb'}"
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET)
    secret.chmod(0o600)
    onsets: dict[int, int | None] = {29049: 20, 41997: 24, 28787: None, 31721: None}
    with receiver(SECRET) as rx:
        hook = ("--webhook", rx.url, "--secret-file", str(secret))
        _ingest(url, _case(onsets, {}, 40))
        first = _feed(url, tmp_path, *hook)
        assert first.exit_code == 0, first.output
        assert [ln.split()[0] for ln in first.output.splitlines()[:-1]] == ["opened"]
        again = _feed(url, tmp_path, *hook)
        assert "no new alerts" in again.output

        # Azercell joins at hour 50 (all measurements re-stored: new uids only are added)
        onsets[31721] = 50
        _ingest(url, _case(onsets, {}, 70))
        grown = _feed(url, tmp_path, *hook)
        assert grown.output.startswith("updated"), grown.output

        # the block is lifted everywhere at hour 80; 2 h of clean data is not yet 3 h quiet
        ends = {29049: 80, 41997: 80, 31721: 80}
        _ingest(url, _case(onsets, ends, 82))
        lifted = _feed(url, tmp_path, *hook)
        assert "closed" not in lifted.output, lifted.output
        _ingest(url, _case(onsets, ends, 90))
        closed = _feed(url, tmp_path, *hook)
        assert closed.output.startswith("closed"), closed.output
        bodies = rx.accepted()

    assert [b["event"] for b in bodies] == ["opened", "updated", "closed"]
    assert all(r.signature_ok for r in rx.received)
    opened, updated, done = (b["incident"] for b in bodies)
    assert {n["asn"] for n in opened["networks"]} == {29049, 41997}
    assert {n["asn"] for n in updated["networks"]} == {29049, 41997, 31721}
    assert done["end"] is not None and 28787 in done["not_affected"]
    listed = _cli("alerts", "--feed", str(tmp_path / "alerts.atom"), "--list")
    assert listed.output.count("delivered") == 3
