"""Scorers of the instant-messaging tests: telegram, whatsapp, signal, facebook_messenger.

All four decide from the observation rows (the probe's DNS answers, TCP connects, TLS
handshakes and HTTP transactions), never from the probe's ``*_blocking`` / ``*_status`` keys.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Final

from censorscope.model.evidence import Evidence
from censorscope.model.rows import ObservationRow
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.evidence import say
from censorscope.pipeline.rules import MESSAGING

from .support import (
    Decider,
    Failure,
    answered,
    connected,
    describe_failure,
    dominant,
    probe_rows,
    row_failure,
    url_host,
)

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["facebook_rows", "score_facebook_messenger", "score_signal", "score_telegram",
           "score_whatsapp", "signal_rows", "status_codes", "telegram_rows", "whatsapp_rows"]

decide = Decider(MESSAGING)

# Telegram's data-centre networks (AS62041/AS59930/AS62014/AS211157 announcements)
_TELEGRAM_NETS: Final = tuple(ipaddress.ip_network(n) for n in (
    "149.154.160.0/20", "91.108.4.0/22", "91.108.8.0/22", "91.108.12.0/22",
    "91.108.16.0/22", "91.108.56.0/22", "95.161.64.0/20", "2001:67c:4e8::/48",
    "2001:b28:f23d::/48", "2001:b28:f23f::/48"))


def _in_nets(ip: str | None, nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
             ) -> bool:
    if not ip:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in n for n in nets)


def _host(row: ObservationRow) -> str | None:
    return (url_host(row.http_request_url) or row.tls_server_name or row.hostname or "").lower() \
        or None


def status_codes(rows: list[ObservationRow]) -> list[int]:
    """The HTTP status codes the rows' answered transactions got (sorted, distinct)."""
    return sorted({r.http_response_status_code or 0 for r in rows if answered(r)})


def _first_failures(rows: list[ObservationRow]) -> list[tuple[ObservationRow, Failure]]:
    out = []
    for r in rows:
        f = row_failure(r)
        if f is not None:
            out.append((r, f))
    return out


def _service_failure(rows: list[ObservationRow]) -> tuple[ObservationRow, Failure] | None:
    """For the rows of one service: None if any HTTP transaction got a response, else the
    earliest-layer failure seen (DNS before TCP before TLS before HTTP)."""
    if any(answered(r) for r in rows):
        return None
    failed = _first_failures(rows)
    if not failed:
        return None
    order = {"dns": 0, "tcp": 1, "tls": 2, "http": 3}
    return min(failed, key=lambda rf: order[rf[1][0]])


def _dc_post(row: ObservationRow) -> bool:
    """A data-centre access as OONI tells them apart: an HTTP request that is not a GET (the
    test POSTs to every data centre, whatever its address)."""
    return (row.http_request_method or "GET").upper() != "GET"


def telegram_rows(rows: list[ObservationRow]) -> tuple[
        list[ObservationRow], list[ObservationRow], list[ObservationRow]]:
    """(``web.telegram.org`` rows, data-centre TCP connects, data-centre HTTP POSTs) of the
    probe's rows. Data-centre rows are in Telegram's networks, carry a POST or connect to the
    address a POST went to."""
    web = [r for r in rows if _host(r) == "web.telegram.org"]
    web_ids = {id(r) for r in web}
    posted = {url_host(r.http_request_url) for r in rows if _dc_post(r)} - {None}
    dc_tcp = [r for r in rows if r.tcp_success is not None and id(r) not in web_ids and (
        _in_nets(r.ip, _TELEGRAM_NETS) or _dc_post(r) or r.ip in posted)]
    dc_http = [r for r in rows if r.http_success is not None and id(r) not in web_ids and (
        _in_nets(url_host(r.http_request_url), _TELEGRAM_NETS) or _in_nets(r.ip, _TELEGRAM_NETS)
        or r.http_request_url is None or _dc_post(r))]
    return web, dc_tcp, dc_http


