"""``tls_sni`` in the registry and on the command line: name, OONI-style test name and version,
target inputs and their normal form, options refused by name before anything is measured."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from censorscope.cli.main import cli
from censorscope.experiments import registry
from censorscope.experiments.interface import InputKind


def test_registry_lists_tls_sni_with_its_options() -> None:
    e = registry.get_experiment("tls_sni")
    assert (e.test_name, e.test_version, e.inputs) == ("tls_sni", "0.1.0", InputKind.TARGETS)
    assert set(e.options) == {"ips", "control_sni", "port"}
    listed = CliRunner().invoke(cli, ["probe", "experiments"])
    assert listed.exit_code == 0 and "tls_sni" in listed.output


@pytest.mark.parametrize(("raw", "normal"), [
    ("https://www.tiktok.com/", "www.tiktok.com"),
    ("https://WWW.TikTok.com:8443/x?y", "www.tiktok.com:8443"),
    ("www.tiktok.com", "www.tiktok.com"),
    ("www.tiktok.com:443", "www.tiktok.com:443"),
    ("bücher.example", "xn--bcher-kva.example"),
])
def test_targets_are_normalised(raw: str, normal: str) -> None:
    assert registry.get_experiment("tls_sni").parse_input(raw) == normal


@pytest.mark.parametrize(("raw", "why"), [
    ("http://www.tiktok.com/", "https:// URL"),
    ("23.45.67.89", "is an IP address"),
    ("www.tiktok.com:0", "invalid port"),
    ("a..b", "not a valid host name"),
])
def test_bad_targets_are_refused_with_the_reason(raw: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        registry.get_experiment("tls_sni").parse_input(raw)


def test_a_bad_option_is_a_usage_error_before_anything_is_measured(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(cli, [
        "probe", "run", "--experiment", "tls_sni", "-i", "www.example.com", "--no-progress",
        "--option", "tls_sni.ips=not-an-ip", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "ips" in result.output and "not-an-ip" in result.output
    assert not out.exists() or out.read_text() == ""


def test_the_summary_row_gives_the_verdict_and_the_first_failing_target_handshake() -> None:
    summary = registry.get_experiment("tls_sni").summary
    assert summary is not None
    result = {"ip": "198.19.1.10", "port": 443, "target": {
        "server_name": "www.example.com", "failure": "connection_reset",
        "failed_operation": "tls_handshake"}}
    m = {"test_keys": {"server_name": "www.example.com", "results": [result], "summary": {
        "verdict": "sni_triggered", "ips": 1, "sni_triggered": ["198.19.1.10"]}}}
    assert summary(m) == ("sni_triggered 1/1", "tls_handshake 198.19.1.10:443 SNI "
                          "www.example.com: connection_reset")
    none = {"test_keys": {"server_name": "x.example", "results": [], "failure":
                          "dns_nxdomain_error", "summary": {"verdict": "inconclusive", "ips": 0}}}
    assert summary(none) == ("inconclusive", "resolve x.example: dns_nxdomain_error")


def test_the_collector_accepts_the_test_name() -> None:
    from censorscope.collector.testnames import canonical_test_name

    assert canonical_test_name("tls_sni") == canonical_test_name("tlssni") == "tls_sni"
