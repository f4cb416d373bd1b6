"""Certificates as a probe recorded them (``peer_certificates``: base64 DER, leaf first) turned
into what a reader checks: subject, issuer, validity, names, serial and fingerprint."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import warnings
from typing import Any

from cryptography import x509

__all__ = ["describe_chain", "describe_der"]


def _der(entry: Any) -> bytes | None:
    if isinstance(entry, dict) and isinstance(entry.get("data"), str):
        if entry.get("format", "base64") != "base64":
            return None
        try:
            return base64.b64decode(entry["data"], validate=False)
        except (binascii.Error, ValueError):
            return None
    return None


def _z(t: Any) -> str:
    return str(t.strftime("%Y-%m-%dT%H:%M:%SZ"))


# warnings are caught per certificate (they are facts about it), and catching them changes
# process-wide state: one certificate at a time
_parsing = threading.Lock()


def describe_der(der: bytes) -> dict[str, Any]:
    """One certificate's facts; ``{"error": …}`` when the bytes are not a certificate.
    What the parser warns about (e.g. a serial number that is not positive, which RFC 5280
    forbids) is listed in ``problems``."""
    with _parsing, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        facts = _describe(der)
    problems = list(dict.fromkeys(str(w.message) for w in caught))
    return {**facts, "problems": problems}


def _describe(der: bytes) -> dict[str, Any]:
    sha256 = hashlib.sha256(der).hexdigest()
    try:
        cert = x509.load_der_x509_certificate(der)
        subject, issuer = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    except ValueError as exc:
        return {"error": f"not a readable certificate ({exc})", "sha256": sha256}
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = [str(n) for n in san.value.get_values_for_type(x509.DNSName)]
        names += [str(n) for n in san.value.get_values_for_type(x509.IPAddress)]
    except (x509.ExtensionNotFound, ValueError):
        pass
    return {"subject": subject, "issuer": issuer, "not_before": _z(start),
            "not_after": _z(end), "names": names, "serial": f"{cert.serial_number:x}",
            "self_signed": subject == issuer, "sha256": sha256}


def describe_chain(entries: Any) -> list[dict[str, Any]]:
    """The recorded chain, leaf first; an entry that is not base64 DER is an error entry."""
    if not isinstance(entries, list):
        return []
    out = []
    for entry in entries:
        der = _der(entry)
        out.append(describe_der(der) if der is not None
                   else {"error": "not a base64 certificate", "sha256": None})
    return out
