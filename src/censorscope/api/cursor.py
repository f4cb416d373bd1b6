"""Opaque page cursors for ``/api/v1/measurements``: the keyset of a page's last row.

A cursor is base64url JSON ``[1, time, uid, order, query]`` where ``query`` is a short hash of
the filters it was made for: a cursor given with other filters is refused (400) rather than
silently starting a different walk. It holds nothing secret, and tampering with it can only
move where a page starts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime

import orjson

from censorscope.store.search import ORDERS, Keyset, SearchFilter

from .errors import bad_parameter

__all__ = ["decode_cursor", "encode_cursor", "query_hash"]

_VERSION = 1


def query_hash(where: SearchFilter) -> str:
    """A short digest of the filters (the window included)."""
    return hashlib.sha256(repr(where).encode()).hexdigest()[:16]


def encode_cursor(last: Keyset, order: str, where: SearchFilter) -> str:
    data = orjson.dumps([_VERSION, last.measurement_start_time.isoformat(),
                         last.measurement_uid, order, query_hash(where)])
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_cursor(text: str, order: str, where: SearchFilter) -> Keyset:
    """The keyset of a cursor made for the same ``order`` and filters, else a 400."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        version, when, uid, its_order, its_query = orjson.loads(raw)
        if version != _VERSION or its_order not in ORDERS or not isinstance(uid, str):
            raise ValueError
        at = datetime.fromisoformat(when)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise bad_parameter("cursor", "not a cursor this API made (use metadata.next_cursor)"
                            ) from None
    if its_order != order or its_query != query_hash(where):
        raise bad_parameter("cursor", "the cursor belongs to a query with other filters or "
                            "another order; repeat that query's parameters with it")
    return Keyset(at, uid)
