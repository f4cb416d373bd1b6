"""OONI failure strings (df-007) and operation names: the closed vocabulary of what went wrong.

Every error is classified once, at the I/O boundary (``censorscope.net.errors``), into one of
these strings plus the operation that failed. Later layers compare strings, never parse messages.
"""

from __future__ import annotations

from typing import Final

# --- failure strings (df-007-errors, netxlite/errno.go) ---------------------------------------
GENERIC_TIMEOUT_ERROR: Final = "generic_timeout_error"
TIMED_OUT: Final = "timed_out"
CONNECTION_REFUSED: Final = "connection_refused"
CONNECTION_RESET: Final = "connection_reset"
CONNECTION_ABORTED: Final = "connection_aborted"
CONNECTION_ALREADY_CLOSED: Final = "connection_already_closed"
EOF_ERROR: Final = "eof_error"
HOST_UNREACHABLE: Final = "host_unreachable"
NETWORK_UNREACHABLE: Final = "network_unreachable"
NETWORK_DOWN: Final = "network_down"
ADDRESS_FAMILY_NOT_SUPPORTED: Final = "address_family_not_supported"
ADDRESS_NOT_AVAILABLE: Final = "address_not_available"
PERMISSION_DENIED: Final = "permission_denied"
INTERRUPTED: Final = "interrupted"
NETWORK_RESET: Final = "network_reset"
ADDRESS_IN_USE: Final = "address_in_use"
ALREADY_CONNECTED: Final = "already_connected"
BAD_ADDRESS: Final = "bad_address"
BAD_FILE_DESCRIPTOR: Final = "bad_file_descriptor"
CONNECTION_ALREADY_IN_PROGRESS: Final = "connection_already_in_progress"
DESTINATION_ADDRESS_REQUIRED: Final = "destination_address_required"
INVALID_ARGUMENT: Final = "invalid_argument"
MESSAGE_SIZE: Final = "message_size"
NO_BUFFER_SPACE: Final = "no_buffer_space"
NO_PROTOCOL_OPTION: Final = "no_protocol_option"
NOT_A_SOCKET: Final = "not_a_socket"
NOT_CONNECTED: Final = "not_connected"
OPERATION_WOULD_BLOCK: Final = "operation_would_block"
PROTOCOL_NOT_SUPPORTED: Final = "protocol_not_supported"
WRONG_PROTOCOL_TYPE: Final = "wrong_protocol_type"
DNS_NXDOMAIN_ERROR: Final = "dns_nxdomain_error"
DNS_NO_ANSWER: Final = "dns_no_answer"
DNS_REFUSED_ERROR: Final = "dns_refused_error"
DNS_SERVFAIL_ERROR: Final = "dns_servfail_error"
DNS_SERVER_MISBEHAVING: Final = "dns_server_misbehaving"
DNS_NON_RECOVERABLE_FAILURE: Final = "dns_non_recoverable_failure"
DNS_TEMPORARY_FAILURE: Final = "dns_temporary_failure"
DNS_REPLY_WITH_WRONG_QUERY_ID: Final = "dns_reply_with_wrong_query_id"
DNS_BOGON_ERROR: Final = "dns_bogon_error"
ANDROID_DNS_CACHE_NO_DATA: Final = "android_dns_cache_no_data"
SSL_INVALID_HOSTNAME: Final = "ssl_invalid_hostname"
SSL_UNKNOWN_AUTHORITY: Final = "ssl_unknown_authority"
SSL_INVALID_CERTIFICATE: Final = "ssl_invalid_certificate"
SSL_FAILED_HANDSHAKE: Final = "ssl_failed_handshake"
HTTP_INVALID_REDIRECT_LOCATION_HOST: Final = "http_invalid_redirect_location_host"
HTTP_REQUEST_FAILED: Final = "http_request_failed"
JSON_PARSE_ERROR: Final = "json_parse_error"
UNKNOWN_FAILURE_PREFIX: Final = "unknown_failure: "
TOO_MANY_REDIRECTS: Final = "unknown_failure: stopped after too many redirects"

KNOWN_FAILURES: Final = frozenset(
    {
        GENERIC_TIMEOUT_ERROR, TIMED_OUT, CONNECTION_REFUSED, CONNECTION_RESET,
        CONNECTION_ABORTED, CONNECTION_ALREADY_CLOSED, EOF_ERROR, HOST_UNREACHABLE,
        NETWORK_UNREACHABLE, NETWORK_DOWN, ADDRESS_FAMILY_NOT_SUPPORTED, ADDRESS_NOT_AVAILABLE,
        PERMISSION_DENIED, INTERRUPTED, DNS_NXDOMAIN_ERROR, DNS_NO_ANSWER, DNS_REFUSED_ERROR,
        DNS_SERVFAIL_ERROR, DNS_SERVER_MISBEHAVING, DNS_NON_RECOVERABLE_FAILURE,
        DNS_TEMPORARY_FAILURE, DNS_REPLY_WITH_WRONG_QUERY_ID, DNS_BOGON_ERROR,
        ANDROID_DNS_CACHE_NO_DATA, SSL_INVALID_HOSTNAME, SSL_UNKNOWN_AUTHORITY,
        SSL_INVALID_CERTIFICATE, SSL_FAILED_HANDSHAKE, HTTP_INVALID_REDIRECT_LOCATION_HOST,
        HTTP_REQUEST_FAILED, JSON_PARSE_ERROR,
        NETWORK_RESET,
        ADDRESS_IN_USE,
        ALREADY_CONNECTED,
        BAD_ADDRESS,
        BAD_FILE_DESCRIPTOR,
        CONNECTION_ALREADY_IN_PROGRESS,
        DESTINATION_ADDRESS_REQUIRED,
        INVALID_ARGUMENT,
        MESSAGE_SIZE,
        NO_BUFFER_SPACE,
        NO_PROTOCOL_OPTION,
        NOT_A_SOCKET,
        NOT_CONNECTED,
        OPERATION_WOULD_BLOCK,
        PROTOCOL_NOT_SUPPORTED,
        WRONG_PROTOCOL_TYPE,
    }
)

# --- operations (netxlite/operations.go) ------------------------------------------------------
RESOLVE: Final = "resolve"
CONNECT: Final = "connect"
DNS_ROUND_TRIP: Final = "dns_round_trip"
TLS_HANDSHAKE: Final = "tls_handshake"
HTTP_ROUND_TRIP: Final = "http_round_trip"
READ: Final = "read"
WRITE: Final = "write"
CLOSE: Final = "close"
TOP_LEVEL: Final = "top_level"


def is_known_failure(failure: str) -> bool:
    """True if ``failure`` is a df-007 string or an ``unknown_failure: …`` string."""
    return failure in KNOWN_FAILURES or failure.startswith(UNKNOWN_FAILURE_PREFIX)
