"""DNS consistency: what one resolver's answer for a name says, compared with the control's.

One pure function, :func:`classify`, shared by the probe's ``dns_consistency`` experiment
(which writes the class of each resolver into its test keys) and by the analysis (which
re-derives it from the observation rows), so both apply the same definition:

- ``injected``: two or more different replies to one query (a forged reply racing the real
  one: the later one shows up as a late reply);
- a failed lookup: ``nxdomain`` (the control found the name), ``no_answer``, ``timeout`` or
  ``error``; a failure the control shares (NXDOMAIN for both, no answer for both) is
  ``consistent``;
- ``bogon``: an answer is a bogon the control did not return;
- ``consistent``: an answer is one of the control's, or in the AS of one of them (AS 0,
  unknown, never matches);
- ``cdn_valid_cert``: different from the control, but an answer completed a TLS handshake
  with a valid certificate for the name and none presented an invalid one (a CDN node the
  control was not sent to: NOT a DNS inconsistency);
- ``lie``: different from the control and no valid certificate for the name at any answer;
- ``unverified``: different from the control and no TLS check was made.

TLS results per answer IP are one of :data:`TLS_VALID` (a handshake with certificate
validation for the name completed), :data:`TLS_BAD_CERT` (the server presented a certificate
that failed validation) or :data:`TLS_FAILED` (no certificate: timeout, reset …); an IP
without a result was not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from . import failures as F

__all__ = [
    "CLASSES",
    "FAILED_CLASSES",
    "NXDOMAIN_FAILURES",
    "TAMPERED_CLASSES",
    "TLS_BAD_CERT",
    "TLS_FAILED",
    "TLS_VALID",
    "Classification",
    "Reference",
    "classify",
    "tls_result",
]

CLASSES: Final = ("consistent", "cdn_valid_cert", "lie", "nxdomain", "injected", "bogon",
                  "unverified", "timeout", "no_answer", "error")
# classes that mean someone tampered with the answer
TAMPERED_CLASSES: Final = frozenset({"lie", "nxdomain", "injected", "bogon"})
# classes of a lookup that failed without an answer to compare
FAILED_CLASSES: Final = frozenset({"timeout", "no_answer", "error"})

NXDOMAIN_FAILURES: Final = frozenset({F.DNS_NXDOMAIN_ERROR, "dns_name_error"})
_TIMEOUTS: Final = frozenset({F.GENERIC_TIMEOUT_ERROR, "timed_out"})
_NO_ANSWER: Final = frozenset({F.DNS_NO_ANSWER, "dns_no_answer_error"})

TLS_VALID: Final = "valid"
TLS_BAD_CERT: Final = "bad_certificate"
TLS_FAILED: Final = "failed"


def tls_result(success: bool | None, failure: str | None, verified: bool) -> str | None:
    """The TLS result of one handshake at an answer IP (None: no handshake was made).
    ``verified``: the handshake validated the certificate (``no_tls_verify`` false)."""
    if success is None and failure is None:
        return None
    if success and failure is None:
        return TLS_VALID if verified else TLS_FAILED
    if failure is not None and failure.startswith("ssl_"):
        return TLS_BAD_CERT
    return TLS_FAILED


@dataclass(frozen=True)
class Reference:
    """The control's view of the name: its addresses, their ASes and its failure."""

    addresses: frozenset[str] = frozenset()
    asns: Mapping[str, int] = field(default_factory=dict)
    failure: str | None = None

    @property
    def nxdomain(self) -> bool:
        return not self.addresses and self.failure in NXDOMAIN_FAILURES

    @property
    def no_answer(self) -> bool:
        return not self.addresses and self.failure in _NO_ANSWER


@dataclass(frozen=True)
class Classification:
    """The class of one resolver's answer and the facts that decided it: ``address`` (the
    answer that matched the control, was a bogon or had a valid certificate), ``reference``
    (the control's address it matched, by IP or AS) and ``asn``."""

    label: str
    address: str | None = None
    reference: str | None = None
    asn: int | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"classification": label, "decided_by": {address, reference, asn}}`` (the
        facts present)."""
        facts = {key: getattr(self, key) for key in ("address", "reference", "asn")
                 if getattr(self, key) is not None}
        return {"classification": self.label, "decided_by": facts}


def _failure_class(failure: str, reference: Reference) -> str:
    if failure in NXDOMAIN_FAILURES:
        return "consistent" if reference.nxdomain else "nxdomain"
    if failure in _NO_ANSWER:
        return "consistent" if reference.no_answer else "no_answer"
    if failure in _TIMEOUTS:
        return "timeout"
    return "error"


def classify(
    *,
    failure: str | None,
    addresses: Iterable[str],
    distinct_replies: int,
    reference: Reference,
    asn_of: Callable[[str], int],
    is_bogon: Callable[[str], bool],
    tls: Mapping[str, str],
) -> Classification:
    """The class of one resolver's answer (see the module docstring). ``addresses`` are the
    answers of its first replies, ``failure`` the failure of a lookup without addresses,
    ``distinct_replies`` the most different replies any one of its queries got, ``tls`` the
    TLS result per answer IP (:func:`tls_result`)."""
    if distinct_replies >= 2:
        return Classification("injected")
    answers = list(dict.fromkeys(addresses))
    if not answers:
        return Classification(_failure_class(failure or F.DNS_NO_ANSWER, reference))
    for ip in answers:
        if is_bogon(ip) and ip not in reference.addresses:
            return Classification("bogon", address=ip)
    for ip in answers:
        if ip in reference.addresses:
            return Classification("consistent", address=ip, reference=ip)
    for ip in answers:
        asn = asn_of(ip)
        if not asn:
            continue
        for ref in sorted(reference.addresses):
            if reference.asns.get(ref) == asn:
                return Classification("consistent", address=ip, reference=ref, asn=asn)
    results = [tls.get(ip) for ip in answers]
    if all(r is None for r in results):
        return Classification("unverified")
    valid = [ip for ip in answers if tls.get(ip) == TLS_VALID]
    if valid and TLS_BAD_CERT not in results:
        return Classification("cdn_valid_cert", address=valid[0])
    return Classification("lie")
