"""The measurement page: for a blocked TikTok measurement of the lab store it shows the TLS
handshake timing out after the ClientHello with the connection's event timeline, exactly as
the raw measurement and the store say; certificates as openssl reads them; the stored rows
when the raw file is gone; hostile strings from a raw body escaped; 404 and 422 pages; and
every real OONI sample rendered."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from tests.report.reportkit import build_store, case_measurements, templates
from tests.web.webkit import Element, parse, read_only_sql, site_client, table_rows

BLOCKED = """
    SELECT m.measurement_uid FROM measurements m JOIN verdicts v USING (measurement_uid)
    WHERE m.domain = 'www.tiktok.com' AND v.outcome = 'blocked'
    ORDER BY m.measurement_start_time LIMIT 1
"""


@pytest.fixture(scope="module")
def blocked_uid(sql: duckdb.DuckDBPyConnection) -> str:
    row = sql.execute(BLOCKED).fetchone()
    assert row is not None
    return str(row[0])


def _table(root: Element, ident: str) -> Element:
    found = root.find_id(ident)
    assert found is not None, ident
    return found


def test_blocked_tiktok_shows_the_tls_timeout_after_the_client_hello(
        lab: TestClient, blocked_uid: str, sql: duckdb.DuckDBPyConnection) -> None:
    page = lab.get(f"/measurement/{blocked_uid}")
    twin = lab.get(f"/measurement/{blocked_uid}.json").json()
    raw = lab.get("/api/v1/raw_measurement", params={"measurement_uid": blocked_uid}).json()
    assert page.status_code == 200 and twin["raw_available"]
    root = parse(page.text)
    keys = raw["test_keys"]
    # the TLS handshake: server name sent, failure, as the raw record and the twin say
    (record,) = keys["tls_handshakes"]
    (tls,) = twin["probe"]["tls"]
    assert (tls["server_name"], tls["failure"], tls["address"]) == (
        record["server_name"], record["failure"], record["address"]) == (
        "www.tiktok.com", "generic_timeout_error", "198.19.20.1:443")
    assert table_rows(_table(root, "tls"))[0][:3] == [
        "198.19.20.1:443", "www.tiktok.com", "generic_timeout_error"]
    # the connection's timeline: every network event of its transaction, in time order
    tid = record["transaction_id"]
    (conn,) = [c for c in twin["probe"]["connections"] if c["transaction_id"] == tid]
    events = sorted((e for e in keys["network_events"] if e["transaction_id"] == tid),
                    key=lambda e: e["t"])
    assert [e["operation"] for e in conn["events"]] == [e["operation"] for e in events] == [
        "connect", "tls_handshake_start", "write", "read", "tls_handshake_done"]
    assert [e["t"] for e in conn["events"]] == [e["t"] for e in events]
    hello, timeout = conn["events"][2], conn["events"][3]
    assert hello["note"] == "ClientHello" and hello["num_bytes"] == 517
    assert timeout["failure"] == "generic_timeout_error" and timeout["t"] > hello["t"] + 1.9
    rows = table_rows(_table(root, f"events-{tid}"))
    assert [r[1] for r in rows] == [e["operation"] for e in conn["events"]]
    assert rows[2][3] == "517" and rows[2][6] == "ClientHello"
    assert rows[3][5] == "generic_timeout_error"
    assert [float(r[0]) for r in rows] == pytest.approx([e["t"] for e in events], abs=1e-6)
    assert rows[4][6] == "handshake failed: generic_timeout_error"
    caption = next(_table(root, f"events-{tid}").iter("caption")).texts()
    assert "www.tiktok.com" in caption and "generic_timeout_error" in caption
    # the verdict and its evidence, as stored
    stored = sql.execute(
        "SELECT outcome, mechanism, evidence FROM verdicts WHERE measurement_uid = ? "
        "ORDER BY rules_version DESC LIMIT 1", [blocked_uid]).fetchone()
    assert stored is not None
    assert (twin["verdict"]["outcome"], twin["verdict"]["mechanism"]) == stored[:2]
    evidence = next(o for o in root.iter("ol") if "evidence" in o.attrs.get("class", ""))
    shown = [li.texts() for li in evidence.iter("li")]
    assert len(shown) == len(stored[2]) > 0
    assert all(s.startswith(" ".join(text.split())) for s, text in zip(shown, stored[2],
                                                                        strict=True))
    assert any("ClientHello" in s for s in shown)


def test_dns_answers_carry_their_networks(lab: TestClient, blocked_uid: str) -> None:
    twin = lab.get(f"/measurement/{blocked_uid}.json").json()
    raw = lab.get("/api/v1/raw_measurement", params={"measurement_uid": blocked_uid}).json()
    queries = raw["test_keys"]["queries"]
    assert len(twin["probe"]["dns"]) == len(queries)
    for q, shown in zip(queries, twin["probe"]["dns"], strict=True):
        assert [a["value"] for a in shown["answers"]] == [a["ipv4"] for a in q["answers"] or ()]
        assert [a["asn"] for a in shown["answers"]] == [a["asn"] for a in q["answers"] or ()]
    page = parse(lab.get(f"/measurement/{blocked_uid}").text)
    assert "AS20940 Akamai International B.V." in _table(page, "dns").texts()


def test_header_is_the_stored_row(lab: TestClient, blocked_uid: str,
                                  sql: duckdb.DuckDBPyConnection) -> None:
    twin = lab.get(f"/measurement/{blocked_uid}.json").json()
    meta = lab.get("/api/v1/measurement_meta", params={"measurement_uid": blocked_uid}).json()
    assert twin["measurement"] == {**meta, "status": "anomaly"}
    cc, asn, name = sql.execute("SELECT probe_cc, probe_asn, probe_network_name FROM "
                                "measurements WHERE measurement_uid = ?",
                                [blocked_uid]).fetchone() or ("", 0, "")
    facts = next(parse(lab.get(f"/measurement/{blocked_uid}").text).iter("dl"))
    terms = [dt.texts() for dt in facts.iter("dt")]
    values = [dd.texts() for dd in facts.iter("dd")]
    shown = dict(zip(terms, values, strict=True))
    assert shown["Country"] == cc and shown["Network"] == f"AS{asn} {name}"
    assert shown["Measurement id"] == blocked_uid


def test_certificates_as_openssl_reads_them(lab: TestClient, sql: duckdb.DuckDBPyConnection,
                                            tmp_path: Path) -> None:
    (uid,) = sql.execute("SELECT measurement_uid FROM measurements WHERE domain = "
                         "'www.example.org' LIMIT 1").fetchone() or ("",)
    raw = lab.get("/api/v1/raw_measurement", params={"measurement_uid": uid}).json()
    twin = lab.get(f"/measurement/{uid}.json").json()
    (record,) = raw["test_keys"]["tls_handshakes"]
    (tls,) = twin["probe"]["tls"]
    assert len(tls["certificates"]) == len(record["peer_certificates"]) > 0
    for cert, entry in zip(tls["certificates"], record["peer_certificates"], strict=True):
        der = tmp_path / "cert.der"
        der.write_bytes(base64.b64decode(entry["data"]))
        out = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(der), "-noout",
                              "-enddate", "-startdate", "-subject", "-nameopt", "RFC2253"],
                             capture_output=True, text=True, check=True).stdout
        assert f"subject={cert['subject']}" in out
        from datetime import datetime
        end = next(line for line in out.splitlines() if line.startswith("notAfter="))
        parsed = datetime.strptime(end.removeprefix("notAfter="), "%b %d %H:%M:%S %Y GMT")
        assert cert["not_after"] == parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
    page = parse(lab.get(f"/measurement/{uid}").text)
    certs = next(t for t in page.iter("table") if "certs" in t.attrs.get("class", ""))
    assert table_rows(certs)[0][1].startswith(tls["certificates"][0]["subject"])
    # the page's body excerpt is the lab site's HTML, shown as text
    body = raw["test_keys"]["requests"][0]["response"]["body"]
    assert "<title>" in body
    shown = next(p for p in page.iter("pre") if "body" in p.attrs.get("class", ""))
    assert shown.text == body[:4096]
    assert lab.get(f"/measurement/{uid}").text.count("<title>") == 1


def test_unknown_and_malformed_uids(lab: TestClient) -> None:
    page = lab.get("/measurement/no-such-uid")
    twin = lab.get("/measurement/no-such-uid.json")
    assert page.status_code == twin.status_code == 404
    assert twin.json()["error"] == {"code": 404, "message": "no such measurement",
                                    "detail": {"measurement_uid": "no-such-uid"}}
    assert page.headers["content-type"].startswith("text/html")
    assert "no such measurement" in page.text and "<h1>Not found</h1>" in page.text
    bad = lab.get("/measurement/bad%20uid%3Cx%3E")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert "&lt;x&gt;" in bad.text and "<x>" not in bad.text


def _hostile(base: dict[str, Any]) -> dict[str, Any]:
    evil = '</pre><script>alert("body")</script><img src=x onerror=alert(1)>'
    m = copy.deepcopy(base)
    req = m["test_keys"]["requests"][0]
    req["response"]["body"] = f"<html><title>{evil}</title>{evil}</html>"
    req["response"]["headers_list"].append(["X-Evil", '"><svg onload=alert(2)>'])
    req["request"]["url"] = 'https://www.example.org/"><script>alert(3)</script>'
    m["test_keys"]["queries"][0]["hostname"] = "<b>www.example.org</b>"
    m["test_keys"]["tls_handshakes"][0]["failure"] = "<i>ssl_failed</i>"
    return m


def test_hostile_strings_in_a_raw_body_are_escaped(tmp_path: Path) -> None:
    _, example, _ = templates()
    base = next(m for m in case_measurements(runs=1) if m["input"] == example["input"])
    url = build_store(tmp_path / "hostile", [_hostile(base)], detect=False)
    with site_client(url) as client:
        uid = client.get("/search.json", params={"since": "2022-01-01",
                                                 "until": "2023-01-01"}).json()
        (item,) = uid["results"]
        page = client.get(f"/measurement/{item['measurement_uid']}")
    assert page.status_code == 200
    text = page.text
    for fragment in ("<script>alert", "<img src=x", "<svg onload", "<b>www", "<i>ssl"):
        assert fragment not in text, fragment
    assert "&lt;script&gt;alert(&#34;body&#34;)&lt;/script&gt;" in text
    assert "&lt;/pre&gt;" in text and "&lt;svg onload=alert(2)&gt;" in text
    assert "<script" not in text  # a measurement page runs no script at all
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "X-Evil" in text


def test_without_the_raw_file_the_rows_are_shown(tmp_path: Path) -> None:
    blocked = [m for m in case_measurements(runs=10) if m["probe_asn"] == "AS29049"
               and m["input"] == "https://www.tiktok.com/"][-1:]
    url = build_store(tmp_path / "gone", blocked, detect=False)
    (tmp_path / "gone" / "case.jsonl").unlink()
    with site_client(url) as client:
        (item,) = client.get("/search.json", params={"since": "2022-01-01",
                                                     "until": "2023-01-01"}).json()["results"]
        twin = client.get(f"/measurement/{item['measurement_uid']}.json").json()
        page = client.get(f"/measurement/{item['measurement_uid']}").text
    assert not twin["raw_available"] and twin["probe"]["source"] == "observation rows"
    (tls,) = twin["probe"]["tls"]
    assert (tls["server_name"], tls["failure"]) == ("www.tiktok.com", "generic_timeout_error")
    assert twin["probe"]["connections"] == []
    assert "raw measurement, which is no longer at hand" in page
    assert table_rows(parse(page).find_id("tls") or Element("x", {}))[0][:3] == [
        "198.19.20.1:443", "www.tiktok.com", "generic_timeout_error"]


def test_every_sample_renders(samples: TestClient, samples_url: str) -> None:
    con = read_only_sql(samples_url)
    uids = [r[0] for r in con.execute("SELECT measurement_uid FROM measurements").fetchall()]
    con.close()
    assert len(uids) > 50
    with_events = 0
    for uid in uids:
        twin = samples.get(f"/measurement/{uid}.json")
        page = samples.get(f"/measurement/{uid}")
        assert twin.status_code == page.status_code == 200, uid
        data = twin.json()
        raw = samples.get("/api/v1/raw_measurement", params={"measurement_uid": uid}).json()
        keys = raw.get("test_keys") if isinstance(raw.get("test_keys"), dict) else {}
        if data["probe"]["source"] == "raw measurement":
            for name, key in (("dns", "queries"), ("tcp", "tcp_connect"),
                              ("tls", "tls_handshakes"), ("http", "requests")):
                recorded = keys.get(key) if isinstance(keys.get(key), list) else []
                assert len(data["probe"][name]) == len(
                    [x for x in recorded if isinstance(x, dict)]), (uid, name)
        with_events += bool(data["probe"]["connections"])
        root = parse(page.text)
        assert next(root.iter("h1")).texts() == " ".join(data["title"].split())
    assert with_events >= 10
    # a certificate the samples hold (Go Daddy's old root: serial 0, which RFC 5280 forbids)
    uid = "20221207105155.000000_IT_telegram_9b06915028ff309c"
    certs = [c for h in samples.get(f"/measurement/{uid}.json").json()["probe"]["tls"]
             for c in h["certificates"]]
    assert any(c.get("serial") == "0" and c["problems"] for c in certs)
    assert json.dumps(certs).count("Go Daddy") > 0
