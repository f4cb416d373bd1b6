"""The ``dns_consistency`` experiment in the lab, run as a user runs it, then analysed.

``censorscope probe run --experiment dns_consistency -i … -o FILE`` runs in a probe's
namespace; the tests read the per-resolver classes from the output, score it with
``censorscope analyze --lab --asn-table …``, and ingest it and run ``censorscope verify``:
every evidence statement must check true.

- scenario ``dns-consistency``: the ISP resolver lies (another site's IP: its certificate is
  not valid for the name), answers NXDOMAIN, a private address, 127.0.0.1, or a CDN node of
  another AS serving the name with a valid certificate; or a forged reply is injected on the
  path (the public resolver gets two different replies); or UDP queries for the name are
  dropped (timeouts; DoH and the control answer). Each is told apart;
- seed cases: ``am-2022-tiktok`` phase ``blocked`` — Ucom (AS44395) NXDOMAIN, MTS (AS43733) a
  lie plus the TLS failure at the Google IP; ``az-2022-tiktok`` phase ``blocked-all`` from Delta
  (AS29049): consistent or cdn_valid_cert, never a lie, although Delta drops the TikTok SNI.

The whoami lookup must name the ISP's resolver and its AS as the resolver the system uses.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from censorscope.lab.runtime import Lab, LabState
from censorscope.model.evidence import Evidence
from censorscope.pipeline.evidence import Facts, check_items
from censorscope.pipeline.observe import measurement_row, observe
from censorscope.pipeline.scorers.claims import NEEDS_RAW
from tests.e2e.labkit import CENSORSCOPE, lab_running, probe_run, requires_root

pytestmark = [requires_root, pytest.mark.lab, pytest.mark.slow]

TLS_TIMEOUT = 2.0


def measure(lab: Lab, state: LabState, isp: str, target: str, out: Path) -> dict[str, Any]:
    """One dns_consistency measurement of ``target`` from ``isp``'s first probe."""
    [m] = probe_run(lab, state, isp, [target], out, "--experiment", "dns_consistency")
    assert m["test_name"] == "dns_consistency" and m["input"] == target
    return m


