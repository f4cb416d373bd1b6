"""The verdict points detection reads from a store (``read_points``): the latest verdict, the
service a measurement measured, its failing endpoints and TLS handshakes from the probe's
observation rows, whether the control answered — on DuckDB and ClickHouse."""

from __future__ import annotations

from datetime import timedelta

from detectkit import T0, measurement, observation, verdict

from censorscope.ingest.detection import read_points
from censorscope.store.base import Store
from censorscope.store.detections import DetectionWindow


def _service_rows(uid: str) -> list[object]:
    ip = "198.51.100.7"
    return [
        observation(uid, 0, transaction_id=1, hostname="www.tiktok.com", ip=ip, port=443,
                    tcp_success=True, tls_server_name="www.tiktok.com",
                    tls_failure="generic_timeout_error", tls_success=False,
                    tls_handshake_write_count=1),
        observation(uid, 1, transaction_id=2, hostname="m.tiktok.com", ip=ip, port=443,
                    tcp_success=True, tls_server_name="m.tiktok.com", tls_success=True,
                    http_request_url="https://m.tiktok.com/", http_success=True,
                    http_response_status_code=200),
        observation(uid, 2, transaction_id=3, hostname="v16.tiktokcdn.com",
                    dns_failure="dns_nxdomain_error"),
    ]


def test_points_from_rows(store: Store) -> None:
    ms = [measurement("svc", T0, test_name="service", domain="tiktok", input_="TikTok"),
          measurement("web", T0 + timedelta(minutes=1)),
          measurement("tg", T0 + timedelta(minutes=2), test_name="telegram", domain=None,
                      input_=None),
          measurement("down", T0 + timedelta(minutes=3), domain="a.example"),
          measurement("sni", T0 + timedelta(minutes=4), test_name="tls_sni")]
    obs = [*_service_rows("svc"),
           observation("web", 0, ip="198.51.100.7", port=443, tcp_success=True,
                       tls_server_name="www.tiktok.com", tls_failure="connection_reset",
                       tls_success=False),
           observation("web", 1, "control", ip="198.51.100.7", port=443, tcp_success=True,
                       tls_server_name="www.tiktok.com", tls_success=True),
           observation("sni", 0, ip="198.51.100.7", port=443, tcp_success=True,
                       tls_server_name="example.org", tls_success=True),
           observation("sni", 1, ip="198.51.100.7", port=443, tcp_success=True,
                       tls_server_name="www.tiktok.com", tls_failure="connection_reset",
                       tls_success=False)]
    vs = [verdict("svc", "blocked", "tls"), verdict("web", "blocked", "tls"),
          verdict("tg", "ok"), verdict("down", "down", "tcp"), verdict("sni", "ok")]
    store.write_batch(ms, obs, vs)
    points = {p.measurement_uid: p for p in read_points(store, DetectionWindow(), batch=2)}
    assert list(points) == ["svc", "web", "tg", "down", "sni"]
    svc = points["svc"]
    assert (svc.service, svc.domain, svc.outcome) == ("tiktok", None, "blocked")
    assert svc.endpoints == ("v16.tiktokcdn.com", "www.tiktok.com")
    assert svc.handshakes == (("198.51.100.7", "www.tiktok.com", "generic_timeout_error"),
                              ("198.51.100.7", "m.tiktok.com", "ok"))
    web = points["web"]
    assert (web.service, web.endpoints, web.control_ok) == (None, ("www.tiktok.com",), True)
    assert web.handshakes == (("198.51.100.7", "www.tiktok.com", "connection_reset"),)
    assert (points["tg"].service, points["tg"].endpoints, points["tg"].control_ok) == (
        "telegram", (), None)
    assert points["down"].control_ok is False  # failed for the control too
    assert points["down"].endpoints == ()
    assert points["sni"].handshakes == (("198.51.100.7", "example.org", "ok"),
                                        ("198.51.100.7", "www.tiktok.com", "connection_reset"))
    assert points["sni"].probe_network_name == "Delta Telecom"
