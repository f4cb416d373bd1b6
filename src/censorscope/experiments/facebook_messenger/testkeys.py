"""Facebook Messenger's services and OONI's verdict keys (``fbmessenger.go``,
``ComputeEndpointStatus``).

Per service: a failed lookup → ``facebook_<svc>_dns_consistent`` false and
``facebook_dns_blocking`` true; an A/AAAA answer outside AS32934 → the same; otherwise DNS is
consistent and a failed connect → ``facebook_<svc>_reachable`` false and
``facebook_tcp_blocking`` true, else reachable. ``reachable`` stays null when DNS was not
consistent and always for ``stun`` (a lookup only). Both globals end false when nothing set
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from censorscope.experiments.apps_common.getter import Output, Target
from censorscope.model import failures as F
from censorscope.model.endpoint import join_host_port

__all__ = ["FACEBOOK_ASN", "SERVICES", "TEST_NAME", "TEST_VERSION", "summarise", "targets"]

TEST_NAME: Final = "facebook_messenger"
TEST_VERSION: Final = "0.2.1"
FACEBOOK_ASN: Final = 32934
# key of the service in the test keys -> its host name; stun is looked up only
SERVICES: Final = {
    "stun": "stun.fbsbx.com",
    "b_api": "b-api.facebook.com",
    "b_graph": "b-graph.facebook.com",
    "edge": "edge-mqtt.facebook.com",
    "external_cdn": "external.xx.fbcdn.net",
    "scontent_cdn": "scontent.xx.fbcdn.net",
    "star": "star.c10r.facebook.com",
}
LOOKUP_ONLY: Final = frozenset({"stun"})


def targets(hosts: dict[str, str], port: int) -> tuple[Target, ...]:
    """One target per service, in ``SERVICES`` order."""

    return tuple(
        Target(f"dnslookup://{hosts[svc]}") if svc in LOOKUP_ONLY
        else Target(f"tcpconnect://{join_host_port(hosts[svc], port)}")
        for svc in SERVICES)


def _dns_consistent(out: Output) -> bool:
    if out.failed_operation == F.RESOLVE:
        return False
    return all(answer.get("asn") == FACEBOOK_ASN
               for query in out.queries for answer in query.get("answers") or []
               if answer.get("ipv4") or answer.get("ipv6"))


def summarise(outputs: Sequence[Output]) -> dict[str, Any]:
    """OONI's facebook_messenger keys; ``outputs`` in ``SERVICES`` order, answers annotated."""

    keys: dict[str, Any] = {}
    dns_blocking = tcp_blocking = False
    for svc, out in zip(SERVICES, outputs, strict=True):
        consistent = _dns_consistent(out)
        reachable: bool | None = None
        if not consistent:
            dns_blocking = True
        elif svc not in LOOKUP_ONLY:
            reachable = out.failed_operation != F.CONNECT
            tcp_blocking = tcp_blocking or not reachable
        keys[f"facebook_{svc}_dns_consistent"] = consistent
        keys[f"facebook_{svc}_reachable"] = reachable
    keys["facebook_dns_blocking"] = dns_blocking
    keys["facebook_tcp_blocking"] = tcp_blocking
    return keys
