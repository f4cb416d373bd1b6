"""Several experiments in one run, presets, and ``--max-runtime`` with the local history.

The experiments are small ones registered by the tests (standing in for the real ones under
their names where a preset needs them; the real ones are put back afterwards). They run
through the real command, runner and output: real JSONL files, a real upload queue directory,
a real history file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from censorscope.cli.main import cli
from censorscope.experiments import registry
from censorscope.experiments.interface import (
    Experiment,
    ExperimentSettings,
    InputKind,
    ProbeMetadata,
)
from censorscope.model.measurement import make_measurement
from censorscope.probe.budget import order_inputs
from censorscope.probe.history import History, HistoryError, Seen
from censorscope.probe.inputs import MeasurementInput
from censorscope.probe.presets import APP_EXPERIMENTS, PRESETS, SOCIAL_SERVICES
from censorscope.probe.testlists import load_test_list

Call = tuple[str, str | None]


class Recorder:
    """A measurer that notes (experiment, input) in ``calls`` and takes ``delay`` seconds."""

    def __init__(self, name: str, calls: list[Call], delay: float) -> None:
        self.name, self.calls, self.delay = name, calls, delay

    async def run(self, input: str | None, url: str | None, *, probe: ProbeMetadata,
                  report_id: str, test_start_time: datetime) -> dict[str, Any]:
        self.calls.append((self.name, input))
        await asyncio.sleep(self.delay)
        envelope: dict[str, Any] = dict(
            probe_asn=f"AS{probe.probe_asn}", probe_cc=probe.probe_cc, probe_network_name="",
            resolver_asn="AS0", resolver_ip="", resolver_network_name="",
            software_name="censorscope-test", software_version="0",
            test_helpers=None, annotations={},
        )
        return make_measurement(
            test_name=self.name, test_version="0.1", input=input, test_keys={"target": url},
            report_id=report_id, measurement_start_time=datetime.now(UTC),
            test_start_time=test_start_time, test_runtime=self.delay, **envelope)


def _host(raw: str) -> str:
    host = urlsplit(raw).hostname if "://" in raw else raw
    if not host or "/" in host or " " in host:
        raise ValueError("not a host name")
    return host.lower()


def _service(raw: str) -> str:
    if raw.lower() not in SOCIAL_SERVICES:
        raise ValueError(f"unknown service {raw!r}")
    return raw.lower()


def fake(name: str, kind: InputKind, calls: list[Call], *, delay: float = 0.0,
         parse: Any = _host, options: dict[str, str] | None = None) -> Experiment:
    def factory(settings: ExperimentSettings) -> Recorder:
        if settings.options.get("mode") == "bad":
            raise ValueError("option mode: 'bad' is not a mode")
        return Recorder(name, calls, delay)

    return Experiment(name=name, test_name=name, test_version="0.1", inputs=kind,
                      factory=factory, description=f"test stand-in {name}",
                      parse_input=parse, options=options or {"mode": "a test option"})


@contextmanager
def standing_in(*experiments: Experiment) -> Iterator[None]:
    """Register ``experiments`` (over real ones of the same name); put everything back."""

    saved: dict[str, Experiment] = {}
    for exp in experiments:
        try:
            saved[exp.name] = registry.get_experiment(exp.name)
        except registry.UnknownExperiment:
            pass
        registry.register(exp, replace=True)
    try:
        yield
    finally:
        for exp in experiments:
            registry.unregister(exp.name)
            if exp.name in saved:
                registry.register(saved[exp.name])


@contextmanager
def absent(name: str) -> Iterator[None]:
    """``name`` is not registered for the block."""

    try:
        saved: Experiment | None = registry.get_experiment(name)
    except registry.UnknownExperiment:
        saved = None
    registry.unregister(name)
    try:
        yield
    finally:
        if saved is not None:
            registry.register(saved, replace=True)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["probe", "run", "--no-progress", *args])
    return result.exit_code, result.output


URLS, TARGETS, ONCE = "cs_multi_urls", "cs_multi_targets", "cs_multi_once"


@pytest.fixture
def calls() -> Iterator[list[Call]]:
    made: list[Call] = []
    with standing_in(fake(URLS, InputKind.URLS, made), fake(TARGETS, InputKind.TARGETS, made),
                     fake(ONCE, InputKind.NONE, made)):
        yield made


def test_several_experiments_share_output_and_queue_each_with_its_inputs_and_report(
    calls: list[Call], tmp_path: Path
) -> None:
    out, queue = tmp_path / "out.jsonl", tmp_path / "queue"
    code, text = _run("-e", f"{URLS},{TARGETS}", "-e", ONCE, "-i", "https://a.example/",
                      "-i", "B.example", "-i", "not a target", "-o", str(out),
                      "--upload", "http://127.0.0.1:9/", "--upload-within", "0",
                      "--upload-queue", str(queue))
    assert code == 0, text
    assert calls == [(URLS, "https://a.example/"), (TARGETS, "https://a.example/"),
                     (TARGETS, "B.example"), (ONCE, None)]
    lines = _lines(out)
    assert [(m["test_name"], m["test_keys"]["target"]) for m in lines] == [
        (URLS, "https://a.example/"), (TARGETS, "a.example"), (TARGETS, "b.example"),
        (ONCE, None)]
    reports = {m["test_name"]: m["report_id"] for m in lines}
    assert len(set(reports.values())) == 3, "one report per experiment"
    queued = [json.loads(p.read_text()) for p in (queue / "pending").glob("*.json")]
    assert sorted(m["report_id"] for m in queued) == sorted(m["report_id"] for m in lines)
    for name, report in reports.items():
        assert f"{name}: report {report}:" in text
        assert f"== {name} (report {report})" in text, "one summary table per experiment"
    assert "\n(no input)" in text, "the input-less experiment's row"
    assert "skipping input 'not a target': no experiment of this run takes it" in text

    again_code, again = _run("-e", f"{URLS},{TARGETS},{ONCE}", "-i", "https://a.example/",
                             "-i", "B.example", "-o", str(out), "--resume")
    assert again_code == 0, again
    assert calls[4:] == [(ONCE, None)], "--resume continues each experiment's own report"
    assert _lines(out)[-1]["report_id"] == reports[ONCE]


def test_several_experiments_are_all_checked_before_anything_is_measured(
    calls: list[Call], tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    cases = [
        (["-e", f"{URLS},cs_nope", "-i", "https://a.example/"], "unknown experiment 'cs_nope'"),
        (["-e", f"{URLS},{TARGETS}", "-i", "https://a.example/", "-O", f"{TARGETS}.mode=bad"],
         f"{TARGETS}: option mode: 'bad' is not a mode"),
        (["-e", f"{URLS},{TARGETS}", "-i", "https://a.example/", "-O", f"{TARGETS}.colour=red",
          "--upload", "http://127.0.0.1:9/", "--upload-queue", str(tmp_path / "q")],
         f"{TARGETS} has no option colour (its options: mode)"),
        (["-e", f"{URLS},{TARGETS}", "-i", "a.example"],
         f"nothing to measure for {URLS}: none of the inputs is a URL"),
        (["-e", f"{URLS},{ONCE}", "-i", "https://a.example/", "--report-id", "r1"],
         "--report-id names one report"),
    ]
    for args, message in cases:
        code, text = _run(*args, "-o", str(out))
        assert code == 2 and message in text, text
    assert not calls and not out.exists() and not (tmp_path / "q").exists()


@pytest.fixture
def preset_calls() -> Iterator[list[Call]]:
    """Stand-ins for every experiment the presets name, recording into one list."""

    made: list[Call] = []
    names = {step.experiment for preset in PRESETS.values() for step in preset.steps}
    kinds = {"web_connectivity": InputKind.URLS, "service": InputKind.TARGETS,
             "tls_sni": InputKind.TARGETS, "dns_consistency": InputKind.TARGETS}
    stand_ins = [fake(name, kinds.get(name, InputKind.NONE), made,
                      parse=_service if name == "service" else _host) for name in sorted(names)]
    with standing_in(*stand_ins):
        yield made


def test_presets_run_their_mix_for_the_country(preset_calls: list[Call], tmp_path: Path) -> None:
    out = tmp_path / "apps.jsonl"
    code, text = _run("--preset", "apps", "-o", str(out))
    assert code == 0, text
    assert preset_calls == [(name, None) for name in APP_EXPERIMENTS]

    preset_calls.clear()
    code, text = _run("--preset", "social", "-o", str(tmp_path / "social.jsonl"))
    assert code == 0, text
    domains = list(SOCIAL_SERVICES.values())
    assert preset_calls == ([("service", s) for s in SOCIAL_SERVICES]
                            + [("tls_sni", d) for d in domains]
                            + [("dns_consistency", d) for d in domains])
    assert "www.tiktok.com" in domains and "tiktok" in SOCIAL_SERVICES

    preset_calls.clear()
    out = tmp_path / "web.jsonl"
    code, text = _run("--preset", "websites", "--probe-cc", "AZ", "-c", "NEWS,GRP",
                      "-o", str(out))
    assert code == 0, text
    az = [e.url for e in load_test_list("az", categories=("NEWS", "GRP"))]
    world = [e.url for e in load_test_list("global", categories=("NEWS", "GRP"))]
    expected = list(dict.fromkeys(az + world))
    assert preset_calls == [("web_connectivity", url) for url in expected]
    assert {m["probe_cc"] for m in _lines(out)} == {"AZ"}

    preset_calls.clear()
    code, text = _run("--preset", "full", "--probe-cc", "ZZ", "-c", "GRP",
                      "-o", str(tmp_path / "full.jsonl"))
    assert code == 0, text
    order = list(dict.fromkeys(name for name, _ in preset_calls))
    assert order == [*APP_EXPERIMENTS, "service", "tls_sni", "dns_consistency",
                     "web_connectivity"]
    assert [u for n, u in preset_calls if n == "web_connectivity"] == [
        e.url for e in load_test_list("global", categories=("GRP",))], "ZZ: global list only"

    listed = CliRunner().invoke(cli, ["probe", "presets", "--probe-cc", "am"])
    assert listed.exit_code == 0, listed.output
    assert "URLs of the test lists am + global" in listed.output
    assert "    service: tiktok, facebook" in listed.output


def test_a_preset_fails_before_measuring_when_an_experiment_is_missing(
    preset_calls: list[Call], tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    with absent("signal"):
        code, text = _run("--preset", "apps", "-o", str(out))
        assert code == 2, text
        assert "preset apps needs experiment(s) signal, which are not registered" in text
        listed = CliRunner().invoke(cli, ["probe", "presets"])
        assert "    signal (not registered): (no input)" in listed.output
    for args, message in [
        (["--preset", "apps", "-i", "https://a.example/"], "--preset chooses its inputs"),
        (["--preset", "apps", "-c", "NEWS"], "preset apps measures none"),
        (["--preset", "social", "-e", "tls_sni"], "--preset chooses the experiments"),
        (["--preset", "websites", "--probe-cc", "AZ", "-c", "NOPE"],
         "unknown category code(s) NOPE"),
        (["--preset", "nope"], "Invalid value for '--preset'"),
    ]:
        code, text = _run(*args, "-o", str(out))
        assert code == 2 and message in text, text
    assert not preset_calls and not out.exists()


SLOW = "cs_multi_slow"
LIST = ("url,category_code,category_description,date_added,source,notes\n"
        "https://game.example/,GAME,Gaming,2020-01-01,t,\n"
        "https://news.example/,NEWS,News Media,2020-01-01,t,\n"
        "https://misc.example/,MISC,Misc,2020-01-01,t,\n"
        "https://humr.example/,HUMR,Human Rights Issues,2020-01-01,t,\n"
        "https://ctrl.example/,CTRL,Control content,2020-01-01,t,\n"
        "https://grp.example/,GRP,Social Networking,2020-01-01,t,\n")


def test_max_runtime_measures_by_weight_and_least_recently_measured_first(
    tmp_path: Path
) -> None:
    made: list[Call] = []
    test_list, history = tmp_path / "mine.csv", tmp_path / "state" / "history.json"
    test_list.write_text(LIST)
    args = ["-e", f"{SLOW},{ONCE}", "-l", str(test_list), "--max-runtime", "1.0",
            "--parallel", "1", "--history", str(history), "--probe-asn", "AS29049"]
    with standing_in(fake(SLOW, InputKind.URLS, made, delay=0.4),
                     fake(ONCE, InputKind.NONE, made)):
        rounds = []
        for n in range(3):
            code, text = _run(*args, "-o", str(tmp_path / f"run{n}.jsonl"))
            assert code == 0, text
            assert f"{SLOW}: report" in text and "3 not started (--max-runtime)" in text
            rounds.append([urlsplit(u or "").hostname for name, u in made if name == SLOW])
            assert made[-1] == (ONCE, None), "experiments without URLs are not budgeted"
            made.clear()
        history_text = history.read_text()
        history.write_text("{not json")
        code, text = _run(*args, "-o", str(tmp_path / "bad.jsonl"))
        assert code == 2 and f"history {history} is not valid JSON" in text
        assert not (tmp_path / "bad.jsonl").exists() and not made
    assert rounds[0] == ["news.example", "humr.example", "grp.example"]  # priority 100 first
    # measured once this week: 100/1; never measured: GAME, MISC 20/0.1, CTRL 10/0.1
    assert rounds[1] == ["game.example", "misc.example", "ctrl.example"]
    # all measured once: 100 > 20 > 10 again, the oldest of equal weight first
    assert rounds[2] == ["news.example", "humr.example", "grp.example"]
    times = json.loads(history_text)["networks"]["AS29049"][SLOW]
    assert len(times) == 6 and len(times["https://news.example/"]) == 2
    assert not list(history.parent.glob(".*.tmp")), "written atomically"


def test_history_counts_within_the_window_and_orders_ties_by_age(tmp_path: Path) -> None:
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    hist = History(tmp_path / "h.json")
    hist.note("AS1", "wc", "https://a/", now - timedelta(days=10))
    hist.note("AS1", "wc", "https://a/", now - timedelta(days=2))
    hist.note("AS1", "wc", "https://a/", now - timedelta(hours=1))
    hist.note("AS1", "wc", "https://b/", now - timedelta(days=3))
    hist.save()
    again = History.load(tmp_path / "h.json")
    assert again.seen("AS1", "wc", "https://a/", now) == Seen(2, now - timedelta(hours=1))
    assert again.seen("AS2", "wc", "https://a/", now) == Seen(), "per network"
    items = [MeasurementInput("https://a/", "https://a/", "NEWS"),
             MeasurementInput("https://b/", "https://b/", "NEWS"),
             MeasurementInput("https://c/", "https://c/", "MISC"), "https://d/"]
    ordered = order_inputs(items, lambda key: again.seen("AS1", "wc", key, now))
    # b: 100/1, d (no category: 50)/0.1, c: 20/0.1, a: 100/2
    assert [i if isinstance(i, str) else i.input for i in ordered] == [
        "https://d/", "https://c/", "https://b/", "https://a/"]
    (tmp_path / "v2.json").write_text('{"version": 2, "networks": {}}')
    with pytest.raises(HistoryError, match="not a censorscope history"):
        History.load(tmp_path / "v2.json")


def test_real_web_connectivity_with_another_experiment_from_a_list_with_history(
    calls: list[Call], site: int, config: Path, tmp_path: Path
) -> None:
    test_list, history, out = tmp_path / "local.csv", tmp_path / "h.json", tmp_path / "o.jsonl"
    test_list.write_text(
        "url,category_code,category_description,date_added,source,notes\n"
        f"http://127.0.0.1:{site}/misc,MISC,Misc,2020-01-01,t,\n"
        f"http://127.0.0.1:{site}/news,NEWS,News Media,2020-01-01,t,\n")
    code, text = _run("-e", f"web_connectivity,{ONCE}", "-l", str(test_list), "--config",
                      str(config), "--max-runtime", "60", "--history", str(history),
                      "-o", str(out))
    assert code == 0, text
    lines = _lines(out)
    web = [m for m in lines if m["test_name"] == "web_connectivity"]
    assert [m["input"] for m in web] == [f"http://127.0.0.1:{site}/news",
                                         f"http://127.0.0.1:{site}/misc"], "NEWS first"
    assert all(m["test_keys"]["requests"][0]["response"]["code"] == 200 for m in web)
    assert [m["test_name"] for m in lines[2:]] == [ONCE] and calls == [(ONCE, None)]
    seen = json.loads(history.read_text())["networks"]["AS44395"]["web_connectivity"]
    assert sorted(seen) == sorted(m["input"] for m in web)


def test_preset_targets_suit_the_real_experiments_that_are_registered() -> None:
    known = {exp.name: exp for exp in registry.registered()}
    for preset in PRESETS.values():
        for step in preset.steps:
            exp = known.get(step.experiment)
            if exp is None or not step.targets:
                continue  # not built yet: the preset refuses to run (tested above)
            assert exp.inputs is InputKind.TARGETS, step.experiment
            for target in step.targets:
                exp.parse_input(target)  # raises ValueError for a target it refuses
