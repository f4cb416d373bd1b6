"""Scenario files: schema errors name the field, case files expand, the catalogue loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from censorscope.lab import addressing, scenarios, wiring
from censorscope.lab.errors import ScenarioError

SMOKE = (Path(scenarios.CATALOGUE_DIR) / "smoke.toml").read_text()


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bad_asn_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, SMOKE.replace("asn = 64500", "asn = 0"))
    with pytest.raises(ScenarioError, match=r"isps\[0\]\.asn: Input should be greater than 0"):
        scenarios.load(path)


def test_service_ip_in_infrastructure_range_is_rejected(tmp_path: Path) -> None:
    text = SMOKE.replace('ips = ["198.19.1.10"]\nasn', 'ips = ["198.18.1.10"]\nasn')
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError, match=r"hosts\[1\]\.ips.*reserved for the lab"):
        scenarios.load(path)


def test_unknown_isp_in_policy_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, SMOKE.replace('isp = "acme", sni', 'isp = "nope", sni'))
    with pytest.raises(ScenarioError, match=r"phases\.blocked\.policies\[0\]\.isp: unknown ISP"):
        scenarios.load(path)


def test_toml_syntax_error_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="TOML syntax error"):
        scenarios.load(write(tmp_path, "name = \n"))


CASES = """
[base]
description = "base"
[[base.isps]]
name = "isp"
asn = 1
as_name = "One"
cc = "ZZ"
[[base.hosts]]
name = "res"
role = "resolver"
ips = ["198.19.8.8"]
asn = 15169
as_name = "Google"
[base.phases.open]
[base.phases.censored]
policies = [{ kind = "tcp_drop", isp = "isp", ips = ["198.19.1.1"] }]

[cases.first]
description = "first case"
[[cases.first.sites]]
names = ["a.example"]
ips = ["198.19.1.1"]
[cases.first.phases.censored]
policies = [{ kind = "dns_nxdomain", isp = "isp", domains = ["a.example"] }]

[cases.second]
initial_phase = "censored"
[[cases.second.isps]]
name = "other"
asn = 2
as_name = "Two"
cc = "ZZ"
"""


def test_case_file_expands_base_and_cases(tmp_path: Path) -> None:
    path = write(tmp_path, CASES, "qq.toml")
    every = scenarios.load_file(path)
    assert [s.name for s in every] == ["qq.first", "qq.second"]
    first = scenarios.load(f"{path}#first")
    assert first.description == "first case"
    assert [p.kind for p in first.phases["censored"].policies] == ["tcp_drop", "dns_nxdomain"]
    assert first.sites[0].names == ["a.example"]
    second = scenarios.load(f"{path}#second")
    assert [i.name for i in second.isps] == ["isp", "other"]
    assert second.first_phase == "censored"
    with pytest.raises(ScenarioError, match="several scenarios"):
        scenarios.load(path)


def test_case_error_names_case_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, CASES.replace("asn = 2", "asn = -5"), "qq.toml")
    with pytest.raises(ScenarioError, match=r"cases\.second\.isps\[1\]\.asn"):
        scenarios.load(f"{path}#second")


def test_catalogue_lists_and_loads_bundled_scenarios() -> None:
    cat = scenarios.catalogue()
    assert "smoke" in cat and "az-2022-tiktok" in cat
    assert cat["az-2022-tiktok"].startswith("TikTok blocked in Azerbaijan")
    for name in ("smoke", "az-2022-tiktok"):
        assert scenarios.load(name).name == name


def test_az_tiktok_story() -> None:
    sc = scenarios.load("az-2022-tiktok")
    assert {i.asn for i in sc.isps} == {29049, 41997, 31721, 28787, 197830}
    assert list(sc.phases) == ["before", "blocked-delta", "blocked-delta-kinetic", "blocked-all"]
    assert sc.schedule == []
    subsets = {p.isp: set(p.sni) for p in sc.phases["blocked-all"].policies}
    assert set(subsets) == {"delta", "connect", "azercell"}
    assert all("www.tiktok.com" in s for s in subsets.values())
    assert len({frozenset(s) for s in subsets.values()}) == 3  # each ISP its own subset
    # every CDN IP carries both a TikTok name and a harmless one
    for ip in {ip for s in sc.sites for ip in s.ips}:
        names = {n for s in sc.sites if ip in s.ips for n in s.names}
        assert any("tiktok" in n for n in names) and any("example" in n for n in names)


def test_addressing_and_asn_table() -> None:
    sc = scenarios.load("az-2022-tiktok")
    a = addressing.plan(sc)
    delta = a.isps["delta"]
    assert delta.probe_hosts() == ["delta-p1", "delta-p2"]
    assert delta.probe_ips == ["198.18.1.11", "198.18.1.12"]
    assert delta.resolver_ip == "198.18.1.130"
    assert "198.19.20.1" in a.service_ips["srv"] and "198.19.70.80" in a.service_ips["ctl"]
    table = wiring.asn_table(sc, a).splitlines()
    assert "198.18.1.0/24\t29049\tDelta Telecom Ltd\tAZ" in table
    assert "198.19.20.1/32\t20940\tAkamai International B.V.\tNL" in table
    probe = wiring.probe_config(sc, a, "delta", ca_file="/ca.pem", asn_file="/asn.tsv")
    assert probe["probe_asn"] == "AS29049" and probe["resolver_ip"] == "198.18.1.130"
    assert "https://0.th.ooni.org" in probe["control_urls"]
    assert probe["doh_url"] == "https://dns.google/dns-query"
