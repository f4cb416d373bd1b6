"""OONI archival records (df-001 httpt, df-002 dnst, df-005 tcpconnect, df-006 tlshandshake,
df-008 netevents) as typed JSON dictionaries.

They are ``TypedDict`` so that the records the probe writes are exactly the JSON OONI's tools
read, with no conversion step. Times ``t0``/``t`` are seconds since ``measurement_start_time``.
"""

from __future__ import annotations

from typing import Literal, TypedDict


class BinaryData(TypedDict):
    """Bytes that are not valid UTF-8, as OONI encodes them."""

    format: Literal["base64"]
    data: str


MaybeBinary = str | BinaryData


class NetworkEvent(TypedDict, total=False):
    """One I/O event (df-008): connect, read, write, tls_handshake_start/done, close, …"""

    address: str | None
    failure: str | None
    num_bytes: int | None
    operation: str
    proto: str | None
    t0: float
    t: float
    tags: list[str]
    transaction_id: int


class DNSAnswer(TypedDict, total=False):
    """One DNS answer (df-002)."""

    answer_type: str
    asn: int
    as_org_name: str
    hostname: str | None
    ipv4: str | None
    ipv6: str | None
    ttl: int | None


class DNSQuery(TypedDict, total=False):
    """One DNS lookup (df-002). getaddrinfo is ONE ``ANY`` query with faked answers."""

    answers: list[DNSAnswer] | None
    engine: str
    failure: str | None
    getaddrinfo_error: int
    hostname: str
    query_type: str
    raw_response: str | None
    rcode: int | None
    resolver_hostname: str | None
    resolver_port: str | None
    resolver_address: str
    t0: float
    t: float
    tags: list[str]
    transaction_id: int


class TCPConnectStatus(TypedDict, total=False):
    failure: str | None
    success: bool
    blocked: bool | None


class TCPConnect(TypedDict, total=False):
    """One TCP connect attempt (df-005)."""

    ip: str
    port: int
    status: TCPConnectStatus
    t0: float
    t: float
    tags: list[str]
    transaction_id: int


class TLSHandshake(TypedDict, total=False):
    """One TLS handshake (df-006). ``peer_certificates`` are DER, leaf first."""

    network: str
    address: str
    cipher_suite: str
    failure: str | None
    negotiated_protocol: str
    no_tls_verify: bool
    peer_certificates: list[BinaryData]
    server_name: str
    t0: float
    t: float
    tags: list[str]
    tls_version: str
    transaction_id: int


class HTTPRequest(TypedDict, total=False):
    body: MaybeBinary
    body_is_truncated: bool
    headers: dict[str, MaybeBinary]
    headers_list: list[list[MaybeBinary]]
    method: str
    tor: dict[str, object]
    x_transport: str
    url: str


class HTTPResponse(TypedDict, total=False):
    body: MaybeBinary | None
    body_is_truncated: bool
    code: int
    headers: dict[str, MaybeBinary]
    headers_list: list[list[MaybeBinary]]


class HTTPTransaction(TypedDict, total=False):
    """One HTTP round trip (df-001). ``requests`` lists are most recent first."""

    network: str
    address: str
    alpn: str
    failure: str | None
    request: HTTPRequest
    response: HTTPResponse
    t0: float
    t: float
    tags: list[str]
    transaction_id: int