@register("telegram")
def score_telegram(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Data centres: blocked when every TCP connect fails, or every HTTP POST fails; then
    ``web.telegram.org``. Legacy measurements whose POSTs carry no URL count them as DC
    POSTs (the web GET always has its URL)."""
    web, dc_tcp, dc_http = telegram_rows(probe_rows(subject))
    if not dc_tcp and not dc_http and not web:
        return decide(subject, ctx, "test.no_data", evidence=(say("telegram.none"),))
    evidence: list[Evidence] = []
    if dc_tcp:
        ok = [r for r in dc_tcp if r.tcp_success]
        evidence.append(say("telegram.dc_tcp", ok=len(ok), total=len(dc_tcp)))
        if not ok:
            fails = [(r, f) for r, f in _first_failures(dc_tcp)]
            dom = dominant(f for _, f in fails)
            evidence += [describe_failure(r, f) for r, f in fails[:6]]
            return decide(subject, ctx, "telegram.dc.unreachable", failure=dom, evidence=evidence)
    if dc_http:
        ok = [r for r in dc_http if r.http_success]
        evidence.append(say("telegram.dc_http", ok=len(ok), total=len(dc_http)))
        if not ok:
            fails = _first_failures(dc_http)
            dom = dominant(f for _, f in fails)
            evidence += [describe_failure(r, f) for r, f in fails[:6]]
            return decide(subject, ctx, "telegram.dc.http_failed",
                          failure=("http", dom[1]) if dom else None, evidence=evidence)
    if web:
        bad = _service_failure(web)
        if bad is not None:
            evidence.append(describe_failure(*bad))
            return decide(subject, ctx, "telegram.web.failed", failure=bad[1], evidence=evidence)
        codes = status_codes(web)
        evidence.append(say("telegram.web_answered", status_codes=codes) if codes
                        else say("telegram.web_connected"))
    return decide(subject, ctx, "telegram.ok", evidence=evidence)


_WA_ENDPOINT: Final = re.compile(r"^e\d+\.whatsapp\.net$")


WHATSAPP_REGISTRATION: Final = "https://v.whatsapp.net/v2/register"
WHATSAPP_WEB: Final = "https://web.whatsapp.com/"


def whatsapp_rows(rows: list[ObservationRow]) -> tuple[
        list[ObservationRow], list[ObservationRow], list[ObservationRow]]:
    """(endpoint rows ``eN.whatsapp.net`` or port 5222, registration rows, web rows)."""
    ep = [r for r in rows if _WA_ENDPOINT.match(r.hostname or "") or r.port == 5222]
    reg = [r for r in rows if _host(r) == url_host(WHATSAPP_REGISTRATION)]
    web = [r for r in rows if _host(r) == url_host(WHATSAPP_WEB)]
    return ep, reg, web


@register("whatsapp")
def score_whatsapp(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Endpoints ``eN.whatsapp.net`` (TCP 443/5222): blocked if none connects (or none
    resolves); registration (``v.whatsapp.net``) and web (``web.whatsapp.com``): blocked if
    they fail before any HTTP response (the status code is not a blocking signal — a 400 from
    web.whatsapp.com to a non-browser client is normal)."""
    ep, reg, web = whatsapp_rows(probe_rows(subject))
    ep_tcp = [r for r in ep if r.tcp_success is not None]
    if not ep and not reg and not web:
        return decide(subject, ctx, "test.no_data", evidence=(say("whatsapp.none"),))
    evidence: list[Evidence] = []
    if ep:
        ok = [r for r in ep_tcp if r.tcp_success]
        evidence.append(say("whatsapp.endpoints_tcp", ok=len(ok), total=len(ep_tcp)))
        if not ok:
            fails = _first_failures(ep)
            dom = dominant(f for _, f in fails)
            evidence += [describe_failure(r, f) for r, f in fails[:6]]
            return decide(subject, ctx, "whatsapp.endpoints.unreachable", failure=dom,
                          evidence=evidence)
    for rows_of, rule, name in ((reg, "whatsapp.registration.failed", WHATSAPP_REGISTRATION),
                                (web, "whatsapp.web.failed", WHATSAPP_WEB)):
        if not rows_of:
            continue
        bad = _service_failure(rows_of)
        if bad is not None:
            evidence.append(describe_failure(*bad))
            return decide(subject, ctx, rule, failure=bad[1], evidence=evidence)
        codes = status_codes(rows_of)
        evidence.append(say("whatsapp.answered", url=name, status_codes=codes) if codes
                        else say("whatsapp.connected", url=name))
    return decide(subject, ctx, "whatsapp.ok", evidence=evidence)


def _version(text: str | None) -> tuple[int, ...]:
    parts = []
    for p in (text or "").split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def signal_rows(rows: list[ObservationRow]) -> tuple[list[ObservationRow],
                                                     dict[str, list[ObservationRow]]]:
    """The Signal rows (without the bare ``uptime.signal.org`` lookup) and them by host."""
    rows = [r for r in rows if _host(r) != "uptime.signal.org"]
    by_host: dict[str, list[ObservationRow]] = {}
    for r in rows:
        host = _host(r)
        if host:
            by_host.setdefault(host, []).append(r)
    return rows, by_host


@register("signal")
def score_signal(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Every Signal HTTPS endpoint must answer. ``uptime.signal.org`` (a bare DNS lookup) is
    ignored as in the probe. Known probe artefacts give ``insufficient``: Android's
    ``android_dns_cache_no_data``, and ``ssl_unknown_authority`` before test 0.2.2 (the probe
    did not trust Signal's private CA)."""
    rows, by_host = signal_rows(probe_rows(subject))
    if not any(r.http_success is not None for r in rows):
        return decide(subject, ctx, "test.no_data", evidence=(say("signal.none"),))
    failing = {h: bad for h, rs in by_host.items() if (bad := _service_failure(rs)) is not None}
    hosts_ok = sorted(h for h, rs in by_host.items() if any(answered(r) for r in rs))
    evidence = [say("signal.answered", hosts=hosts_ok)] if hosts_ok else []
    evidence += [describe_failure(*bad) for bad in failing.values()]
    if not failing:
        return decide(subject, ctx, "signal.ok", evidence=evidence)
    kinds = {f[1] for _, f in failing.values()}
    if kinds == {"android_dns_cache_no_data"}:
        return decide(subject, ctx, "signal.android_dns_no_data", evidence=evidence)
    if kinds == {"ssl_unknown_authority"} and _version(subject.meta.test_version) < (0, 2, 2):
        return decide(subject, ctx, "signal.old_probe_ca", evidence=evidence)
    dom = dominant(f for _, f in failing.values() if f[1] != "android_dns_cache_no_data")
    return decide(subject, ctx, "signal.failed", failure=dom, evidence=evidence)


_FB_SERVICES: Final = frozenset({
    "b-api.facebook.com", "b-graph.facebook.com", "edge-mqtt.facebook.com",
    "external.xx.fbcdn.net", "scontent.xx.fbcdn.net", "star.c10r.facebook.com",
    "stun.fbsbx.com"})
FACEBOOK_AS: Final = 32934


def facebook_rows(rows: list[ObservationRow]) -> list[ObservationRow]:
    """The rows of the Facebook services' lookups and connects."""
    return [r for r in rows if (r.hostname or "").lower() in _FB_SERVICES]


def verified_tls(rows: list[ObservationRow]) -> set[tuple[str | None, str]]:
    """(ip, server name) of the handshakes with a verified certificate among ``rows``."""
    return {(r.ip, (r.tls_server_name or "").lower()) for r in rows
            if r.ip and r.tls_success and r.tls_no_verify is not True}


@register("facebook_messenger")
def score_facebook_messenger(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """DNS: every answer of a Facebook service must be in AS32934, unless the IP completed a
    TLS handshake with a valid certificate for that name (in this measurement or any the
    context saw from the same network — Facebook also serves from other networks' caches);
    bogons and failed lookups are blocking. TCP: a consistent answer whose connect fails is
    blocking."""
    rows = facebook_rows(probe_rows(subject))
    if not rows:
        return decide(subject, ctx, "test.no_data", evidence=(say("fbm.none"),))
    verified = verified_tls(probe_rows(subject))
    inconsistent: list[Evidence] = []
    bad_ips: set[str] = set()
    for r in rows:
        host = (r.hostname or "").lower()
        if r.dns_failure:
            return decide(subject, ctx, "fbm.dns.failure", failure=("dns", r.dns_failure),
                          evidence=(describe_failure(r, ("dns", r.dns_failure)),))
        ip = r.dns_answer if r.dns_answer_type in ("A", "AAAA") else None
        if not ip:
            continue
        # the context knows the ranges counted as public (--public-range, --lab)
        if ctx.is_bogon(ip) if ctx is not None else r.ip_is_bogon:
            return decide(subject, ctx, "fbm.dns.bogon", evidence=(say(
                "fbm.bogon", observation=r.observation_idx, hostname=host, ip=ip),))
        asn = ctx.asn(ip, r.dns_answer_asn) if ctx is not None else (r.dns_answer_asn or 0)
        if not asn or asn == FACEBOOK_AS:
            continue
        if (ip, host) in verified or (
                ctx is not None and ctx.valid_tls_for(subject.meta.probe_asn, ip, host)):
            continue
        inconsistent.append(say("fbm.outside_as", observation=r.observation_idx,
                                hostname=host, ip=ip, asn=asn, facebook_asn=FACEBOOK_AS))
        bad_ips.add(ip)
    if inconsistent:
        return decide(subject, ctx, "fbm.dns.outside_as32934", evidence=inconsistent[:6])
    tcp_fail = [r for r in rows if r.tcp_success is False and r.ip not in bad_ips]
    tcp_all = [r for r in rows if r.tcp_success is not None]
    if tcp_fail:
        dom = dominant(("tcp", r.tcp_failure or "unknown_failure") for r in tcp_fail)
        return decide(subject, ctx, "fbm.tcp.failed", failure=dom, evidence=[
            describe_failure(r, ("tcp", r.tcp_failure or "unknown_failure"))
            for r in tcp_fail[:6]])
    hosts = sorted({(r.hostname or "").lower() for r in rows})
    return decide(subject, ctx, "fbm.ok", evidence=(
        say("fbm.services", services=len(hosts)),
        say("fbm.connects", ok=sum(1 for r in tcp_all if r.tcp_success), total=len(tcp_all)),
        *(connected(r) for r in tcp_all[:3] if r.tcp_success)))
