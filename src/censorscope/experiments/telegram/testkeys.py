"""Telegram's targets and OONI's verdict keys (``telegram.go``, ``TestKeys.Update``).

``telegram_http_blocking`` and ``telegram_tcp_blocking`` start true: any data centre answering
a POST makes both false, a POST failing after its connect makes ``telegram_tcp_blocking``
false. ``telegram_web_status`` is ``blocked`` (with ``telegram_web_failure``) when the GET of
the web site fails, including an HTTP status from 400 on (``FailOnHTTPError``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from censorscope.experiments.apps_common.getter import Output, Target
from censorscope.model import failures as F
from censorscope.model.endpoint import join_host_port

__all__ = ["DATA_CENTRES", "DC_PORTS", "TEST_NAME", "TEST_VERSION", "WEB_URL", "summarise",
           "targets"]

TEST_NAME: Final = "telegram"
TEST_VERSION: Final = "0.3.1"
DATA_CENTRES: Final = ("149.154.175.50", "149.154.167.51", "149.154.175.100",
                       "149.154.167.91", "149.154.171.5", "95.161.76.100")
DC_PORTS: Final = (80, 443)
WEB_URL: Final = "https://web.telegram.org/"


def targets(data_centres: Sequence[str], ports: Sequence[int], web_url: str
            ) -> tuple[Target, ...]:
    """A POST to ``http://DC[:PORT]/`` for each data centre and port, then the web GET."""

    posts = [Target(f"http://{join_host_port(dc, None if port == 80 else port)}/", "POST")
             for dc in data_centres for port in ports]
    web = Target(web_url, "GET", fail_on_http_error=True)
    return (*posts, web)


def summarise(outputs: Sequence[Output]) -> dict[str, Any]:
    """OONI's telegram keys from the targets' outcomes."""

    http_blocking = tcp_blocking = True
    web_status, web_failure = "ok", None
    for out in outputs:
        if out.target.method != "GET":
            if out.failure is None:
                http_blocking = tcp_blocking = False
            elif out.failed_operation != F.CONNECT:
                tcp_blocking = False
        elif web_status == "ok" and out.failure is not None:
            web_status, web_failure = "blocked", out.failure
    return {
        "telegram_http_blocking": http_blocking,
        "telegram_tcp_blocking": tcp_blocking,
        "telegram_web_failure": web_failure,
        "telegram_web_status": web_status,
    }
