"""Build Web Connectivity measurements (OONI df-000 dicts) step by step, for rule tests.

Only the archival keys the analysis reads are produced (queries, tcp_connect, tls_handshakes,
requests, network_events, control); the probe's own verdict keys are set to misleading values
on purpose, so a rule that read them would fail its test.
"""

from __future__ import annotations

from typing import Any

LAB = ("198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")


class Msm:
    """A measurement under construction; ``build()`` returns the dict."""

    def __init__(self, url: str, *, cc: str = "AZ", asn: int = 29049, uid: str = "m1",
                 report: str = "r1") -> None:
        self.url, self.cc, self.asn, self.uid, self.report = url, cc, asn, uid, report
        self.queries: list[dict[str, Any]] = []
        self.tcp: list[dict[str, Any]] = []
        self.tls: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.control: dict[str, Any] | None = None
        self._tid = 1

    def dns(self, host: str, answers: list[str] | None = None, *, failure: str | None = None,
            engine: str = "getaddrinfo", qtype: str = "ANY", asn: int = 0) -> Msm:
        self.queries.append({
            "hostname": host, "engine": engine, "query_type": qtype, "failure": failure,
            "resolver_address": "" if engine == "getaddrinfo" else "8.8.8.8:53",
            "transaction_id": self._next(), "t": 0.1 * len(self.queries),
            "answers": [{"answer_type": "AAAA" if ":" in a else "A",
                         ("ipv6" if ":" in a else "ipv4"): a, "asn": asn}
                        for a in (answers or [])] or None,
        })
        return self

    def _next(self) -> int:
        self._tid += 1
        return self._tid

    def connect(self, ip: str, port: int, failure: str | None = None, *,
                sni: str | None = None, tls_failure: str | None = None, wait: float = 2.0,
                no_verify: bool = False, http: dict[str, Any] | None = None) -> Msm:
        """A flow: TCP connect, optionally a TLS handshake (``sni``) and an HTTP exchange."""
        tid = self._next()
        t0 = 1.0
        self.tcp.append({"ip": ip, "port": port, "t": t0, "transaction_id": tid,
                         "status": {"failure": failure, "success": failure is None,
                                    "blocked": True}})
        self.events.append({"operation": "connect", "address": f"{ip}:{port}", "t": t0,
                            "failure": failure, "transaction_id": tid})
        if failure is not None:
            return self
        if sni is not None:
            self.events += [
                {"operation": "tls_handshake_start", "t": t0, "transaction_id": tid},
                {"operation": "write", "num_bytes": 517, "t": t0, "failure": None,
                 "transaction_id": tid},
            ]
            if tls_failure is None:
                self.events += [
                    {"operation": "read", "num_bytes": 4000, "t": t0 + 0.05, "failure": None,
                     "transaction_id": tid},
                    {"operation": "tls_handshake_done", "t": t0 + 0.05, "transaction_id": tid},
                ]
            else:
                self.events.append({"operation": "read", "t": t0 + wait, "failure": tls_failure,
                                    "transaction_id": tid})
            self.tls.append({
                "address": f"{ip}:{port}", "server_name": sni, "failure": tls_failure,
                "no_tls_verify": no_verify, "transaction_id": tid,
                "t": t0 + (wait if tls_failure else 0.05),
                "peer_certificates": None if tls_failure else [{"format": "base64",
                                                                "data": "AA=="}],
            })
            if tls_failure is not None:
                return self
        if http is not None:
            self.requests.insert(0, {
                "address": f"{ip}:{port}", "transaction_id": tid,
                "t": http.get("t", t0 + 0.2), "failure": http.get("failure"),
                "request": {"url": http["url"], "method": "GET", "headers": {}},
                "response": {"code": http.get("code", 200), "headers": http.get("headers", {}),
                             "body": http.get("body", ""),
                             "body_is_truncated": http.get("truncated", False)},
            })
        return self

    def ctrl(self, *, addrs: list[str] | None = None, dns_failure: str | None = None,
             tcp: dict[str, tuple[bool, str | None]] | None = None,
             tls: dict[str, tuple[bool, str | None, str]] | None = None,
             http: dict[str, Any] | None = None) -> Msm:
        self.control = {
            "dns": {"addrs": addrs or [], "failure": dns_failure},
            "tcp_connect": {a: {"status": ok, "failure": f} for a, (ok, f) in
                            (tcp or {}).items()},
            "tls_handshake": {a: {"status": ok, "failure": f, "server_name": s}
                              for a, (ok, f, s) in (tls or {}).items()},
            "http_request": {"failure": None, "status_code": 200, "body_length": 1000,
                             "title": "Example Domain", "headers": {}, **(http or {})},
        }
        return self

    def build(self) -> dict[str, Any]:
        return {
            "measurement_uid": self.uid, "report_id": self.report, "input": self.url,
            "test_name": "web_connectivity", "test_version": "0.5.28",
            "probe_cc": self.cc, "probe_asn": f"AS{self.asn}",
            "measurement_start_time": "2022-09-14 12:30:00",
            "test_keys": {
                "queries": self.queries, "tcp_connect": self.tcp,
                "tls_handshakes": self.tls, "requests": self.requests,
                "network_events": self.events, "control": self.control,
                # misleading probe verdict keys: the analysis must never read them
                "blocking": "tcp_ip", "accessible": True, "dns_consistency": "inconsistent",
                "x_blocking_flags": 255, "body_length_match": False, "status_code_match": False,
                "headers_match": False, "title_match": False, "body_proportion": 0.0,
            },
        }


PAGE = "<html><head><title>Example Domain</title></head><body>" + "x" * 900 + "</body></html>"
