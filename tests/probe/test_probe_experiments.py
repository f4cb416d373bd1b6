"""The experiment registry drives the probe: ``probe run --experiment NAME``.

The tests register small experiments of their own (a URL one and an input-less one) and run
them through the real runner and the real command, which write real JSONL: the runner must get
its measurer from the registry, build it from the probe's settings, and name the report after
the registered OONI test name.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from censorscope.probe.config import ProbeConfig
from censorscope.probe.runner import run_measurements, run_probe

ECHO = "cs_selftest_echo"
ONCE = "cs_selftest_once"


class EchoMeasurer:
    """Measures nothing: records its input and the settings its factory was given."""

    def __init__(self, settings: ExperimentSettings, test_name: str) -> None:
        self.settings = settings
        self.test_name = test_name
        self.calls = 0

    async def run(self, input: str | None, url: str | None, *, probe: ProbeMetadata,
                  report_id: str, test_start_time: datetime) -> dict[str, Any]:
        self.calls += 1
        await asyncio.sleep(0)
        return make_measurement(
            test_name=self.test_name, test_version="0.0.1", input=input,
            test_keys={"url": url, "resolver": self.settings.resolver,
                       "tcp_timeout": self.settings.timeouts.tcp, "call": self.calls},
            probe_asn=f"AS{probe.probe_asn}", probe_cc=probe.probe_cc,
            probe_network_name=probe.probe_network_name, resolver_asn="AS0",
            resolver_ip=probe.resolver_ip, resolver_network_name="", report_id=report_id,
            software_name=probe.software_name, software_version=probe.software_version,
            measurement_start_time=datetime.now(UTC), test_start_time=test_start_time,
            test_runtime=0.0, test_helpers=None, annotations={},
        )


@pytest.fixture
def built() -> Iterator[list[EchoMeasurer]]:
    """Registers ``cs_selftest_echo`` (URLs) and ``cs_selftest_once`` (no input); yields
    the measurers their factories built; unregisters both."""

    measurers: list[EchoMeasurer] = []

    def factory(name: str) -> Any:
        def make(settings: ExperimentSettings) -> EchoMeasurer:
            measurers.append(EchoMeasurer(settings, name))
            return measurers[-1]
        return make

    registry.register(Experiment(
        name=ECHO, test_name=ECHO, test_version="0.0.1", inputs=InputKind.URLS,
        factory=factory(ECHO), description="test: echoes its URL",
        warnings=lambda s: [] if s.resolver else ["echo has no resolver"],
    ))
    registry.register(Experiment(
        name=ONCE, test_name=ONCE, test_version="0.0.1", inputs=InputKind.NONE,
        factory=factory(ONCE), description="test: one measurement per run",
    ))
    try:
        yield measurers
    finally:
        registry.unregister(ECHO)
        registry.unregister(ONCE)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_registry_lists_web_connectivity() -> None:
    names = [e.name for e in registry.registered()]
    assert "web_connectivity" in names
    wc = registry.get_experiment("web_connectivity")
    assert (wc.test_name, wc.test_version, wc.inputs) == (
        "web_connectivity", "0.5.28", InputKind.URLS)
    listed = CliRunner().invoke(cli, ["probe", "experiments"])
    assert listed.exit_code == 0, listed.output
    assert "web_connectivity" in listed.output and "0.5.28" in listed.output


def test_unknown_experiment_exits_2_listing_the_registered_ones(built: list[EchoMeasurer]) -> None:
    result = CliRunner().invoke(cli, ["probe", "run", "--experiment", "tls_snii",
                                      "-i", "https://example.org/", "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "unknown experiment 'tls_snii'" in result.output
    names = ", ".join(e.name for e in registry.registered())  # others land as they are built
    assert f"registered experiments: {names}" in result.output
    assert f"{ECHO}, {ONCE}" in names and "web_connectivity" in names
    with pytest.raises(registry.UnknownExperiment, match="web_connectivity"):
        registry.get_experiment("tls_snii")
    assert not built, "nothing was built for an unknown experiment"


def test_names_are_unique(built: list[EchoMeasurer]) -> None:
    echo = registry.get_experiment(ECHO)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(echo)
    assert registry.register(echo, replace=True) is echo


def test_runner_gets_its_measurer_from_the_registry(
    built: list[EchoMeasurer], tmp_path: Path
) -> None:
    out = tmp_path / "echo.jsonl"
    config = ProbeConfig.from_mapping({"probe_cc": "AM", "probe_asn": "AS44395",
                                       "resolver": "192.0.2.53", "timeouts": {"tcp": 3}})
    warnings: list[str] = []
    result = asyncio.run(run_probe(
        ["https://a.example/", "not a url", "https://b.example/x"], config, experiment=ECHO,
        output=out, parallel=2, warn=warnings.append,
    ))
    assert len(built) == 1, "one measurer per run, from the registered factory"
    assert built[0].settings.resolver == "192.0.2.53:53" and built[0].calls == 2
    lines = _lines(out)
    assert sorted(m["input"] for m in lines) == ["https://a.example/", "https://b.example/x"]
    for m in lines:
        assert (m["test_name"], m["test_version"]) == (ECHO, "0.0.1")
        assert m["report_id"] == result.report_id
        assert m["test_keys"]["url"] == m["input"] and m["test_keys"]["tcp_timeout"] == 3
        assert (m["probe_cc"], m["probe_asn"]) == ("AM", "AS44395")
    assert result.report_id.split("_")[1:4] == ["csselftestecho", "AM", "44395"]
    assert result.experiment == ECHO and result.written == 2 and len(result.invalid) == 1
    assert any("skipping input 'not a url'" in w for w in warnings)
    assert not any("control" in w for w in warnings), "web connectivity's warnings stay its own"

    again = asyncio.run(run_probe(["https://a.example/", "https://c.example/"], config,
                                  experiment=ECHO, output=out, resume=True))
    assert (again.report_id, again.skipped, again.written) == (result.report_id, 1, 1)
    assert run_measurements(["https://d.example/"], config, experiment=ECHO)[0][
        "test_keys"]["url"] == "https://d.example/"


def test_cli_runs_a_registered_experiment(built: list[EchoMeasurer], tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    result = CliRunner().invoke(cli, ["probe", "run", "-e", ECHO, "-i", "https://a.example/",
                                      "-o", str(out), "--no-progress", "--no-summary"])
    assert result.exit_code == 0, result.output
    assert "warning: echo has no resolver" in result.output
    assert "control" not in result.output
    [m] = _lines(out)
    assert (m["test_name"], m["input"]) == (ECHO, "https://a.example/")


def test_experiment_without_input_runs_once_and_refuses_inputs(
    built: list[EchoMeasurer], tmp_path: Path
) -> None:
    out = tmp_path / "once.jsonl"
    refused = CliRunner().invoke(cli, ["probe", "run", "-e", ONCE, "-i", "https://a.example/",
                                       "-o", str(out)])
    assert refused.exit_code == 2 and "takes no input" in refused.output
    assert not out.exists()
    for _ in range(2):
        ran = CliRunner().invoke(cli, ["probe", "run", "-e", ONCE, "-o", str(out), "--resume",
                                       "--no-progress"])
        assert ran.exit_code == 0, ran.output
    lines = _lines(out)
    assert [m["input"] for m in lines] == [None, None]
    assert [m["test_keys"]["url"] for m in lines] == [None, None]
    assert lines[0]["report_id"] == lines[1]["report_id"], "--resume continues the report"


TARGET = "cs_selftest_target"


def _host_only(raw: str) -> str:
    if "/" in raw or " " in raw:
        raise ValueError("a bare host name, not a URL")
    return raw.lower()


@pytest.fixture
def target_experiment() -> Iterator[list[ExperimentSettings]]:
    """Registers ``cs_selftest_target``: host-name targets, one option ``sni`` (and a factory
    that refuses ``sni=bad``); yields the settings its factory was given."""

    seen: list[ExperimentSettings] = []

    def make(settings: ExperimentSettings) -> EchoMeasurer:
        if settings.options.get("sni") == "bad":
            raise ValueError("option sni: 'bad' is not a server name")
        seen.append(settings)
        return EchoMeasurer(settings, TARGET)

    registry.register(Experiment(
        name=TARGET, test_name=TARGET, test_version="0.0.1", inputs=InputKind.TARGETS,
        factory=make, description="test: host names", parse_input=_host_only,
        options={"sni": "server name to send"},
        summary=lambda m: (f"anomaly: {m['test_keys']['url']}", "tls: reset") if m[
            "test_keys"]["url"].startswith("blocked") else ("ok", "-"),
    ))
    try:
        yield seen
    finally:
        registry.unregister(TARGET)


def test_target_experiment_gets_parsed_targets_and_its_own_options(
    target_experiment: list[ExperimentSettings], tmp_path: Path
) -> None:
    out = tmp_path / "t.jsonl"
    result = CliRunner().invoke(cli, [
        "probe", "run", "-e", TARGET, "-i", "WWW.Example.ORG", "-i", "https://a.example/",
        "-O", f"{TARGET}.sni=example.net", "-o", str(out), "--no-progress", "--no-summary"])
    assert result.exit_code == 0, result.output
    assert "skipping input 'https://a.example/': a bare host name, not a URL" in result.output
    [m] = _lines(out)
    assert (m["input"], m["test_keys"]["url"]) == ("WWW.Example.ORG", "www.example.org")
    [settings] = target_experiment
    assert dict(settings.options) == {"sni": "example.net"}
    listed = CliRunner().invoke(cli, ["probe", "experiments"])
    assert f"--option {TARGET}.sni=…  server name to send" in listed.output


def test_options_are_checked_before_anything_is_measured(
    target_experiment: list[ExperimentSettings], tmp_path: Path
) -> None:
    out = tmp_path / "t.jsonl"
    cases = {
        f"{TARGET}.colour=red": f"{TARGET} has no option colour (its options: sni)",
        "no-dot=1": "expected EXPERIMENT.KEY=VALUE",
        f"{TARGET}.sni=bad": "option sni: 'bad' is not a server name",
    }
    for option, message in cases.items():
        result = CliRunner().invoke(cli, ["probe", "run", "-e", TARGET, "-i", "example.org",
                                          "-O", option, "-o", str(out), "--no-progress"])
        assert result.exit_code == 2, result.output
        assert message in result.output
    assert not out.exists() and not target_experiment
    config = tmp_path / "probe.json"
    config.write_text(json.dumps({"options": {TARGET: {"sni": "from.file"}}}))
    ran = CliRunner().invoke(cli, ["probe", "run", "-e", TARGET, "-i", "example.org",
                                   "--config", str(config), "-o", str(out), "--no-progress"])
    assert ran.exit_code == 0, ran.output
    assert dict(target_experiment[0].options) == {"sni": "from.file"}


def test_experiment_summary_fills_the_table(
    target_experiment: list[ExperimentSettings], tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, ["probe", "run", "-e", TARGET, "-i", "blocked.example",
                                      "-i", "fine.example", "--no-progress"])
    assert result.exit_code == 0, result.output
    [blocked] = [ln for ln in result.output.splitlines() if ln.startswith("blocked.example")]
    assert "anomaly: blocked.example" in blocked and "tls: reset" in blocked
    [fine] = [ln for ln in result.output.splitlines() if ln.startswith("fine.example")]
    assert " ok " in f"{fine} " and "unknown" not in fine
