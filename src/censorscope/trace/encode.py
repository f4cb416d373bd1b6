"""Pure conversions from ``net`` values to the JSON pieces of OONI archival records."""

from __future__ import annotations

import base64

from censorscope.model.archival import BinaryData, DNSAnswer, MaybeBinary
from censorscope.model.http import canonical_header_key, first_header_values
from censorscope.net.dns import DNSAnswerData

__all__ = [
    "binary",
    "dns_answers",
    "headers_list",
    "headers_map",
    "maybe_binary",
    "rel_time",
]


def rel_time(t: float, zero_time: float) -> float:
    """Seconds since the measurement's zero time, rounded to the microsecond."""

    return round(t - zero_time, 6)


def binary(data: bytes) -> BinaryData:
    """Bytes as OONI's ``{"format": "base64", "data": …}``."""

    return {"format": "base64", "data": base64.b64encode(data).decode("ascii")}


def maybe_binary(data: bytes) -> MaybeBinary:
    """A UTF-8 string when ``data`` decodes as UTF-8, else ``binary(data)``."""

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return binary(data)


def headers_list(headers: list[tuple[str, str]]) -> list[list[MaybeBinary]]:
    """``[[key, value], …]`` with canonical keys, sorted by key, values in received order."""

    pairs = [(canonical_header_key(k), v) for k, v in headers]
    pairs.sort(key=lambda kv: kv[0])
    return [[k, v] for k, v in pairs]


def headers_map(headers: list[tuple[str, str]]) -> dict[str, MaybeBinary]:
    """``{key: first value}`` with canonical keys."""

    out: dict[str, MaybeBinary] = dict(first_header_values(headers))
    return out


def dns_answers(answers: list[DNSAnswerData]) -> list[DNSAnswer]:
    """DNS answers as df-002 answer objects (``ipv4``/``ipv6``/``hostname`` + ``ttl``)."""

    out: list[DNSAnswer] = []
    for answer in answers:
        record: DNSAnswer = {"answer_type": answer.type, "ttl": answer.ttl}
        if answer.type == "A":
            record["ipv4"] = answer.value
        elif answer.type == "AAAA":
            record["ipv6"] = answer.value
        else:
            record["hostname"] = answer.value
        out.append(record)
    return out
