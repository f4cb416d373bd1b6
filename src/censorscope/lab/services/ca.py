"""The lab's certificate authority: one trusted CA, one untrusted CA, and leaf certificates.

The probe trusts ``ca.pem`` (returned by ``ensure_ca``) through its configuration, never the
system store. Leaf certificates come in the four kinds the QA scenarios need:

- ``valid``: for the given names, signed by the lab CA;
- ``expired``: for the given names, signed by the lab CA, validity entirely in the past;
- ``wrong_host``: signed by the lab CA but for a different name (``wrong-host.lab.invalid``);
- ``untrusted``: for the given names, signed by a second CA the probe does not trust.

Keys are ECDSA P-256 (fast). Files are cached by (kind, names), so a repeated ``lab up`` issues
nothing; concurrent callers are serialised with a lock file.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["WRONG_HOST_NAME", "CertKind", "ensure_ca", "issue"]

CertKind = Literal["valid", "expired", "wrong_host", "untrusted"]
WRONG_HOST_NAME = "wrong-host.lab.invalid"

_TRUSTED = "ca"
_UNTRUSTED = "untrusted-ca"


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write(path: Path, data: bytes, private: bool = False) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _make_ca(directory: Path, stem: str, common_name: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "censorscope lab"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(directory / f"{stem}.key", _key_pem(key), private=True)
    _write(directory / f"{stem}.pem", cert.public_bytes(serialization.Encoding.PEM))


def _ensure(directory: Path, stem: str, common_name: str) -> Path:
    cert = directory / f"{stem}.pem"
    if not (cert.exists() and (directory / f"{stem}.key").exists()):
        _make_ca(directory, stem, common_name)
    return cert


def ensure_ca(directory: Path) -> Path:
    """Create the lab CA (and the untrusted CA) in ``directory`` once; return ``ca.pem``."""
    directory = Path(directory)
    with _locked(directory):
        _ensure(directory, _UNTRUSTED, "censorscope lab UNTRUSTED root")
        return _ensure(directory, _TRUSTED, "censorscope lab root CA")


def _load_ca(directory: Path, stem: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate((directory / f"{stem}.pem").read_bytes())
    key = serialization.load_pem_private_key((directory / f"{stem}.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _leaf(
    names: list[str], kind: CertKind, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject_names = [WRONG_HOST_NAME] if kind == "wrong_host" else names
    now = dt.datetime.now(dt.UTC)
    if kind == "expired":
        not_before, not_after = now - dt.timedelta(days=400), now - dt.timedelta(days=30)
    else:
        not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=825)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_names[0][:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in subject_names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def issue(directory: Path, names: list[str], kind: CertKind = "valid") -> tuple[Path, Path]:
    """Return (certificate, key) paths of a ``kind`` certificate for ``names`` (cached)."""
    if not names:
        raise ValueError("a certificate needs at least one name")
    directory = Path(directory)
    ensure_ca(directory)
    digest = hashlib.sha256("\n".join([kind, *names]).encode()).hexdigest()[:16]
    leaf_dir = directory / "leaf"
    cert_path = leaf_dir / f"{kind}-{digest}.pem"
    key_path = leaf_dir / f"{kind}-{digest}.key"
    with _locked(directory):
        if not (cert_path.exists() and key_path.exists()):
            leaf_dir.mkdir(exist_ok=True)
            stem = _UNTRUSTED if kind == "untrusted" else _TRUSTED
            ca_cert, ca_key = _load_ca(directory, stem)
            cert_pem, key_pem = _leaf(names, kind, ca_cert, ca_key)
            _write(key_path, key_pem, private=True)
            _write(cert_path, cert_pem)
    return cert_path, key_path
