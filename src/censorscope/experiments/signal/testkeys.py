"""Signal's targets and OONI's verdict keys (``signal.go``, ``TestKeys.Update``).

``signal_backend_status`` starts ``ok``; any failing HTTPS target (DNS, TCP, TLS, HTTP; the
HTTP status does not count) makes it ``blocked`` with that target's failure in
``signal_backend_failure`` (the last one seen). The ``dnslookup://uptime.signal.org`` target
is recorded but ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any, Final

from censorscope.experiments.apps_common.getter import Output, Target

__all__ = ["SIGNAL_CA_FILE", "TEST_NAME", "TEST_VERSION", "UPTIME_HOST", "URLS", "summarise",
           "targets"]

TEST_NAME: Final = "signal"
TEST_VERSION: Final = "0.2.5"
URLS: Final = ("https://cdsi.signal.org/", "https://chat.signal.org/",
               "https://sfu.voip.signal.org/", "https://storage.signal.org/")
UPTIME_HOST: Final = "uptime.signal.org"
# the package's data files are plain files (the path is handed to OpenSSL)
SIGNAL_CA_FILE: Final = str(resources.files("censorscope.data").joinpath("signal", "signal_ca.pem"))


def targets(urls: Sequence[str], uptime_host: str) -> tuple[Target, ...]:
    """A GET of every URL, then the uptime lookup."""

    return (*(Target(u) for u in urls), Target(f"dnslookup://{uptime_host}"))


def summarise(outputs: Sequence[Output]) -> dict[str, Any]:
    """OONI's signal keys from the targets' outcomes."""

    status, failure = "ok", None
    for out in outputs:
        if out.target.scheme != "dnslookup" and out.failure is not None:
            status, failure = "blocked", out.failure
    return {"signal_backend_status": status, "signal_backend_failure": failure}
