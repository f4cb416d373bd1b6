"""Fingerprint loading, every pattern type, confirmation, false positives, versioning."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import orjson
import pytest

from censorscope.pipeline.fingerprints import (
    FINGERPRINTS_VERSION,
    Fingerprint,
    default_db,
    is_confirmed,
    load_fingerprints,
    match_dns,
    match_http,
    parse_countries,
    read_sources,
)
from censorscope.pipeline.fingerprints.literal import HAVE_AUTOMATON, LiteralSet, regex_literal

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
FASTPATH = SHARED / "ooni-samples" / "fastpath"
HEADER = ("name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,"
          "expected_countries,source,exp_url,notes\n")

DNS_CSV = HEADER + """\
t.dns_full,nat,,dns,full,10.10.34.35,5,IR,t,,
t.dns_prefix,isp,,dns,prefix,blocked.isp.,5,RU,t,,
t.dns_contains,prod,,dns,contains,.sinkhole.,5,,t,,
t.dns_regexp,inst,,dns,regexp,^198\\.51\\.100\\.(1|2)$,5,"DE, fr",t,,
"""
HTTP_CSV = HEADER + """\
t.body_contains,nat,,body,contains,"GdF Stop Page, with a comma",5,IT,t,,
t.body_full,isp,,body,full,<HTML></HTML>,5,"EG,KR",t,,
t.body_prefix,vbw,,body,prefix,<html><head><title>Blocked,5,,t,,
t.body_regexp,prod,,body,regexp,URL .* Sp.*er Gate,5,,t,,
t.loc_full,nat,,header.location,full,http://www.warning.or.kr,5,KR,t,,
t.loc_prefix,isp,,header.location,prefix,http://block.example.ru/,5,RU,t,,
t.loc_contains,isp,,header.location,contains,/blocked.html,5,RU,t,,
t.srv_regexp,inst,,header.server,regexp,^Kerio Control [0-9]+$,5,CL,t,,
t.fp_cdn,fp,,body,contains,Ray ID:,5,,t,,
t.bad_type,nat,,body,glob,*blocked*,5,,t,,
"""


@pytest.fixture
def fpdir(tmp_path: Path) -> Path:
    (tmp_path / "fingerprints_dns.csv").write_text(DNS_CSV, encoding="utf-8")
    (tmp_path / "fingerprints_http.csv").write_text("\ufeff" + HTTP_CSV, encoding="utf-8")
    return tmp_path


AUTOMATON = [True, False] if HAVE_AUTOMATON else [False]


@pytest.mark.parametrize("automaton", AUTOMATON)
def test_dns_pattern_types(fpdir: Path, automaton: bool) -> None:
    db = load_fingerprints(fpdir, automaton=automaton)
    assert [m.id for m in db.match_dns("10.10.34.35", "IR")] == ["t.dns_full"]
    assert db.match_dns("10.10.34.3", "IR") == []          # full is equality, not prefix
    assert [m.id for m in db.match_dns("blocked.isp.example", "RU")] == ["t.dns_prefix"]
    assert db.match_dns("x.blocked.isp.example", "RU") == []
    assert [m.id for m in db.match_dns("a.sinkhole.example", "US")] == ["t.dns_contains"]
    assert [m.id for m in db.match_dns("198.51.100.2", "DE")] == ["t.dns_regexp"]
    assert db.match_dns("198.51.100.20", "DE") == []
    assert [m.id for m in db.match_dns(["192.0.2.1", "10.10.34.35"], "IR")] == ["t.dns_full"]
    m = db.match_dns("10.10.34.35", "IR")[0]
    assert (m.kind, m.location, m.blockpage_ip, m.source) == ("dns", "dns", "10.10.34.35", "ooni")
    assert db.blockpage_ips() == frozenset({"10.10.34.35"})


@pytest.mark.parametrize("automaton", AUTOMATON)
def test_http_pattern_types(fpdir: Path, automaton: bool) -> None:
    db = load_fingerprints(fpdir, automaton=automaton)

    def ids(body: object, headers: object = None, cc: str = "IT") -> list[str]:
        return sorted(m.id for m in db.match_http(body, headers, cc))  # type: ignore[arg-type]

    assert ids("<p>GdF Stop Page, with a comma</p>") == ["t.body_contains"]
    assert ids("GdF Stop Page") == []
    assert ids("<HTML></HTML>") == ["t.body_full"]
    assert ids("<HTML></HTML> ") == []                      # full is equality (fastpath: find)
    assert ids("<html><head><title>Blocked by policy") == ["t.body_prefix"]
    assert ids(" <html><head><title>Blocked") == []
    assert ids("URL http://x.org/ Spider Gate") == ["t.body_regexp"]
    assert ids("URL .* Sp.*er Gate") == ["t.body_regexp"]   # the regex matches itself too
    assert ids("URL Gate Spider") == []
    assert ids("", {"Location": "http://www.warning.or.kr"}) == ["t.loc_full"]
    assert ids("", {"Location": "http://www.warning.or.kr/x"}) == []
    assert ids("", [("location", "http://block.example.ru/?u=1")]) == ["t.loc_prefix"]
    assert ids("", [["Location", "https://isp.example/blocked.html?x"]]) == ["t.loc_contains"]
    assert ids("", {"Server": "Kerio Control 9"}) == ["t.srv_regexp"]
    assert ids("", {"Server": "Kerio Control Embedded"}) == []
    assert ids(None, None) == []
    # the fp row and the unknown pattern type are not blockpage fingerprints
    assert ids("Ray ID: 123 *blocked*") == []
    assert [m.id for m in db.false_positive("Ray ID: 6a1", {}, every=True)] == ["t.fp_cdn"]
    assert db.false_positive("Ray ID: 6a1", {}) == []       # too short to veto a blockpage
    loc = db.match_http("", {"Location": "http://www.warning.or.kr"}, "KR")[0]
    assert (loc.location, loc.pattern_type, loc.matched) == (
        "header.location", "full", "http://www.warning.or.kr")


def test_bodies_as_bytes_and_base64(fpdir: Path) -> None:
    db = load_fingerprints(fpdir)
    page = "<p>GdF Stop Page, with a comma ü</p>".encode()
    assert [m.id for m in db.match_http(page, {}, "IT")] == ["t.body_contains"]
    b64 = {"format": "base64", "data": base64.b64encode(b"\xff\xfe" + page).decode()}
    assert [m.id for m in db.match_http(b64, {}, "IT")] == ["t.body_contains"]
    hdr = {"Location": {"format": "base64", "data": base64.b64encode(
        b"http://www.warning.or.kr").decode()}}
    assert [m.id for m in db.match_http(None, hdr, "KR")] == ["t.loc_full"]


def test_csv_schema_edge_cases(fpdir: Path) -> None:
    src = read_sources(fpdir)
    by_id = {fp.id: fp for fp in src.dns + src.http + src.false_positive}
    assert "t.bad_type" not in by_id                        # unknown pattern type skipped
    assert by_id["t.body_contains"].pattern == "GdF Stop Page, with a comma"
    assert by_id["t.dns_regexp"].expected_countries == ("DE", "FR")
    assert by_id["t.body_regexp"].expected_countries == ()
    assert by_id["t.body_full"].expected_countries == ("EG", "KR")
    assert by_id["t.fp_cdn"] in src.false_positive
    assert by_id["t.dns_full"].confidence == 5
    assert src.files == ("fingerprints_dns.csv", "fingerprints_http.csv")
    assert parse_countries(" ae, sa ,ZZ,,AE") == ("AE", "SA")
    assert parse_countries("['ID', 'my']") == ("ID", "MY")
    assert parse_countries("") == ()
    (fpdir / "fingerprints_dns.csv").unlink()
    with pytest.raises(FileNotFoundError):
        read_sources(fpdir)


def _fp(scope: str, countries: tuple[str, ...]) -> Fingerprint:
    return Fingerprint(id="x", kind="http", location="body", pattern_type="contains",
                       pattern="p", scope=scope, expected_countries=countries,
                       confidence=5, source="ooni")


@pytest.mark.parametrize(("scope", "countries", "cc", "confirmed"), [
    ("nat", ("IR",), "IR", True),
    ("nat", ("IR",), "DE", True),        # nat confirms whatever the country
    ("isp", (), "US", True),             # isp too, even with no expected country
    ("prod", ("IN",), "IN", True),
    ("prod", ("IN",), "ID", False),      # product pages only in their countries
    ("inst", (), "IT", False),
    ("vbw", ("RU",), "ru", True),        # cc is case-insensitive
    ("vbw", ("RU",), "BY", False),
    ("fp", (), "US", False),
    ("prod", ("ZZ",), "ZZ", False),      # ZZ never confirms by country
])
def test_confirmation_rules(scope: str, countries: tuple[str, ...], cc: str,
                            confirmed: bool) -> None:
    assert is_confirmed(cc, _fp(scope, countries)) is confirmed


def test_bundled_set_loads_completely() -> None:
    db = default_db()
    assert db.invalid == []                                 # every regex compiles
    ooni_http = [fp for fp in db.http + db.false_positives if fp.source == "ooni"]
    assert len([fp for fp in db.dns if fp.source == "ooni"]) == 226
    assert len(ooni_http) == 1729
    assert {fp.source for fp in db.http} >= {"ooni", "censoredplanet", "citizenlab"}
    assert all(fp.scope == "fp" for fp in db.false_positives)
    ids = [fp.id for fp in db.http] + [fp.id for fp in db.false_positives]
    assert len(ids) == len(set(ids))                        # CP rows in OONI's CSV not doubled
    assert db.version == FINGERPRINTS_VERSION and len(FINGERPRINTS_VERSION) == 12


def test_fastpath_snapshot_dns_ids_all_present() -> None:
    snapshot = orjson.loads((FASTPATH / "fingerprints_dns.json").read_bytes())
    ours = {(fp.id, fp.pattern) for fp in default_db().dns}
    missing = [(f["name"], f["pattern"]) for f in snapshot
               if (f["name"], f["pattern"]) not in ours]
    assert missing == []


def test_iranian_sample_matches_oonis_fingerprint() -> None:
    expected = orjson.loads((FASTPATH / "fastpath_expected_scores.json").read_bytes())
    case = next(c for c in expected if c["fixture"] == "web_connectivity_ir_fp.json")
    want = [f["name"] for f in case["expected_scores"]["fingerprints"]]
    msm = orjson.loads((FASTPATH / "web_connectivity_ir_fp.json").read_bytes())
    answers = [a.get("ipv4") or a.get("hostname") or a.get("ipv6")
               for q in msm["test_keys"]["queries"] for a in q.get("answers") or ()]
    matches = match_dns(answers, msm["probe_cc"])
    assert [m.id for m in matches] == want == ["ooni.ir_10dot10_ipv4_1"]
    assert matches[0].confirmed and matches[0].scope == "nat"
    assert matches[0].blockpage_ip in default_db().blockpage_ips()


def test_fastpath_ignored_types_are_matched_here() -> None:
    db = default_db()
    contains_loc = next(fp for fp in db.http if fp.location == "header.location"
                        and fp.pattern_type == "contains" and fp.source == "ooni")
    url = f"http://gw.example{contains_loc.pattern}?x=1"
    found = db.match_http("", {"Location": url}, "US")
    assert contains_loc.id in [m.id for m in found]
    drweb = [m for m in db.match_http("URL http://a.b/ Spider Gate", {}, "US")
             if m.id == "cp.a_prod_drweb_3"]
    assert drweb and drweb[0].pattern_type == "regexp" and not drweb[0].confirmed


CLOUDFLARE_503 = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
    '<h1>www.example.com</h1><h2>Checking if the site connection is secure</h2>'
    "<noscript>Enable JavaScript and cookies to continue</noscript>"
    '<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script>'
    "<footer>Ray ID: <code>7f1c2b3a4d5e6f70</code> Performance &amp; security by "
    "Cloudflare</footer></body></html>")


def test_cloudflare_captcha_is_a_false_positive() -> None:
    db = default_db()
    headers = [("Server", "cloudflare"), ("cf-mitigated", "challenge"),
               ("Content-Type", "text/html; charset=UTF-8")]
    fps = {m.id for m in db.false_positive(CLOUDFLARE_503.encode(), headers)}
    assert {"cs.fp_cloudflare_challenge_title", "cs.fp_cloudflare_mitigated"} <= fps
    every = {m.id for m in db.false_positive(CLOUDFLARE_503, headers, every=True)}
    assert fps < every and "cp.fp_x_cloudflare_error_1" in every
    assert db.blockpage_matches(CLOUDFLARE_503, headers, "US") == []
    # OONI lists Cloudflare's "Please Wait" page as an Indian product blockpage: matched and
    # even confirmed in IN, but the false-positive list vetoes it.
    wait = "<html><title>Please Wait... | Cloudflare</title></html>"
    assert any(m.id == "ooni.in_6" and m.confirmed for m in db.match_http(wait, {}, "IN"))
    assert db.blockpage_matches(wait, {}, "IN") == []
    both = match_http(wait, {}, "IN")
    assert {m.scope for m in both if m.id.startswith("cs.")} == {"fp"}
    # a real blockpage stays a blockpage, even with words Censored Planet's short
    # false-positive patterns name ("redirect", "Bad Request")
    page = "<h1>GdF Stop Page</h1><script>// redirect</script><p>Bad Request</p>"
    assert {"cp.fp_x_redirect_just", "cp.fp_x_bad_bad_request"} <= {
        m.id for m in db.false_positive(page, {}, every=True)}
    assert [m.id for m in db.blockpage_matches(page, {}, "IT")] == ["ooni.it_0"]


def test_version_follows_content_and_reload(tmp_path: Path, fpdir: Path) -> None:
    first = load_fingerprints(fpdir)
    assert first.version == load_fingerprints(fpdir).version
    (fpdir / "fingerprints_dns.csv").write_text(
        DNS_CSV + "t.new,nat,,dns,full,203.0.113.9,5,AZ,t,,\n", encoding="utf-8")
    second = load_fingerprints(fpdir)
    assert second.version != first.version
    assert [m.id for m in second.match_dns("203.0.113.9", "AZ")] == ["t.new"]
    assert first.match_dns("203.0.113.9", "AZ") == []


def test_upstream_flat_layout_loads(tmp_path: Path) -> None:
    shutil.copytree(SHARED / "fingerprints", tmp_path / "fp")
    db = load_fingerprints(tmp_path / "fp")
    bundled = default_db()
    assert len(db.dns) == len(bundled.dns)
    assert len(db.http) == len(bundled.http)
    # the flat upstream checkout has no censorscope false-positive file
    assert len(db.false_positives) < len(bundled.false_positives)
    assert db.version != bundled.version


def test_regex_literal() -> None:
    assert regex_literal(r"fortinet\.net") == "fortinet.net"
    assert regex_literal(r"<title>Page Restricted</title>") == "<title>Page Restricted</title>"
    for rx in (r"a.*b", r"\d+", r"x?", r"(a|b)", "a\\"):
        assert regex_literal(rx) is None
    lits = LiteralSet(["abc", "bcd", "zzz"], automaton=False)
    assert lits.find("xabcdx") == {"abc", "bcd"}


def test_large_body_match() -> None:
    # Benchmark (2 cores, load ~2-3, pyahocorasick 2.3.1): match_http + false_positive on a
    # 512 KiB page against the bundled set (859 + 447 literals, 16 regexes, header rules)
    # takes ~23 ms (ASCII) – 30 ms (mixed scripts); without pyahocorasick (one `in` per
    # literal) ~120–145 ms. A 30 KiB page: ~1 ms (~7 ms). Not asserted: timing is the box's.
    db = default_db()
    filler = "<p>lorem ipsum dolor sit amet, consectetur adipiscing elit</p>\n" * 8300
    body = filler[: 512 * 1024 - 40] + "<b>GdF Stop Page</b>"
    assert len(body.encode()) <= 512 * 1024
    assert [m.id for m in db.match_http(body, {}, "IT")] == ["ooni.it_0"]
