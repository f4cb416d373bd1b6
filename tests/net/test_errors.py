"""Classification of Python exceptions into OONI failure strings (censorscope.net.errors)."""

from __future__ import annotations

import errno
import socket
import ssl

import pytest

from censorscope.model import failures as F
from censorscope.net.errors import NetError, classify_error, scrub_ips


def _cert_error(code: int) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_code = code
    return exc


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (TimeoutError(), F.GENERIC_TIMEOUT_ERROR),
        (TimeoutError(errno.ETIMEDOUT, "Connection timed out"), F.TIMED_OUT),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), F.CONNECTION_REFUSED),
        (ConnectionResetError(errno.ECONNRESET, "reset"), F.CONNECTION_RESET),
        (ConnectionResetError(), F.CONNECTION_RESET),
        (OSError(errno.EHOSTUNREACH, "no route"), F.HOST_UNREACHABLE),
        (OSError(errno.ENETUNREACH, "unreachable"), F.NETWORK_UNREACHABLE),
        (EOFError(), F.EOF_ERROR),
        (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), F.EOF_ERROR),
        (_cert_error(62), F.SSL_INVALID_HOSTNAME),
        (_cert_error(64), F.SSL_INVALID_HOSTNAME),
        (_cert_error(20), F.SSL_UNKNOWN_AUTHORITY),
        (_cert_error(19), F.SSL_UNKNOWN_AUTHORITY),
        (_cert_error(18), F.SSL_UNKNOWN_AUTHORITY),
        (_cert_error(21), F.SSL_UNKNOWN_AUTHORITY),
        (_cert_error(2), F.SSL_UNKNOWN_AUTHORITY),
        (_cert_error(10), F.SSL_INVALID_CERTIFICATE),
        (_cert_error(9), F.SSL_INVALID_CERTIFICATE),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), F.DNS_NXDOMAIN_ERROR),
        (socket.gaierror(socket.EAI_NODATA, "No address"), F.DNS_NO_ANSWER),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), F.DNS_TEMPORARY_FAILURE),
        (socket.gaierror(socket.EAI_FAIL, "Non-recoverable"), F.DNS_NON_RECOVERABLE_FAILURE),
    ],
)
def test_classify_maps_exceptions_to_ooni_failures(exc: BaseException, failure: str) -> None:
    err = classify_error(exc, F.CONNECT)
    assert err.failure == failure
    assert err.operation == F.CONNECT
    assert err.cause is exc


def test_classify_passes_net_errors_through() -> None:
    original = NetError(F.CONNECTION_RESET, F.READ)
    assert classify_error(original, F.TLS_HANDSHAKE) is original


def test_unknown_failures_keep_the_message_with_ips_scrubbed() -> None:
    err = classify_error(ValueError("cannot reach 10.1.2.3:443 nor [2001:db8::1]:80"), F.CONNECT)
    assert err.failure == "unknown_failure: cannot reach [scrubbed]:443 nor [[scrubbed]]:80"
    assert F.UNKNOWN_FAILURE_PREFIX in classify_error(RuntimeError(), F.READ).failure


def test_scrub_ips_leaves_non_addresses_alone() -> None:
    assert scrub_ips("version 1.2.3 at 12:30, host 192.0.2.7.") == (
        "version 1.2.3 at 12:30, host [scrubbed]."
    )
