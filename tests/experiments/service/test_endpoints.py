"""Endpoint sets of the ``service`` experiment: the bundled sets load, TikTok's comes from the
Citizen Lab list, and a bad file is refused with its file and line (before any measurement)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from censorscope.experiments.interface import ExperimentSettings
from censorscope.experiments.service.endpoints import (
    KNOWN_SERVICES,
    EndpointFileError,
    bundled_endpoints,
    endpoints_for,
    load_endpoint_file,
    normalise_service,
    parse_endpoints,
    valid_host,
)
from censorscope.experiments.service.experiment import EXPERIMENT, make_measurer

CITIZENLAB = (Path(__file__).resolve().parents[3] / "src" / "censorscope" / "data"
              / "test-lists" / "derived" / "tiktok_endpoints_az_am_2022.csv")
HEADER = "service,host,port,protocol,path,note\n"


@pytest.mark.parametrize("service", KNOWN_SERVICES)
def test_every_bundled_set_loads_with_a_handful_of_endpoints(service: str) -> None:
    eps = bundled_endpoints(service)
    assert len(eps) >= 4
    assert {e.service for e in eps} == {service}
    assert all(valid_host(e.host) and 1 <= e.port <= 65535 for e in eps)
    assert any(e.protocol == "https" for e in eps)
    assert len({(e.host, e.port, e.protocol, e.path) for e in eps}) == len(eps)


def test_tiktok_set_is_the_citizen_lab_list_plus_the_main_name() -> None:
    with CITIZENLAB.open(newline="") as f:
        urls = {row["url"] for row in csv.DictReader(f)}
    eps = bundled_endpoints("tiktok")
    assert len(urls) == 24
    assert {e.url for e in eps} == urls | {"https://www.tiktok.com/"}
    [mon] = [e for e in eps if e.host == "mon-va.byteoversea.com"]
    assert mon.path == "/monitor_web/settings/browser-settings?bid=webmssdk&store=1"
    assert mon.source.startswith("data/test-lists/derived/tiktok_endpoints_az_am_2022.csv:")


def test_service_names_are_normalised_and_unknown_ones_refused() -> None:
    assert normalise_service(" TikTok ") == "tiktok"
    assert EXPERIMENT.parse_input("X") == "x"
    with pytest.raises(ValueError, match=r"unknown service 'myspace'.*known: tiktok, whatsapp"):
        normalise_service("myspace")


def test_a_user_file_parses_with_defaults_comments_and_any_column_order(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("# my endpoints\nprotocol,port,host,service\nhttps,443,Www.TikTok.com.,tiktok\n"
                    "\ntcp,5222,g.whatsapp.net,whatsapp\n")
    eps = load_endpoint_file(path)
    assert [(e.host, e.port, e.protocol, e.path, e.source) for e in eps] == [
        ("www.tiktok.com", 443, "https", "/", f"{path}:3"),
        ("g.whatsapp.net", 5222, "tcp", "", f"{path}:5")]
    assert endpoints_for("tiktok", eps) == eps[:1]
    assert len(endpoints_for("youtube", eps)) == len(bundled_endpoints("youtube"))


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("service,host,port\ntiktok,a.example,443\n", 1, "missing column(s) protocol"),
    ("host,port\n", 1, "missing column(s) service, protocol"),
    ("", 1, "no header"),
    (HEADER, 1, "no endpoints"),
    (HEADER + "tiktok,a.example,443,https,/,x\ntiktok,bad_name!.example,443,https,/,x\n", 3,
     "bad host name 'bad_name!.example'"),
    (HEADER + "tiktok,a.example:443,443,https,/,x\n", 2, "bad host name 'a.example:443'"),
    (HEADER + "tiktok,-a.example,443,https,/,x\n", 2, "bad host name"),
    (HEADER + "tiktok,a.example,0,https,/,x\n", 2, "bad port '0'"),
    (HEADER + "tiktok,a.example,65536,https,/,x\n", 2, "bad port '65536'"),
    (HEADER + "tiktok,a.example,https,443,/,x\n", 2, "bad port 'https'"),
    (HEADER + "tiktok,a.example,443,quic,/,x\n", 2, "bad protocol 'quic'"),
    (HEADER + "tiktok,a.example,443,https,index.html,x\n", 2, "bad path 'index.html'"),
    (HEADER + "tiktok,a.example,443,tcp,/x,x\n", 2, "a tcp endpoint has no path"),
    (HEADER + "tiktok,a.example\n", 2, "missing column(s) port, protocol"),
    (HEADER + "tiktok,a.example,443,https,/,x,extra\n", 2, "7 fields, the header has 6"),
    (HEADER + ",a.example,443,https,/,x\n", 2, "empty service"),
    (HEADER + "Tik Tok,a.example,443,https,/,x\n", 2, "bad service name"),
    (HEADER + "tiktok,a.example,443,https,/,x\n\ntiktok,A.example,443,https,/,y\n", 4,
     "duplicate of the endpoint at f.csv:2"),
])
def test_bad_files_name_file_and_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(EndpointFileError) as exc:
        parse_endpoints(text, source="f.csv")
    assert str(exc.value).startswith(f"f.csv:{line}: ")
    assert reason in str(exc.value)


def test_the_factory_refuses_a_bad_file_before_measuring(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "tiktok,a.example,443,https,/,x\ntiktok,a.example,99999,https,/,x\n")
    with pytest.raises(ValueError, match=rf"^endpoints_file: {bad}:3: bad port '99999'"):
        make_measurer(ExperimentSettings(options={"endpoints_file": str(bad)}))
    other = tmp_path / "other.csv"
    other.write_text(HEADER + "myspace,a.example,443,https,/,x\n")
    with pytest.raises(ValueError, match=rf"{other}:2: unknown service 'myspace'"):
        make_measurer(ExperimentSettings(options={"endpoints_file": str(other)}))
    with pytest.raises(ValueError, match="cannot read"):
        make_measurer(ExperimentSettings(options={"endpoints_file": str(tmp_path / "none")}))
    with pytest.raises(ValueError, match="concurrency: '0' is not a whole number"):
        make_measurer(ExperimentSettings(options={"concurrency": "0"}))


def test_hosts() -> None:
    assert valid_host("a.example") and valid_host("149.154.175.50") and valid_host("2001:db8::1")
    assert not valid_host("a..example") and not valid_host("a" * 64 + ".example")
    assert valid_host("localhost") and not valid_host("a.example/x")


def test_the_registry_finds_it() -> None:
    from censorscope.experiments.interface import InputKind
    from censorscope.experiments.registry import get_experiment

    exp = get_experiment("service")
    assert (exp.test_name, exp.test_version, exp.inputs) == ("service", "0.1.0",
                                                             InputKind.TARGETS)
    assert set(exp.options) == {"endpoints_file", "concurrency", "max_addresses"}
    assert exp.summary is not None
