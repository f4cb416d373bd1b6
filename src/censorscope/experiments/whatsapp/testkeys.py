"""WhatsApp's targets and OONI's verdict keys (``whatsapp.go``, ``TestKeys.Update``).

Every status starts ``blocked`` with failure ``unknown_failure``. One endpoint connect that
succeeds makes ``whatsapp_endpoints_status`` ``ok``; an endpoint host failing on both ports is
listed in ``whatsapp_endpoints_blocked``. The registration service and the web client are
``ok`` unless their GET fails (DNS, TCP, TLS, I/O): the HTTP status does not count.
``whatsapp_endpoints_dns_inconsistent`` is a legacy key, always empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from censorscope.experiments.apps_common.getter import Output, Target
from censorscope.model.endpoint import join_host_port

__all__ = ["ENDPOINTS", "ENDPOINT_PORTS", "REGISTRATION_URL", "TEST_NAME", "TEST_VERSION",
           "WEB_URL", "summarise", "targets"]

TEST_NAME: Final = "whatsapp"
TEST_VERSION: Final = "0.11.0"
ENDPOINTS: Final = tuple(f"e{i}.whatsapp.net" for i in range(1, 17))
ENDPOINT_PORTS: Final = (443, 5222)
REGISTRATION_URL: Final = "https://v.whatsapp.net/v2/register"
WEB_URL: Final = "https://web.whatsapp.com/"
_UNKNOWN: Final = "unknown_failure"  # OONI's initial failure of every service


def targets(endpoints: Sequence[str], ports: Sequence[int], registration_url: str,
            web_url: str) -> tuple[Target, ...]:
    """``tcpconnect://`` every endpoint on every port, then registration and web."""

    connects = [Target(f"tcpconnect://{join_host_port(host, port)}")
                for host in endpoints for port in ports]
    return (*connects, Target(registration_url), Target(web_url))


def summarise(outputs: Sequence[Output], registration_url: str, web_url: str
              ) -> dict[str, Any]:
    """OONI's whatsapp keys from the targets' outcomes."""

    keys: dict[str, Any] = {
        "registration_server_failure": _UNKNOWN,
        "registration_server_status": "blocked",
        "whatsapp_endpoints_blocked": [],
        "whatsapp_endpoints_dns_inconsistent": [],
        "whatsapp_endpoints_status": "blocked",
        "whatsapp_web_failure": _UNKNOWN,
        "whatsapp_web_status": "blocked",
    }
    failed: dict[str, int] = {}
    for out in outputs:
        if out.target.scheme == "tcpconnect":
            if out.failure is None:
                keys["whatsapp_endpoints_status"] = "ok"
                continue
            host = urlsplit(out.target.url).hostname or ""
            failed[host] = failed.get(host, 0) + 1
            if failed[host] == 2:
                keys["whatsapp_endpoints_blocked"].append(host)
            continue
        prefix = {registration_url: "registration_server", web_url: "whatsapp_web"}.get(
            out.target.url)
        if prefix is not None:
            keys[f"{prefix}_failure"] = out.failure
            keys[f"{prefix}_status"] = "ok" if out.failure is None else "blocked"
    return keys
