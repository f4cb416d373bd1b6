"""Measurement sets for the batch-independence and evidence-truth tests.

- :func:`lab_corpus`: the real lab probe measurements the e2e suite saved
  (``tests/golden/measurements/qa/<case>.json`` and ``{az,am}-2022-tiktok.jsonl``), when present;
- :func:`synthetic_qa`: QA-like measurements built with ``msmkit`` on the lab's addresses, one
  per scenario and one probe session (report) each, all from the same network: the shapes that
  made verdicts depend on the batch (a proxy address that is valid for the name in another
  scenario, a server that completes other names in another scenario, a bogon the control
  returns in another scenario …);
- :func:`samples`: the real OONI samples;
- :func:`facts_of_batch` / :func:`problems`: run ``check_verdict`` over a batch's verdicts with
  a look-up of the batch's measurements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from censorscope.model.rows import MeasurementRow, ObservationRow
from censorscope.model.verdict import Verdict
from censorscope.pipeline.evidence import Facts, check_verdict
from censorscope.pipeline.observe import measurement_row, observe
from tests.pipeline.analyze.msmkit import PAGE, Msm

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO / "tests" / "golden" / "measurements"
SAMPLES = REPO.parent / "shared" / "data" / "ooni-samples"

ASN = 137  # the lab's probe network (GARR) for the synthetic set
REAL, PROXY, BAD = "198.19.216.34", "198.19.182.17", "198.19.89.105"
GHOST, BIT, LARGE = "198.19.65.41", "198.19.248.11", "198.19.36.75"
EX, EXO = "www.example.com", "www.example.org"

Batch = list[tuple[dict[str, Any], str | None]]


def lab_corpus() -> dict[str, dict[str, Any]]:
    """case → measurement of the lab corpus (empty when it is not committed yet); the TikTok
    runs as ``<scenario>#<n>``."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((CORPUS / "qa").glob("*.json")):
        out[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    for path in sorted(CORPUS.glob("*.jsonl")):
        lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        for i, m in enumerate(lines):
            out[f"{path.stem}#{i}"] = m
    return out


def qa_corpus() -> dict[str, dict[str, Any]]:
    """The QA cases of the lab corpus only (one network identity, one session each)."""
    return {k: v for k, v in lab_corpus().items() if "#" not in k}


def _ok(url: str) -> dict[str, Any]:
    return {"url": url, "body": PAGE}


def _ctrl_ok(*ips: str, name: str = EX) -> dict[str, Any]:
    return {"tcp": {f"{ip}:{p}": (True, None) for ip in ips for p in (80, 443)},
            "tls": {f"{ip}:443": (True, None, name) for ip in ips}}


def _msm(case: str, url: str) -> Msm:
    return Msm(url, cc="IT", asn=ASN, uid=f"syn-{case}", report=f"r-{case}")


SYNTHETIC: dict[str, Callable[[], Msm]] = {
    "successWithHTTPS": lambda: _msm("successWithHTTPS", f"https://{EX}/")
    .dns(EX, [REAL]).dns(EX, [REAL], engine="doh", qtype="A")
    .connect(REAL, 443, sni=EX, http=_ok(f"https://{EX}/"))
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "successWithHTTP": lambda: _msm("successWithHTTP", f"http://{EX}/")
    .dns(EX, [REAL]).dns(EX, [REAL], engine="doh", qtype="A")
    .connect(REAL, 443, sni=EX).connect(REAL, 80, http=_ok(f"http://{EX}/"))
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "controlFailureWithSuccessfulHTTPSWebsite": lambda: _msm(
        "controlFailureWithSuccessfulHTTPSWebsite", f"https://{EXO}/")
    .dns(EXO, [REAL]).dns(EXO, [REAL], engine="doh", qtype="A")
    .connect(REAL, 443, sni=EXO, http=_ok(f"https://{EXO}/")),
    "tlsBlockingConnectionResetWithConsistentDNS": lambda: _msm(
        "tlsBlockingConnectionResetWithConsistentDNS", f"https://{EX}/")
    .dns(EX, [REAL]).dns(EX, [REAL], engine="doh", qtype="A")
    .connect(REAL, 443, sni=EX, tls_failure="connection_reset", wait=0.01)
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "tlsBlockingConnectionResetWithInconsistentDNS": lambda: _msm(
        "tlsBlockingConnectionResetWithInconsistentDNS", f"https://{EX}/")
    .dns(EX, [PROXY]).dns(EX, [REAL], engine="doh", qtype="A")
    .connect(PROXY, 443, sni=EX, tls_failure="connection_reset", wait=0.01)
    .connect(REAL, 443, sni=EX, tls_failure="connection_reset", wait=0.01)
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "dnsHijackingToProxyWithHTTPSURL": lambda: _msm(
        "dnsHijackingToProxyWithHTTPSURL", f"https://{EX}/")
    .dns(EX, [PROXY]).dns(EX, [REAL], engine="doh", qtype="A")
    .connect(PROXY, 443, sni=EX, http=_ok(f"https://{EX}/")).connect(REAL, 443, sni=EX)
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "httpDiffWithInconsistentDNS": lambda: _msm("httpDiffWithInconsistentDNS", f"http://{EX}/")
    .dns(EX, [PROXY]).dns(EX, [REAL], engine="doh", qtype="A")
    .connect(PROXY, 443, sni=EX).connect(REAL, 443, sni=EX)
    .connect(PROXY, 80, http={"url": f"http://{EX}/", "body": "<title>Blocked</title>no"})
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "httpDiffWithConsistentDNS": lambda: _msm("httpDiffWithConsistentDNS", f"http://{EX}/")
    .dns(EX, [REAL]).dns(EX, [REAL], engine="doh", qtype="A").connect(REAL, 443, sni=EX)
    .connect(REAL, 80, http={"url": f"http://{EX}/", "body": "<title>Blocked</title>no"})
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "badSSLWithUnknownAuthorityWithInconsistentDNS": lambda: _msm(
        "badSSLWithUnknownAuthorityWithInconsistentDNS", f"https://{EX}/")
    .dns(EX, [BAD]).dns(EX, [REAL], engine="doh", qtype="A")
    .connect(BAD, 443, sni=EX, tls_failure="ssl_unknown_authority", wait=0.01)
    .connect(REAL, 443, sni=EX, http=_ok(f"https://{EX}/"))
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "badSSLWithExpiredCertificate": lambda: _msm(
        "badSSLWithExpiredCertificate", "https://expired.badssl.com/")
    .dns("expired.badssl.com", [BAD]).dns("expired.badssl.com", [BAD], engine="doh", qtype="A")
    .connect(BAD, 443, sni="expired.badssl.com", tls_failure="ssl_invalid_certificate",
             wait=0.01)
    .ctrl(addrs=[BAD], tcp={f"{BAD}:443": (True, None)},
          tls={f"{BAD}:443": (False, "ssl_invalid_certificate", "expired.badssl.com")},
          http={"failure": "ssl_invalid_certificate", "status_code": -1}),
    "localhostWithHTTP": lambda: _msm("localhostWithHTTP", f"http://{EX}/")
    .dns(EX, ["127.0.0.1"]).dns(EX, ["127.0.0.1"], engine="doh", qtype="A")
    .ctrl(addrs=["127.0.0.1"], http={"failure": "connection_refused", "status_code": -1}),
    "dnsHijackingToLocalhostWithHTTPS": lambda: _msm(
        "dnsHijackingToLocalhostWithHTTPS", f"https://{EX}/")
    .dns(EX, ["127.0.0.1"]).dns(EX, [REAL], engine="doh", qtype="A")
    .connect(REAL, 443, sni=EX, http=_ok(f"https://{EX}/"))
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "dnsBlockingNXDOMAIN": lambda: _msm("dnsBlockingNXDOMAIN", f"https://{EX}/")
    .dns(EX, failure="dns_nxdomain_error").dns(EX, [REAL], engine="doh", qtype="A")
    .connect(REAL, 443, sni=EX, http=_ok(f"https://{EX}/"))
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "redirectWithConsistentDNSAndThenConnectionResetForHTTP": lambda: _msm(
        "redirectWithConsistentDNSAndThenConnectionResetForHTTP", "https://bit.ly/32447")
    .dns("bit.ly", [BIT]).dns("bit.ly", [BIT], engine="doh", qtype="A")
    .dns(EX, [REAL]).dns(EX, [REAL], engine="doh", qtype="A")
    .connect(BIT, 443, sni="bit.ly", http={"url": "https://bit.ly/32447", "code": 308,
                                             "t": 1.1})
    .connect(REAL, 443, sni=EX, tls_failure="connection_reset", wait=0.01)
    .connect(REAL, 80, http={"url": f"http://{EX}/", "code": 0, "body": None,
                             "failure": "connection_reset", "t": 1.5})
    .ctrl(addrs=[BIT], **_ctrl_ok(BIT, name="bit.ly")),
    "redirectThenResetForHTTPWithoutOtherResolvers": lambda: _msm(
        "redirectThenResetForHTTPWithoutOtherResolvers", "https://bit.ly/32447")
    .dns("bit.ly", [BIT]).dns(EX, [REAL])
    .connect(BIT, 443, sni="bit.ly", http={"url": "https://bit.ly/32447", "code": 308,
                                             "t": 1.1})
    .connect(REAL, 443, sni=EX, tls_failure="connection_reset", wait=0.01)
    .connect(REAL, 80, http={"url": f"http://{EX}/", "code": 0, "body": None,
                             "failure": "connection_reset", "t": 1.5})
    .ctrl(addrs=[BIT], **_ctrl_ok(BIT, name="bit.ly")),
    "redirectWithoutOtherResolvers": lambda: _msm(
        "redirectWithoutOtherResolvers", "https://bit.ly/1")
    .dns("bit.ly", [BIT]).dns(EX, [PROXY])
    .connect(BIT, 443, sni="bit.ly", http={"url": "https://bit.ly/1", "code": 302, "t": 1.1})
    .connect(PROXY, 443, sni=EX)
    .connect(PROXY, 80, http={"url": f"http://{EX}/", "body": "<title>Blocked</title>no",
                              "t": 1.5})
    .ctrl(addrs=[BIT], **_ctrl_ok(BIT, name="bit.ly")),
    "ghostDNSBlockingWithHTTP": lambda: _msm("ghostDNSBlockingWithHTTP", "http://itsat.info/")
    .dns("itsat.info", [GHOST]).dns("itsat.info", failure="dns_nxdomain_error", engine="doh",
                                     qtype="A")
    .connect(GHOST, 80, http={"url": "http://itsat.info/", "body": "<title>Blocked</title>"})
    .ctrl(dns_failure="dns_name_error", http={"failure": "dns_lookup_error",
                                              "status_code": -1}),
    "tcpBlockingConnectionRefusedWithInconsistentDNS": lambda: _msm(
        "tcpBlockingConnectionRefusedWithInconsistentDNS", f"http://{EXO}/")
    .dns(EXO, [GHOST]).dns(EXO, [REAL], engine="doh", qtype="A")
    .connect(GHOST, 80, "connection_refused").connect(GHOST, 443, "connection_refused")
    .connect(REAL, 443, sni=EXO).connect(REAL, 80, http=_ok(f"http://{EXO}/"))
    .ctrl(addrs=[REAL], **_ctrl_ok(REAL, name=EXO)),
    "tcpBlockingConnectTimeout": lambda: _msm("tcpBlockingConnectTimeout", f"https://{EX}/")
    .dns(EX, [REAL]).dns(EX, [REAL], engine="doh", qtype="A")
    .connect(REAL, 443, "generic_timeout_error").ctrl(addrs=[REAL], **_ctrl_ok(REAL)),
    "throttlingWithHTTPS": lambda: _msm("throttlingWithHTTPS", "https://largefile.com/")
    .dns("largefile.com", [LARGE]).dns("largefile.com", [LARGE], engine="doh", qtype="A")
    .connect(LARGE, 443, sni="largefile.com", http={
        "url": "https://largefile.com/", "body": "x" * 100_000,
        "failure": "generic_timeout_error", "t": 5.0})
    .ctrl(addrs=[LARGE], **_ctrl_ok(LARGE, name="largefile.com"),
          http={"body_length": 16_777_216, "title": ""}),
    "websiteDownNoAddrs": lambda: _msm("websiteDownNoAddrs", f"http://{EX}/")
    .dns(EX, failure="dns_no_answer").dns(EX, failure="dns_no_answer", engine="doh", qtype="A")
    .ctrl(addrs=[], http={"failure": "dns_lookup_error", "status_code": -1}),
    "websiteDownNXDOMAIN": lambda: _msm("websiteDownNXDOMAIN", "http://www.example.xyz/")
    .dns("www.example.xyz", failure="dns_nxdomain_error")
    .dns("www.example.xyz", failure="dns_nxdomain_error", engine="doh", qtype="A")
    .ctrl(dns_failure="dns_name_error", http={"failure": "dns_lookup_error",
                                              "status_code": -1}),
}


def synthetic_qa() -> dict[str, dict[str, Any]]:
    return {case: build().build() for case, build in SYNTHETIC.items()}


def samples() -> Batch:
    from censorscope.ingest.analyze_cli import iter_measurements

    return [(m, uid) for m, uid in iter_measurements([str(SAMPLES)])]


def uid_of(msm: dict[str, Any], uid: str | None) -> str:
    return uid or str(msm.get("measurement_uid") or msm.get("id") or msm.get("report_id") or "")


def facts_of_batch(batch: Batch) -> dict[str, tuple[MeasurementRow, list[ObservationRow]]]:
    out: dict[str, tuple[MeasurementRow, list[ObservationRow]]] = {}
    for msm, uid in batch:
        u = uid_of(msm, uid)
        out[u] = (measurement_row(msm, u), observe(msm, u))
    return out


def problems(batch: Batch, verdicts: Sequence[Verdict]) -> list[str]:
    """Every false statement of ``verdicts`` (the batch's), each prefixed with its test name
    and measurement uid."""
    rows = facts_of_batch(batch)
    out: list[str] = []
    for (msm, uid), v in zip(batch, verdicts, strict=True):
        meta, obs = rows[uid_of(msm, uid)]
        for p in check_verdict(v, Facts(meta, obs, msm, rows.get)):
            out.append(f"{meta.test_name} {meta.measurement_uid}: {p}")
    return out
