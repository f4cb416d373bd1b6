"""``dns_consistency`` in the registry and on the command line: name, test name and version,
target inputs (a domain or a URL, normalised to the domain), its options and their defaults
from the probe's settings, bad values refused by name before anything is measured, and the
summary table's columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from censorscope.cli.main import cli
from censorscope.experiments import registry
from censorscope.experiments.dns_consistency.lookups import system_nameserver
from censorscope.experiments.dns_consistency.options import (
    DEFAULT_RESOLVERS,
    DEFAULT_WHOAMI,
    DNSConsistencyOptions,
)
from censorscope.experiments.interface import ExperimentSettings, InputKind

DATA = Path(__file__).parents[2] / "pipeline" / "scorers" / "data" / "dns_consistency"


def test_registry_lists_dns_consistency_with_its_options() -> None:
    e = registry.get_experiment("dns_consistency")
    assert (e.test_name, e.test_version, e.inputs) == ("dns_consistency", "0.1.0",
                                                       InputKind.TARGETS)
    assert set(e.options) == {"resolvers", "doh", "tls_check", "whoami"}
    listed = CliRunner().invoke(cli, ["probe", "experiments"])
    assert listed.exit_code == 0 and "dns_consistency.resolvers" in listed.output


@pytest.mark.parametrize(("raw", "normal"), [
    ("www.tiktok.com", "www.tiktok.com"),
    ("WWW.TikTok.com.", "www.tiktok.com"),
    ("https://www.tiktok.com/foo?x=1", "www.tiktok.com"),
    ("http://www.example.org:8080/", "www.example.org"),
    ("bücher.example", "xn--bcher-kva.example"),
])
def test_targets_are_normalised_to_the_domain(raw: str, normal: str) -> None:
    assert registry.get_experiment("dns_consistency").parse_input(raw) == normal


@pytest.mark.parametrize(("raw", "why"), [
    ("23.45.67.89", "an IP address"),
    ("https://[2001:db8::1]/", "an IP address"),
    ("localhost", "not a domain name"),
    ("a..b", "not a domain name"),
    ("-bad-.example", "not a domain name"),
])
def test_bad_targets_are_refused_with_the_reason(raw: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        registry.get_experiment("dns_consistency").parse_input(raw)


def test_defaults_come_from_the_probes_settings() -> None:
    settings = ExperimentSettings(resolver="198.19.8.8:53", doh_url="https://dns.google/dq",
                                  control_url="https://0.th.ooni.org", ca_file="/ca.pem")
    opts = DNSConsistencyOptions.from_settings(settings)
    assert opts.resolvers == ("198.19.8.8:53",) and opts.doh_urls == ("https://dns.google/dq",)
    assert opts.tls_check and opts.whoami == DEFAULT_WHOAMI and opts.ca_file == "/ca.pem"
    bare = DNSConsistencyOptions.from_settings(ExperimentSettings())
    assert bare.resolvers == DEFAULT_RESOLVERS and bare.doh_urls == ()


def test_options_override_the_settings() -> None:
    settings = ExperimentSettings(resolver="198.19.8.8:53", doh_url="https://dns.google/dq",
                                  options={"resolvers": "9.9.9.9, [2001:db8::53]:5353,9.9.9.9",
                                           "doh": "none", "tls_check": "false",
                                           "whoami": "Whoami.Example.NET"})
    opts = DNSConsistencyOptions.from_settings(settings)
    assert opts.resolvers == ("9.9.9.9:53", "[2001:db8::53]:5353")
    assert opts.doh_urls == () and not opts.tls_check and opts.whoami == "whoami.example.net"


@pytest.mark.parametrize(("options", "key"), [
    ({"resolvers": "dns.google"}, "resolvers"),
    ({"resolvers": " , "}, "resolvers"),
    ({"doh": "http://dns.google/dns-query"}, "doh"),
    ({"tls_check": "maybe"}, "tls_check"),
    ({"whoami": "10.0.0.1"}, "whoami"),
    ({"resolver": "9.9.9.9"}, "resolver"),
])
def test_bad_options_are_refused_by_name(options: dict[str, str], key: str) -> None:
    with pytest.raises(ValueError, match=rf"^{key}:"):
        DNSConsistencyOptions.from_settings(ExperimentSettings(options=options))


def test_a_bad_option_is_a_usage_error_before_anything_is_measured(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(cli, [
        "probe", "run", "--experiment", "dns_consistency", "-i", "www.example.com",
        "--no-progress", "--option", "dns_consistency.resolvers=not-an-ip", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "resolvers" in result.output and "not-an-ip" in result.output
    assert not out.exists() or out.read_text() == ""


def test_system_nameserver_is_read_from_resolv_conf(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch lab\nnameserver 198.18.1.130 # the ISP\n"
                    "nameserver 9.9.9.9\n")
    assert system_nameserver(str(conf)) == "198.18.1.130:53"
    conf.write_text("nameserver fe80::1%eth0\n")
    assert system_nameserver(str(conf)) == "[fe80::1]:53"
    conf.write_text("search lab\n")
    assert system_nameserver(str(conf)) is None
    assert system_nameserver(str(tmp_path / "missing")) is None


def test_the_summary_row_names_the_first_tampered_resolver() -> None:
    summary = registry.get_experiment("dns_consistency").summary
    assert summary is not None

    def row(name: str) -> tuple[str, str]:
        return summary(json.loads((DATA / f"{name}.jsonl").read_text()))

    assert row("lab-open") == ("consistent", "-")
    assert row("am-mts") == ("inconsistent: system, system_udp 198.18.2.130:53",
                             "system: lie 198.19.17.228")
    assert row("am-ucom")[1] == "system: nxdomain dns_nxdomain_error"
    assert row("lab-inject")[0].endswith("udp 198.19.8.8:53")
