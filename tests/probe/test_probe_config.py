"""Probe configuration: the lab's probe-<isp>.json keys, plain keys, overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from censorscope.probe.config import ConfigError, ProbeConfig, load_config_file

LAB_CONFIG = {
    "isp": "azt", "probe_cc": "AZ", "probe_asn": "AS29049", "probe_network_name": "Delta Telecom",
    "probe_hosts": ["azt-p1"], "probe_ips": ["198.18.3.10"], "resolver_ip": "198.18.3.130",
    "control_urls": ["https://th.lab.test"], "collector_urls": [], "ca_file": "/x/ca.pem",
    "public_resolver": "198.18.0.53:53", "doh_url": "https://dns.lab.test/dns-query",
    "asn_table": "/x/asn.tsv",
}


def test_lab_config_keys_map_onto_the_probe(tmp_path: Path) -> None:
    path = tmp_path / "probe-azt.json"
    path.write_text(json.dumps(LAB_CONFIG))
    cfg = load_config_file(path)
    assert (cfg.probe_cc, cfg.probe_asn, cfg.probe_network_name) == ("AZ", 29049, "Delta Telecom")
    assert cfg.control_url == "https://th.lab.test"
    assert cfg.resolver == "198.18.0.53:53"
    assert cfg.resolver_ip == "198.18.3.130"
    assert cfg.doh_url == "https://dns.lab.test/dns-query"
    assert "198.18.0.0/15" in cfg.public_ranges, "a lab config counts lab ranges as public"
    assert cfg.collector_url is None, "the lab's empty collector_urls: no collector"
    settings = cfg.to_settings()
    assert settings.client_resolver == "198.18.3.130"
    assert not settings.allow_loopback
    assert settings.public_ranges and str(settings.public_ranges[0]) == "198.18.0.0/15"


def test_flags_override_and_validate() -> None:
    cfg = ProbeConfig.from_mapping({"resolver": "9.9.9.9", "timeouts": {"tcp": 2}})
    assert cfg.resolver == "9.9.9.9:53"
    assert cfg.timeouts.tcp == 2 and cfg.timeouts.dns == 4
    cfg2 = cfg.override(probe_asn="as123", resolver="[2001:db8::1]:5353", control_url=None)
    assert cfg2.probe_asn == 123 and cfg2.resolver == "[2001:db8::1]:5353"
    assert cfg2.control_url is None
    with pytest.raises(ConfigError, match="ip:port"):
        cfg.override(resolver="dns.google")
    with pytest.raises(ConfigError, match="CIDR"):
        cfg.override(public_ranges=("10.0.0.0/99",))
    with pytest.raises(ConfigError, match=r"timeouts\.tpc"):
        ProbeConfig.from_mapping({"timeouts": {"tpc": 1}})


def test_timeout_scale_multiplies_every_step() -> None:
    cfg = ProbeConfig.from_mapping({"timeout_scale": 0.1})
    assert cfg.timeouts.tcp == pytest.approx(1.0) and cfg.timeouts.control == pytest.approx(3.0)


def test_asn_table_gives_resolver_metadata(tmp_path: Path) -> None:
    table = tmp_path / "asn.tsv"
    table.write_text("198.18.3.0/24\t29049\tDelta Telecom\tAZ\n")
    cfg = ProbeConfig.from_mapping({"asn_table": str(table), "resolver_ip": "198.18.3.130"})
    meta = cfg.probe_metadata(cfg.load_asn_table())
    assert (meta.resolver_asn, meta.resolver_network_name) == (29049, "Delta Telecom")
    bad = ProbeConfig.from_mapping({"asn_table": str(tmp_path / "missing.tsv")})
    with pytest.raises(ConfigError, match="cannot read"):
        bad.load_asn_table()


def test_collector_url_comes_from_the_config_file(tmp_path: Path) -> None:
    lab = tmp_path / "probe-azt.json"
    lab.write_text(json.dumps({**LAB_CONFIG, "collector_urls": ["https://c1.lab.test/",
                                                                "https://c2.lab.test/"]}))
    assert load_config_file(lab).collector_url == "https://c1.lab.test/"
    plain = ProbeConfig.from_mapping({"collector_url": "http://127.0.0.1:9/",
                                      "collector_urls": ["https://ignored/"]})
    assert plain.collector_url == "http://127.0.0.1:9/"
    assert ProbeConfig().collector_url is None


def test_timeout_flags_scale_then_set_steps() -> None:
    cfg = ProbeConfig.from_mapping({"timeouts": {"tcp": 2}}).with_timeouts(0.5, dns=1.5, tls=None)
    assert (cfg.timeouts.tcp, cfg.timeouts.dns, cfg.timeouts.tls) == (1.0, 1.5, 5.0)
