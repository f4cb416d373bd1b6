"""The lab CA (censorscope.lab.services.ca): real certificates, checked with cryptography."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509

from censorscope.lab.services.ca import WRONG_HOST_NAME, ensure_ca, issue


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def dns_names(cert: x509.Certificate) -> list[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName)


def test_ca_created_once(tmp_path):
    ca = ensure_ca(tmp_path)
    first = ca.read_bytes()
    assert ensure_ca(tmp_path) == ca and ca.read_bytes() == first
    cert = load(ca)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (tmp_path / "ca.key").stat().st_mode & 0o077 == 0


def test_kinds(tmp_path):
    ca = load(ensure_ca(tmp_path))
    now = dt.datetime.now(dt.UTC)
    names = ["www.example.com", "example.com"]
    valid = load(issue(tmp_path, names, "valid")[0])
    assert dns_names(valid) == names and valid.issuer == ca.subject
    assert valid.not_valid_before_utc < now < valid.not_valid_after_utc
    valid.verify_directly_issued_by(ca)
    expired = load(issue(tmp_path, names, "expired")[0])
    assert expired.not_valid_after_utc < now and dns_names(expired) == names
    expired.verify_directly_issued_by(ca)
    wrong = load(issue(tmp_path, names, "wrong_host")[0])
    assert dns_names(wrong) == [WRONG_HOST_NAME]
    untrusted = load(issue(tmp_path, names, "untrusted")[0])
    assert dns_names(untrusted) == names and untrusted.issuer != ca.subject


def test_issue_is_cached(tmp_path):
    cert, key = issue(tmp_path, ["a.example"], "valid")
    stamp = cert.stat().st_mtime_ns, key.stat().st_mtime_ns
    assert issue(tmp_path, ["a.example"], "valid") == (cert, key)
    assert (cert.stat().st_mtime_ns, key.stat().st_mtime_ns) == stamp
    assert issue(tmp_path, ["b.example"], "valid")[0] != cert
    assert issue(tmp_path, ["a.example"], "expired")[0] != cert