def by_resolver(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``resolvers`` entries by name (system, system_udp, udp, doh)."""
    out = {r["resolver"]: r for r in m["test_keys"]["resolvers"]}
    assert len(out) == len(m["test_keys"]["resolvers"]) == 4, list(out)
    return out


def classes(m: dict[str, Any]) -> dict[str, str]:
    return {name: r["classification"] for name, r in by_resolver(m).items()}


def analyze(paths: list[Path], asn_table: Path) -> list[dict[str, Any]]:
    """``censorscope analyze --lab``: one verdict per measurement, in input order."""
    proc = subprocess.run([CENSORSCOPE, "analyze", "--lab", "-j", "1", "--asn-table",
                           str(asn_table), *map(str, paths)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def false_statements(paths: list[Path], verdicts: list[dict[str, Any]]) -> list[str]:
    """Every statement of ``analyze``'s verdicts (``evidence_data``) re-checked against its
    measurement, with the raw measurement and from the rows alone: what does not hold."""
    bad: list[str] = []
    for path, v in zip(paths, verdicts, strict=True):
        msm = json.loads(path.read_text().splitlines()[0])
        meta, rows = measurement_row(msm, v["measurement_uid"]), observe(msm, "x")
        items = [Evidence.from_json(e) for e in v["evidence_data"]]
        assert [e.text for e in items] == v["evidence"]
        for raw in (msm, None):
            bad += [f"{path.name}: {e.claim}: {why}" for e, why in
                    check_items(items, Facts(meta, rows, raw))
                    if why is not None and not (raw is None and why == NEEDS_RAW)]
    return bad


def verify(paths: list[Path], tmp_path: Path) -> dict[str, Any]:
    """Ingest ``paths`` into a fresh store (scored there without the lab's public ranges) and
    ``censorscope verify`` every stored statement."""
    store = f"duckdb:///{tmp_path / 'dnsc.duckdb'}"
    ingest = subprocess.run([CENSORSCOPE, "ingest", "--no-progress", "--store", store,
                             *map(str, paths)], capture_output=True, text=True, timeout=120,
                            check=False)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    proc = subprocess.run([CENSORSCOPE, "verify", "--store", store, "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    out: dict[str, Any] = json.loads(proc.stdout)
    assert proc.returncode == 0, out["false_statements"]
    return out


def assert_whoami(m: dict[str, Any], state: LabState, isp: str) -> None:
    """The system's queries leave through the ISP's resolver, in the ISP's AS."""
    tk = m["test_keys"]
    resolver_ip = state.probe_config(isp)["resolver_ip"]
    assert tk["x_dns_whoami"]["system_v4"] == [{"address": resolver_ip}]
    assert tk["client_resolver"] == resolver_ip
    assert f"AS{tk['client_resolver_asn']}" == state.probe_config(isp)["probe_asn"]
    # asked directly, the public resolver sees the probe itself
    public = state.probe_config(isp)["public_resolver"]
    probe_ip = state.probe_config(isp)["probe_ips"][0]
    assert tk["x_dns_whoami"]["udp_v4"][public] == [{"address": probe_ip}]


def tls_failures(m: dict[str, Any], ip: str) -> list[str | None]:
    tk = m["test_keys"]
    return [h["failure"] for h in tk["tls_handshakes"] if h["address"] == f"{ip}:443"
            and h["server_name"] == tk["domain"]]


PHASES = ("open", "lie", "nxdomain", "bogon", "loopback", "inject", "cdn", "drop")
# (system resolver's class, public UDP resolver's class, analysis rule, outcome, mechanism)
EXPECTED = {
    "open": ("consistent", "consistent", "dnsc.consistent", "ok", None),
    "lie": ("lie", "consistent", "dnsc.lie", "blocked", "dns.injection.other"),
    "nxdomain": ("nxdomain", "consistent", "dnsc.nxdomain", "blocked", "dns.nxdomain"),
    "bogon": ("bogon", "consistent", "dnsc.bogon", "blocked", "dns.injection.bogon"),
    "loopback": ("bogon", "consistent", "dnsc.bogon", "blocked", "dns.injection.bogon"),
    "inject": ("lie", "injected", "dnsc.injected", "blocked", "dns.injection.other"),
    "cdn": ("cdn_valid_cert", "consistent", "dnsc.cdn_valid_cert", "ok", None),
    "drop": ("timeout", "timeout", "dnsc.system_failed", "blocked", "dns.timeout"),
}


def test_lies_nxdomain_bogons_injection_and_cdn_told_apart(tmp_path: Path) -> None:
    ms: dict[str, dict[str, Any]] = {}
    with lab_running("dns-consistency", "open") as (lab, state):
        for phase in PHASES:
            lab.phase(phase)
            ms[phase] = measure(lab, state, "acme", "https://www.example.org/",
                                tmp_path / f"{phase}.jsonl")
        asn_table = tmp_path / "asn.tsv"
        asn_table.write_text(Path(state.asn_table).read_text())
        assert_whoami(ms["open"], state, "acme")
        config = state.probe_config("acme")
        udp = [f"system_udp {config['resolver_ip']}:53", f"udp {config['public_resolver']}"]

    for phase, m in ms.items():
        tk = m["test_keys"]
        assert tk["domain"] == "www.example.org" and tk["reference"] == "control"
        got = classes(m)
        assert (got["system"], got["udp"]) == EXPECTED[phase][:2], (phase, got)
        assert got["doh"] == "consistent", (phase, got)  # DoH is out of the censor's reach
        assert tk["dns_consistency"] == ("consistent" if phase in ("open", "cdn", "drop")
                                         else "inconsistent")
        assert tk["failed"] == (["system", *udp] if phase == "drop" else [])

    # the lie: the answer's certificate is for another name; the honest answer's is valid
    lie = by_resolver(ms["lie"])["system"]
    assert [a["ip"] for a in lie["answers"]] == ["198.19.17.228"]
    assert tls_failures(ms["lie"], "198.19.17.228") == ["ssl_invalid_hostname"]
    assert tls_failures(ms["lie"], "198.19.1.10") == [None]
    # NXDOMAIN from the ISP resolver, recorded as such
    assert by_resolver(ms["nxdomain"])["system"]["failure"] == "dns_nxdomain_error"
    assert by_resolver(ms["nxdomain"])["system_udp"]["classification"] == "nxdomain"
    # bogons are never dialled
    for phase, bogon in (("bogon", "10.10.34.35"), ("loopback", "127.0.0.1")):
        assert by_resolver(ms[phase])["system"]["decided_by"] == {"address": bogon}
        assert tls_failures(ms[phase], bogon) == []
    # injection: the forged reply first, the real one later, both in `queries`
    injected = ms["inject"]["test_keys"]
    public = by_resolver(ms["inject"])["udp"]
    assert public["replies"] == 2
    a_replies = [q for q in injected["queries"] if q["transaction_id"] ==
                 public["transaction_id"] and q["query_type"] == "A"]
    assert [[a["ipv4"] for a in q["answers"]] for q in a_replies] == [["198.19.17.228"],
                                                                      ["198.19.1.10"]]
    assert "late_reply" in a_replies[1]["tags"] and a_replies[1]["t"] >= a_replies[0]["t"]
    # the CDN node: another IP and AS than the control's, and a valid certificate
    cdn = by_resolver(ms["cdn"])["system"]
    assert [(a["ip"], a["asn"], a["tls"]) for a in cdn["answers"]] == [
        ("198.19.99.10", 20940, "valid")]
    assert cdn["decided_by"] == {"address": "198.19.99.10"}

    paths = [tmp_path / f"{phase}.jsonl" for phase in PHASES]
    verdicts = analyze(paths, asn_table)
    for phase, v in zip(PHASES, verdicts, strict=True):
        _, _, rule, outcome, mechanism = EXPECTED[phase]
        assert (v["rule_id"], v["outcome"], v["mechanism"]) == (rule, outcome, mechanism), \
            (phase, v["evidence"])
        assert v["layer"] == ("dns" if outcome == "blocked" else None)
        assert any(e.endswith("(AS64500): the resolver it really uses") for e in v["evidence"])
    assert "got 2 different replies to one A query: 198.19.17.228, 198.19.1.10" in \
        verdicts[PHASES.index("inject")]["evidence"][0]
    assert false_statements(paths, verdicts) == []
    checked = verify(paths, tmp_path)
    assert checked["verdicts"] == len(PHASES) and checked["false"] == 0
    assert checked["true"] == checked["statements"] > 3 * len(PHASES)


def test_seed_am_2022_ucom_nxdomain_mts_lie_with_tls_failure(tmp_path: Path) -> None:
    with lab_running("am-2022-tiktok", "blocked") as (lab, state):
        ucom = measure(lab, state, "ucom", "www.tiktok.com", tmp_path / "ucom.jsonl")
        mts = measure(lab, state, "mts", "www.tiktok.com", tmp_path / "mts.jsonl")
        asn_table = tmp_path / "asn.tsv"
        asn_table.write_text(Path(state.asn_table).read_text())
        for m, isp in ((ucom, "ucom"), (mts, "mts")):
            assert_whoami(m, state, isp)
    assert ucom["probe_asn"] == "AS44395" and mts["probe_asn"] == "AS43733"

    assert classes(ucom)["system"] == "nxdomain"
    assert by_resolver(ucom)["system"]["failure"] == "dns_nxdomain_error"
    assert classes(ucom)["udp"] == classes(ucom)["doh"] == "consistent"

    system = by_resolver(mts)["system"]
    assert system["classification"] == "lie"
    assert [(a["ip"], a["asn"], a["tls"]) for a in system["answers"]] == [
        ("198.19.17.228", 15169, "failed")]
    # the TLS failure: MTS drops the ClientHello with the TikTok name, the handshake times out
    [failure] = tls_failures(mts, "198.19.17.228")
    assert failure == "generic_timeout_error"
    [hs] = [h for h in mts["test_keys"]["tls_handshakes"]
            if h["address"] == "198.19.17.228:443"]
    assert TLS_TIMEOUT * 0.9 <= hs["t"] - hs["t0"] <= TLS_TIMEOUT * 2.5
    assert classes(mts)["udp"] == classes(mts)["doh"] == "consistent"

    paths = [tmp_path / "ucom.jsonl", tmp_path / "mts.jsonl"]
    v_ucom, v_mts = verdicts = analyze(paths, asn_table)
    assert false_statements(paths, verdicts) == []
    assert (v_ucom["outcome"], v_ucom["rule_id"], v_ucom["mechanism"]) == (
        "blocked", "dnsc.nxdomain", "dns.nxdomain")
    assert (v_mts["outcome"], v_mts["rule_id"], v_mts["mechanism"]) == (
        "blocked", "dnsc.lie", "dns.injection.other")
    assert "TLS handshake with www.tiktok.com (198.19.17.228:443) failed: " \
           "generic_timeout_error" in v_mts["evidence"]
    checked = verify(paths, tmp_path)
    assert checked["false"] == 0 and checked["true"] == checked["statements"]


def test_seed_az_2022_delta_is_never_a_lie(tmp_path: Path) -> None:
    with lab_running("az-2022-tiktok", "blocked-all") as (lab, state):
        delta = measure(lab, state, "delta", "https://www.tiktok.com/", tmp_path / "delta.jsonl")
        asn_table = tmp_path / "asn.tsv"
        asn_table.write_text(Path(state.asn_table).read_text())
        assert_whoami(delta, state, "delta")
    assert delta["probe_asn"] == "AS29049"
    got = classes(delta)
    assert set(got.values()) <= {"consistent", "cdn_valid_cert"}, got
    assert "lie" not in got.values()
    # Delta blocks by SNI, not by DNS: the handshake at the CDN IP times out all the same
    assert set(tls_failures(delta, "198.19.20.1")) == {"generic_timeout_error"}
    [v] = analyze([tmp_path / "delta.jsonl"], asn_table)
    assert false_statements([tmp_path / "delta.jsonl"], [v]) == []
    assert v["outcome"] == "ok" and v["rule_id"] in ("dnsc.consistent", "dnsc.cdn_valid_cert")
    checked = verify([tmp_path / "delta.jsonl"], tmp_path)
    assert checked["false"] == 0 and checked["true"] == checked["statements"]
