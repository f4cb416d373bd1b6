"""The control (test helper) call of Web Connectivity: the request, the call, the result.

The request is OONI's ``x_control_request``: the URL, the three browser-like headers and, for
every address the probe resolved, ``addr:PORT`` when the URL has an explicit port, otherwise
both ``addr:443`` and ``addr:80`` whatever the scheme. The call itself is
``censorscope.net.control_client.call_control`` (in ``net``, not ``control``: experiments
never import the control server's package); a failure becomes ``control_failure``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from censorscope.model import failures as F
from censorscope.model.endpoint import join_host_port
from censorscope.net.control_client import call_control
from censorscope.net.errors import NetError, scrub_ips

from .options import ACCEPT, ACCEPT_LANGUAGE, WebConnectivityOptions

__all__ = ["ControlOutcome", "build_control_request", "run_control"]

NO_HELPERS = "unknown_failure: no available helpers"


def build_control_request(url: str, addrs: list[str], user_agent: str) -> dict[str, Any]:
    """``x_control_request`` for ``url`` and the probe's merged addresses."""

    port = urlsplit(url).port
    endpoints: list[str] = []
    for addr in addrs:
        if port is not None:
            endpoints.append(join_host_port(addr, port))
        else:
            endpoints.append(join_host_port(addr, 443))
            endpoints.append(join_host_port(addr, 80))
    return {
        "http_request": url,
        "http_request_headers": {
            "Accept": [ACCEPT],
            "Accept-Language": [ACCEPT_LANGUAGE],
            "User-Agent": [user_agent],
        },
        "tcp_connect": endpoints,
        "x_quic_enabled": False,
    }


@dataclass
class ControlOutcome:
    """What the control call produced: a response or a failure string."""

    control: dict[str, Any] | None
    failure: str | None


def _failure_of(exc: Exception) -> str:
    failure = getattr(exc, "failure", None)
    if isinstance(failure, str) and failure:
        return failure
    text = scrub_ips(str(exc).strip()) or type(exc).__name__
    return text if text.startswith(F.UNKNOWN_FAILURE_PREFIX) else F.UNKNOWN_FAILURE_PREFIX + text


async def run_control(
    request: dict[str, Any], options: WebConnectivityOptions
) -> ControlOutcome:
    """Send ``request`` to the configured control; never raises for network reasons."""

    if not options.control_url:
        return ControlOutcome(None, NO_HELPERS)
    try:
        async with asyncio.timeout(options.timeouts.control):
            response = await call_control(
                options.control_url,
                request,
                timeout=options.timeouts.control,
                ca_file=options.control_ca_file or options.ca_file,
                connect_ip=options.control_connect_ip,
                user_agent=options.control_user_agent,
            )
    except TimeoutError:
        return ControlOutcome(None, F.GENERIC_TIMEOUT_ERROR)
    except NetError as exc:
        return ControlOutcome(None, exc.failure)
    except Exception as exc:  # ControlError and anything unexpected: still a measurement
        return ControlOutcome(None, _failure_of(exc))
    if not isinstance(response, dict):
        return ControlOutcome(None, F.UNKNOWN_FAILURE_PREFIX + "control response is not an object")
    return ControlOutcome(response, None)
