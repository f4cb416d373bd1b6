"""Classify every I/O error, once, into an OONI failure string (df-007) plus the operation.

``classify_error`` is the only place in censorscope where Python exceptions are turned into
failure strings; everything above ``net`` compares ``NetError.failure`` strings.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
import ssl
from asyncio import IncompleteReadError
from typing import Any

from censorscope.model import failures as F

__all__ = ["NetError", "classify_error", "scrub_ips"]

_ERRNO_FAILURES: dict[int, str] = {
    errno.ECONNREFUSED: F.CONNECTION_REFUSED,
    errno.ECONNRESET: F.CONNECTION_RESET,
    errno.ECONNABORTED: F.CONNECTION_ABORTED,
    errno.EHOSTUNREACH: F.HOST_UNREACHABLE,
    errno.ENETUNREACH: F.NETWORK_UNREACHABLE,
    errno.ENETDOWN: F.NETWORK_DOWN,
    errno.ENETRESET: "network_reset",
    errno.ETIMEDOUT: F.TIMED_OUT,
    errno.EAFNOSUPPORT: F.ADDRESS_FAMILY_NOT_SUPPORTED,
    errno.EADDRINUSE: "address_in_use",
    errno.EADDRNOTAVAIL: F.ADDRESS_NOT_AVAILABLE,
    errno.EISCONN: "already_connected",
    errno.EFAULT: "bad_address",
    errno.EBADF: "bad_file_descriptor",
    errno.EALREADY: "connection_already_in_progress",
    errno.EDESTADDRREQ: "destination_address_required",
    errno.EINTR: F.INTERRUPTED,
    errno.EINVAL: "invalid_argument",
    errno.EMSGSIZE: "message_size",
    errno.ENOBUFS: "no_buffer_space",
    errno.ENOPROTOOPT: "no_protocol_option",
    errno.ENOTSOCK: "not_a_socket",
    errno.ENOTCONN: "not_connected",
    errno.EWOULDBLOCK: "operation_would_block",
    errno.EACCES: F.PERMISSION_DENIED,
    errno.EPERM: F.PERMISSION_DENIED,
    errno.EPROTONOSUPPORT: "protocol_not_supported",
    errno.EPROTOTYPE: "wrong_protocol_type",
}

_GAI_FAILURES: dict[int, str] = {
    socket.EAI_NONAME: F.DNS_NXDOMAIN_ERROR,
    socket.EAI_AGAIN: F.DNS_TEMPORARY_FAILURE,
    socket.EAI_FAIL: F.DNS_NON_RECOVERABLE_FAILURE,
}
_EAI_NODATA = getattr(socket, "EAI_NODATA", None)
if _EAI_NODATA is not None:
    _GAI_FAILURES[_EAI_NODATA] = F.DNS_NO_ANSWER

# OpenSSL X509_V_ERR_* codes (ssl.SSLCertVerificationError.verify_code).
_HOSTNAME_CODES = frozenset({62, 63, 64})  # hostname / email / IP address mismatch
_UNKNOWN_AUTHORITY_CODES = frozenset({2, 18, 19, 20, 21})

# TLS alerts received from the peer, by OpenSSL reason string.
_ALERT_FAILURES: dict[str, str] = {
    "SSLV3_ALERT_HANDSHAKE_FAILURE": F.SSL_FAILED_HANDSHAKE,
    "TLSV1_ALERT_DECRYPT_ERROR": F.SSL_FAILED_HANDSHAKE,
    "TLSV1_UNRECOGNIZED_NAME": F.SSL_INVALID_HOSTNAME,
    "TLSV1_ALERT_UNKNOWN_CA": F.SSL_UNKNOWN_AUTHORITY,
    "SSLV3_ALERT_BAD_CERTIFICATE": F.SSL_INVALID_CERTIFICATE,
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": F.SSL_INVALID_CERTIFICATE,
    "SSLV3_ALERT_CERTIFICATE_REVOKED": F.SSL_INVALID_CERTIFICATE,
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": F.SSL_INVALID_CERTIFICATE,
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": F.SSL_INVALID_CERTIFICATE,
}

_IPV4_RE = re.compile(r"(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9]|\.\d)")
_IPV6_CANDIDATE_RE = re.compile(r"(?<![0-9A-Za-z:])[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(?:%\w+)?")
SCRUBBED = "[scrubbed]"


class NetError(Exception):
    """An I/O error classified into an OONI ``failure`` string and the ``operation`` that failed.

    Extra context some operations attach (``None``/empty when not applicable):
    ``peer_certificates`` (DER, leaf first; TLS handshake failures), ``getaddrinfo_error``
    (the system resolver's EAI_* code), ``dns_result`` (the parsed DNS reply behind an rcode
    failure, a ``censorscope.net.dns.DNSResult``) and ``response`` (the partial
    ``censorscope.net.http.HTTPResponseData`` when the body failed after the headers).
    """

    def __init__(self, failure: str, operation: str, cause: BaseException | None = None) -> None:
        super().__init__(f"{operation}: {failure}")
        self.failure: str = failure
        self.operation: str = operation
        self.cause: BaseException | None = cause
        self.peer_certificates: list[bytes] = []
        self.getaddrinfo_error: int | None = None
        self.dns_result: Any = None
        self.response: Any = None


def scrub_ips(text: str) -> str:
    """Replace every IPv4/IPv6 address literal inside ``text`` by ``[scrubbed]``."""

    text = _IPV4_RE.sub(SCRUBBED, text)

    def _v6(match: re.Match[str]) -> str:
        candidate = match.group(0)
        try:
            ipaddress.IPv6Address(candidate.split("%", 1)[0])
        except ValueError:
            return candidate
        return SCRUBBED

    return _IPV6_CANDIDATE_RE.sub(_v6, text)


def _unknown(exc: BaseException) -> str:
    message = str(exc).strip() or type(exc).__name__
    return F.UNKNOWN_FAILURE_PREFIX + scrub_ips(message)


def _ssl_failure(exc: ssl.SSLError) -> str | None:
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        if code in _HOSTNAME_CODES:
            return F.SSL_INVALID_HOSTNAME
        if code in _UNKNOWN_AUTHORITY_CODES:
            return F.SSL_UNKNOWN_AUTHORITY
        return F.SSL_INVALID_CERTIFICATE
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return F.EOF_ERROR
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason in _ALERT_FAILURES:
        return _ALERT_FAILURES[reason]
    return None


def _failure_of(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        found = _ssl_failure(exc)
        if found is not None:
            return found
        return _unknown(exc)
    if isinstance(exc, socket.gaierror):
        if exc.errno is not None and exc.errno in _GAI_FAILURES:
            return _GAI_FAILURES[exc.errno]
        return _unknown(exc)
    if isinstance(exc, TimeoutError) and exc.errno is None:
        return F.GENERIC_TIMEOUT_ERROR  # a deadline of ours (asyncio), not the kernel's ETIMEDOUT
    if isinstance(exc, EOFError | IncompleteReadError):
        return F.EOF_ERROR
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno in _ERRNO_FAILURES:
        return _ERRNO_FAILURES[exc.errno]
    if isinstance(exc, ConnectionRefusedError):
        return F.CONNECTION_REFUSED
    if isinstance(exc, ConnectionResetError):
        return F.CONNECTION_RESET
    if isinstance(exc, ConnectionAbortedError):
        return F.CONNECTION_ABORTED
    if exc.__class__.__name__ == "CancelledError":
        return F.INTERRUPTED
    return _unknown(exc)


def classify_error(exc: BaseException, operation: str) -> NetError:
    """Turn ``exc`` into a ``NetError`` for ``operation``; a ``NetError`` passes through as is."""

    if isinstance(exc, NetError):
        return exc
    return NetError(_failure_of(exc), operation, exc)
