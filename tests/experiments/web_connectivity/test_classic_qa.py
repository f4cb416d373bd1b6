"""OONI's 50 netemx QA scenarios (reference/ooni-probe.md §7.3) against the classic analysis.

For every case that can run on a Linux LTE probe we rebuild, with a small recorder, the test keys
the LTE probe writes under that network condition (§1.2: getaddrinfo as one ``ANY`` query tagged
``classic``; Do53 as A+AAAA sharing a transaction id; DoH only at depth 0 — opportunistic DoH is
not repeated right after a redirect; endpoint fan-out ``:80`` with GET + ``:443`` TLS-only for
http URLs, ``:443`` with GET for https; one GET per depth granted to the highest-priority
resolver class; loopback never dialled; QA addresses from §7.1). The TH half is the REAL TH
request/response recorded for the very same fixture
(``ooni-samples/test-helper/th_request_response_pairs.jsonl``). Expected keys are transcribed
in ``data/qa_expected.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from censorscope.experiments.web_connectivity.classic import compute_classic_keys
from censorscope.model.ipinfo import is_bogon, is_loopback

DATA = Path(__file__).parent / "data" / "qa_expected.json"
SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ooni-samples"
TH_PAIRS = SAMPLES / "test-helper" / "th_request_response_pairs.jsonl"
QA = json.loads(DATA.read_text(encoding="utf-8"))["cases"]

# ASNs of the QA addresses (§6.2 fixture_ip_asn_map.json); bogons have none.
QA_ASN = {
    "93.184.216.34": 15133, "104.154.89.105": 396982, "130.192.182.17": 137,
    "83.224.65.41": 30722, "67.199.248.11": 396982, "104.16.132.229": 13335,
    "172.67.144.64": 13335, "5.255.255.80": 208398, "52.35.36.75": 16509,
}

# §7.1 addresses
EXAMPLE = "93.184.216.34"
BADSSL = "104.154.89.105"
PROXY = "130.192.182.17"
BLOCKPAGE_SRV = "83.224.65.41"
BITLY = "67.199.248.11"
YANDEX = "5.255.255.80"
LARGEFILE = "52.35.36.75"
CLOUDFLARE = "104.16.132.229"
HTTPBIN = "172.67.144.64"
BOGON = "10.10.34.35"
LOCALHOST = "127.0.0.1"

NOT_APPLICABLE = {
    "dnsBlockingAndroidDNSCacheNoData": "needs Android getaddrinfo emulation "
    "(android_dns_cache_no_data); a Linux probe never produces it",
    "throttlingWithHTTP": "marked NoLTE: OONI does not run it on LTE (flaky throttling), "
    "so there is no LTE ground truth",
}


# --- what a server sends ------------------------------------------------------------------------


def html(title: str, length: int) -> str:
    """An HTML page of exactly ``length`` bytes with that title."""
    head = f"<!doctype html>\n<html>\n<head>\n    <title>{title}</title>\n</head>\n<body>\n"
    tail = "</body>\n</html>\n"
    filler = length - len((head + tail).encode())
    assert filler >= 0
    return head + ("<p>netem</p>\n" * (filler // 13 + 1))[:filler] + tail


@dataclass(frozen=True)
class Page:
    """An HTTP response as the probe records it."""

    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()
    truncated: bool = False


NETEM_HEADERS = (("Alt-Svc", 'h3=":443"'), ("Content-Length", "1533"),
                 ("Content-Type", "text/html"), ("Date", "Mon, 12 Feb 2024 20:33:47 GMT"))
DEFAULT_PAGE = Page(200, html("Default Web Page", 1533), NETEM_HEADERS)
BLOCKPAGE = Page(200, html("Access Denied", 200))  # spoofed "HTTP/1.0 200 OK\r\n\r\n<page>"
CAPTCHA = Page(503, html("Just a moment...", 279), (
    ("Cache-Control", "private, max-age=0"), ("Cf-Ray", "85345b1b2a0b4e1a-MXP"),
    ("Content-Type", "text/html"), ("Date", "Mon, 12 Feb 2024 20:33:47 GMT"),
    ("Nel", "{}"), ("Permissions-Policy", "accelerometer=()"), ("Report-To", "{}"),
    ("Server", "cloudflare"), ("X-Frame-Options", "SAMEORIGIN"),
))
LARGE = Page(200, "A" * (1 << 19), (("Alt-Svc", 'h3=":443"'),
             ("Content-Type", "application/octet-stream"), ("Date", "Mon, 12 Feb 2024")),
             truncated=True)


def redirect(status: int, location: str) -> Page:
    return Page(status, "", (("Location", location), ("Content-Length", "0"),
                             ("Date", "Mon, 12 Feb 2024 20:33:47 GMT")))


# --- the recorder ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """What happens on one endpoint: failures ("" = ok) and, if it gets to GET, the result."""

    tcp: str = ""
    tls: str = ""
    http: Page | str | None = None


Lookup = list[str] | str  # addresses, or a failure string


@dataclass
class LTE:
    """Records test keys the way Web Connectivity LTE 0.5.28 does (compactly)."""

    case: str
    queries: list[dict[str, Any]] = field(default_factory=list)
    tcp_connect: list[dict[str, Any]] = field(default_factory=list)
    tls_handshakes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    next_id: dict[str, int] = field(default_factory=lambda: {
        "getaddrinfo": 10001, "udp": 20001, "doh": 30001, "tcp": 40001, "tls": 50001})

    def _txid(self, kind: str) -> int:
        self.next_id[kind] += 1
        return self.next_id[kind] - 1

    def _query(self, engine: str, host: str, qtype: str, depth: int, result: Lookup,
               txid: int, classic: bool) -> None:
        failure = result if isinstance(result, str) else None
        answers: list[dict[str, Any]] = []
        for ip in [] if failure else result:
            v6 = ":" in ip
            if qtype == "ANY" or (qtype == "AAAA") == v6:
                answers.append({"answer_type": "AAAA" if v6 else "A",
                                "ipv6" if v6 else "ipv4": ip, "ttl": None,
                                "asn": QA_ASN.get(ip, 0)})
        if failure is None and qtype == "ANY":
            answers.append({"answer_type": "CNAME", "hostname": host + ".", "ttl": None})
        if failure is None and qtype != "ANY" and not answers:
            failure = "dns_no_answer"
            answers = []
        self.queries.append({
            "answers": answers if failure is None else None, "engine": engine,
            "failure": failure, "hostname": host, "query_type": qtype,
            "resolver_address": {"getaddrinfo": "", "udp": "1.1.1.1:53",
                                 "doh": "https://dns.google/dns-query"}[engine],
            "resolver_hostname": None, "resolver_port": None, "t0": 0, "t": 0,
            "tags": ["classic", f"depth={depth}"] if classic else [f"depth={depth}"],
            "transaction_id": txid,
        })

    def visit(self, url: str, depth: int, *, system: Lookup, udp: Lookup | None = None,
              doh: Lookup | None = None, net: dict[str, Outcome] | None = None,
              default: Page | str | None = DEFAULT_PAGE, cached: bool = False) -> None:
        """DNS stage + endpoint flows for one redirect depth.

        ``net`` maps "ip:port" to an :class:`Outcome`; unlisted endpoints succeed and serve
        ``default``. ``udp`` defaults to ``system``; DoH runs only at depth 0. ``cached``
        means the domain is in the per-measurement DNS cache (no new query is recorded).
        """
        parts = urlsplit(url)
        host = parts.hostname or ""
        udp = system if udp is None else udp
        if depth > 0:
            doh = None
        elif doh is None:
            doh = system if isinstance(system, list) else udp
        if not cached:
            self._query("getaddrinfo", host, "ANY", depth, system, self._txid("getaddrinfo"),
                        classic=True)
            txid = self._txid("udp")
            self._query("udp", host, "A", depth, udp, txid, classic=False)
            self._query("udp", host, "AAAA", depth, udp, txid, classic=False)
            if doh is not None:
                txid = self._txid("doh")
                self._query("doh", host, "A", depth, doh, txid, classic=False)
                self._query("doh", host, "AAAA", depth, doh, txid, classic=False)
        # merge, in priority order: system, then udp, then doh
        merged: list[tuple[str, bool]] = []
        for lookup, is_system in ((system, True), (udp, False), (doh, False)):
            for ip in lookup if isinstance(lookup, list) else []:
                if ip not in [m[0] for m in merged]:
                    merged.append((ip, is_system))
        net = net or {}
        granted = False
        for ip, is_system in merged:
            if is_loopback(ip):
                continue  # never dialled
            flows: list[tuple[int, bool, bool]] = []  # (port, tls, fetch_body)
            if parts.scheme == "http":
                flows.append((parts.port or 80, False, True))
                if parts.port is None:
                    flows.append((443, True, False))
            else:
                flows.append((parts.port or 443, True, True))
            for port, tls, fetch_body in flows:
                outcome = net.get(f"{ip}:{port}", Outcome(http=default))
                ok = self._flow(ip, port, tls, fetch_body, is_system, depth, host, outcome)
                if ok and fetch_body and not granted:
                    granted = True
                    self._get(url, ip, port, tls, fetch_body, is_system, depth, outcome)

    def _tags(self, is_system: bool, depth: int, fetch_body: bool) -> list[str]:
        tags = ["classic"] if is_system else []
        if depth == 0:
            tags.append("tcptls_experiment")
        return [*tags, f"depth={depth}", f"fetch_body={'true' if fetch_body else 'false'}"]

    def _flow(self, ip: str, port: int, tls: bool, fetch_body: bool, is_system: bool,
              depth: int, sni: str, outcome: Outcome) -> bool:
        txid = self._txid("tls" if tls else "tcp")
        self._last_txid = txid
        tags = self._tags(is_system, depth, fetch_body)
        self.tcp_connect.append({
            "ip": ip, "port": port, "t0": 0, "t": 0, "tags": tags, "transaction_id": txid,
            "status": {"failure": outcome.tcp or None, "success": not outcome.tcp},
        })
        if outcome.tcp:
            return False
        if tls:
            address = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
            self.tls_handshakes.append({
                "network": "tcp", "address": address, "failure": outcome.tls or None,
                "cipher_suite": "" if outcome.tls else "TLS_AES_128_GCM_SHA256",
                "negotiated_protocol": "" if outcome.tls else "h2", "no_tls_verify": False,
                "peer_certificates": [], "server_name": sni, "t0": 0, "t": 0, "tags": tags,
                "tls_version": "" if outcome.tls else "TLSv1.3", "transaction_id": txid,
            })
            if outcome.tls:
                return False
        return True

    def _get(self, url: str, ip: str, port: int, tls: bool, fetch_body: bool,
             is_system: bool, depth: int, outcome: Outcome) -> None:
        result = outcome.http
        if result is None:
            return
        failure = result if isinstance(result, str) else None
        page = result if isinstance(result, Page) else None
        response: dict[str, Any] = {"body": "", "body_is_truncated": False, "code": 0,
                                    "headers_list": [], "headers": {}}
        if page is not None:
            response = {"body": page.body, "body_is_truncated": page.truncated,
                        "code": page.status, "headers_list": [list(h) for h in page.headers],
                        "headers": dict(page.headers)}
        self.requests.insert(0, {  # most recent first
            "network": "tcp", "address": f"{ip}:{port}", "alpn": "h2" if tls else "",
            "failure": failure, "request": {
                "url": url, "method": "GET", "body": "", "body_is_truncated": False,
                "headers": {"Host": urlsplit(url).netloc}, "headers_list": [],
                "tor": {"exit_ip": None, "exit_name": None, "is_tor": False},
                "x_transport": "tcp"},
            "response": response, "t0": 0, "t": 0,
            "tags": self._tags(is_system, depth, fetch_body), "transaction_id": self._last_txid,
        })

    def test_keys(self) -> dict[str, Any]:
        pair = TH_PAIRS_BY_CASE[self.case]
        return {
            "queries": self.queries, "tcp_connect": self.tcp_connect,
            "tls_handshakes": self.tls_handshakes, "requests": self.requests,
            "x_control_request": pair["request"], "control": pair["response"],
            "control_failure": pair["control_failure"],
        }


def _load_th_pairs() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with TH_PAIRS.open(encoding="utf-8") as fp:
        for line in fp:
            pair = json.loads(line)
            if "/generated/" in pair["fixture"]:
                out[pair["fixture"].split("/")[-2]] = pair
    return out


TH_PAIRS_BY_CASE = _load_th_pairs()


# --- the network conditions, case by case ---------------------------------------------------

EX = [EXAMPLE]
NX = "dns_nxdomain_error"


def _redirect_then(lte: LTE, start: str, target: str, net: dict[str, Outcome] | None = None,
                   system: Lookup = EX) -> None:
    """bit.ly 308 → target (depth 1), with ``net`` applied at depth 1."""
    lte.visit(start, 0, system=[BITLY], default=redirect(308, target))
    lte.visit(target, 1, system=system, net=net)


def _too_many_redirects(lte: LTE, scheme: str) -> None:
    for depth in range(11):
        url = f"{scheme}://httpbin.com/redirect/{15 - depth}"
        page: Page | str = redirect(302, f"/redirect/{14 - depth}")
        if depth == 10:
            page = "unknown_failure: stopped after too many redirects"
        lte.visit(url, depth, system=[HTTPBIN], default=page, cached=depth > 0)


def _then_failure(case: str) -> str:
    """The failure named in "redirectWithConsistentDNSAndThen<X>For…"."""
    for word, failure in (("ConnectionReset", "connection_reset"), ("EOF", "eof_error"),
                          ("Timeout", "generic_timeout_error")):
        if f"AndThen{word}For" in case:
            return failure
    raise AssertionError(case)


def build(case: str, url: str) -> dict[str, Any]:
    lte = LTE(case)
    http_reset = Outcome(http="connection_reset")
    match case:
        case "badSSLWithUnknownAuthorityWithConsistentDNS":
            lte.visit(url, 0, system=[BADSSL],
                      net={f"{BADSSL}:443": Outcome(tls="ssl_unknown_authority")})
        case "badSSLWithExpiredCertificate":
            lte.visit(url, 0, system=[BADSSL],
                      net={f"{BADSSL}:443": Outcome(tls="ssl_invalid_certificate")})
        case "badSSLWithWrongServerName":
            lte.visit(url, 0, system=[BADSSL],
                      net={f"{BADSSL}:443": Outcome(tls="ssl_invalid_hostname")})
        case "badSSLWithUnknownAuthorityWithInconsistentDNS":
            lte.visit(url, 0, system=[BADSSL], doh=EX,
                      net={f"{BADSSL}:443": Outcome(tls="ssl_unknown_authority")})
        case "cloudflareCAPTCHAWithHTTP" | "cloudflareCAPTCHAWithHTTPS":
            lte.visit(url, 0, system=[CLOUDFLARE], default=CAPTCHA)
        case "controlFailureWithSuccessfulHTTPWebsite" | \
                "controlFailureWithSuccessfulHTTPSWebsite":
            lte.visit(url, 0, system=EX)
        case "dnsBlockingBOGON":
            lte.visit(url, 0, system=[BOGON], udp=EX, doh=EX,
                      net={f"{BOGON}:443": Outcome(tcp="generic_timeout_error")})
        case "dnsBlockingNXDOMAIN":
            lte.visit(url, 0, system=NX, udp=EX, doh=EX)
        case "dnsHijackingToLocalhostWithHTTP" | "dnsHijackingToLocalhostWithHTTPS":
            lte.visit(url, 0, system=[LOCALHOST], doh=EX)
        case "dnsHijackingToProxyWithHTTPURL" | "dnsHijackingToProxyWithHTTPSURL":
            lte.visit(url, 0, system=[PROXY], doh=EX)  # the proxy forwards to the real site
        case "ghostDNSBlockingWithHTTP" | "ghostDNSBlockingWithHTTPS":
            lte.visit(url, 0, system=[BLOCKPAGE_SRV], doh=NX, default=BLOCKPAGE,
                      net={f"{BLOCKPAGE_SRV}:443": Outcome(tcp="connection_refused")})
        case "httpBlockingConnectionReset":
            lte.visit(url, 0, system=EX, net={f"{EXAMPLE}:80": http_reset})
        case "httpDiffWithConsistentDNS":
            lte.visit(url, 0, system=EX, net={f"{EXAMPLE}:80": Outcome(http=BLOCKPAGE)})
        case "httpDiffWithInconsistentDNS":
            lte.visit(url, 0, system=[PROXY], doh=EX, net={
                f"{EXAMPLE}:80": Outcome(http=BLOCKPAGE), f"{PROXY}:80": Outcome(http=BLOCKPAGE)})
        case "idnaWithoutCensorshipLowercase" | "idnaWithoutCensorshipWithFirstLetterUppercase":
            lte.visit("http://xn--d1acpjx3f.xn--p1ai/", 0, system=[YANDEX])
        case "largeFileWithHTTP" | "largeFileWithHTTPS":
            lte.visit(url, 0, system=[LARGEFILE], default=LARGE)
        case "localhostWithHTTP" | "localhostWithHTTPS":
            lte.visit(url, 0, system=[LOCALHOST])
        case "redirectWithBrokenLocationForHTTP" | "redirectWithBrokenLocationForHTTPS":
            lte.visit(url, 0, system=[HTTPBIN], default="http_invalid_redirect_location_host")
        case "redirectWithConsistentDNSAndThenConnectionRefusedForHTTP":
            _redirect_then(lte, url, "http://www.example.com/", {
                f"{EXAMPLE}:80": Outcome(tcp="connection_refused"),
                f"{EXAMPLE}:443": Outcome(tcp="connection_refused")})
        case "redirectWithConsistentDNSAndThenConnectionRefusedForHTTPS":
            _redirect_then(lte, url, "https://www.example.com/", {
                f"{EXAMPLE}:443": Outcome(tcp="connection_refused")})
        case "redirectWithConsistentDNSAndThenConnectionResetForHTTP" | \
                "redirectWithConsistentDNSAndThenEOFForHTTP" | \
                "redirectWithConsistentDNSAndThenTimeoutForHTTP":
            failure = _then_failure(case)
            _redirect_then(lte, url, "http://www.example.com/", {
                f"{EXAMPLE}:80": Outcome(http=failure), f"{EXAMPLE}:443": Outcome(tls=failure)})
        case "redirectWithConsistentDNSAndThenConnectionResetForHTTPS" | \
                "redirectWithConsistentDNSAndThenEOFForHTTPS" | \
                "redirectWithConsistentDNSAndThenTimeoutForHTTPS":
            failure = _then_failure(case)
            _redirect_then(lte, url, "https://www.example.com/", {
                f"{EXAMPLE}:443": Outcome(tls=failure)})
        case "redirectWithConsistentDNSAndThenNXDOMAIN":
            _redirect_then(lte, url, "https://www.example.com/", system=NX)
        case "redirectWithMoreThanTenRedirectsAndHTTP":
            _too_many_redirects(lte, "http")
        case "redirectWithMoreThanTenRedirectsAndHTTPS":
            _too_many_redirects(lte, "https")
        case "successWithHTTP" | "successWithHTTPS":
            lte.visit(url, 0, system=EX)
        case "tcpBlockingConnectTimeout":
            timeout = Outcome(tcp="generic_timeout_error")
            lte.visit(url, 0, system=EX, net={f"{EXAMPLE}:443": timeout})
        case "tcpBlockingConnectionRefusedWithInconsistentDNS":
            refused = Outcome(tcp="connection_refused")
            lte.visit(url, 0, system=[BLOCKPAGE_SRV], doh=EX,
                      net={f"{BLOCKPAGE_SRV}:80": refused, f"{BLOCKPAGE_SRV}:443": refused})
        case "throttlingWithHTTPS":
            lte.visit(url, 0, system=[LARGEFILE], default="generic_timeout_error")
        case "tlsBlockingConnectionResetWithConsistentDNS":
            lte.visit(url, 0, system=EX, net={f"{EXAMPLE}:443": Outcome(tls="connection_reset")})
        case "tlsBlockingConnectionResetWithInconsistentDNS":
            lte.visit(url, 0, system=[PROXY], doh=EX, net={
                f"{EXAMPLE}:443": Outcome(tls="connection_reset"),
                f"{PROXY}:443": Outcome(tls="connection_reset")})
        case "websiteDownNXDOMAIN":
            lte.visit(url, 0, system=NX)
        case "websiteDownNoAddrs":  # a CNAME with no addresses, in every resolver
            lte.visit(url, 0, system="dns_no_answer")
        case "websiteDownTCPConnect":
            lte.visit(url, 0, system=EX, net={f"{EXAMPLE}:444": Outcome(tcp="connection_refused")})
        case _:
            raise AssertionError(f"no scenario for {case}")
    return lte.test_keys()


ASSERTED = ("blocking", "accessible", "dns_consistency", "http_experiment_failure",
            "x_blocking_flags", "x_dns_flags", "x_null_null_flags")


def _analyze(row: dict[str, Any]) -> dict[str, Any]:
    keys = build(row["case"], row["input"])
    return compute_classic_keys(keys, input_url=row["input"],
                                asn_of=lambda ip: QA_ASN.get(ip, 0), is_bogon=is_bogon)


def test_expected_table_is_complete() -> None:
    assert [r["n"] for r in QA] == list(range(1, 51))
    assert len({r["case"] for r in QA}) == 50
    assert set(NOT_APPLICABLE) <= {r["case"] for r in QA}


@pytest.mark.parametrize("row", [r for r in QA if r["case"] not in NOT_APPLICABLE],
                         ids=lambda r: f"{r['n']:02d}-{r['case']}")
def test_qa_case(row: dict[str, Any]) -> None:
    got = _analyze(row)
    assert {k: got[k] for k in ASSERTED} == row["expect"]


def test_every_applicable_case_has_its_real_th_pair() -> None:
    for row in QA:
        assert row["case"] in TH_PAIRS_BY_CASE
        assert TH_PAIRS_BY_CASE[row["case"]]["input"] == row["input"]


def test_cloudflare_captcha_http_diff_keys() -> None:
    """§7.3 prose: 503 CAPTCHA to the client → status mismatch, shared headers, other title,
    body proportion ≈ 0.1818."""
    row = next(r for r in QA if r["case"] == "cloudflareCAPTCHAWithHTTP")
    got = _analyze(row)
    assert got["status_code_match"] is False
    assert got["headers_match"] is True
    assert got["title_match"] is False
    assert got["body_proportion"] == pytest.approx(0.1818, abs=1e-3)
    assert got["body_length_match"] is False


def test_large_file_truncated_body_has_no_body_length_match() -> None:
    row = next(r for r in QA if r["case"] == "largeFileWithHTTP")
    got = _analyze(row)
    assert got["body_length_match"] is None and got["body_proportion"] == 0
    assert got["status_code_match"] is True
