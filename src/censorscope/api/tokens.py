"""Bearer tokens of the API's writes: the token file, its check, and making a token.

The file (``censorscope serve --tokens FILE``) holds one token per line as
``<sha256 hex of the token> <role>``; blank lines and lines starting with ``#`` are skipped.
Only hashes are kept: a token is shown once, when ``censorscope token new`` makes it, and
cannot be read back from the file. Roles: ``analyst`` (findings, feedback on verdicts) and
``admin`` (everything an analyst may, and deleting findings).

A presented token is hashed and compared with *every* line by ``hmac.compare_digest`` (no
early exit), so the time of a check does not tell how much of a hash matched. The file is
read again when it changes (size, mtime or inode), so tokens added or removed take effect
without a restart; a file that became unreadable or malformed refuses every token until it is
fixed (:class:`TokenFileError`, answered 503).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["ROLES", "Principal", "TokenFile", "TokenFileError", "append_token", "new_token",
           "parse_tokens", "token_hash"]

ROLES: Final = ("analyst", "admin")
# what each role may do: a role grants itself and the roles listed
_GRANTS: Final = {"analyst": frozenset({"analyst"}), "admin": frozenset({"analyst", "admin"})}
_LINE: Final = re.compile(r"^([0-9a-f]{64})\s+([a-z]+)$")
TOKEN_PREFIX: Final = "cst_"


class TokenFileError(ValueError):
    """The token file cannot be read or has a bad line (``file:line: reason``)."""


@dataclass(frozen=True)
class Principal:
    """Who a valid token is: ``token_id`` (the first 12 hex digits of its hash: names the
    token in what it wrote without giving it away) and its role."""

    token_id: str
    role: str

    def may(self, role: str) -> bool:
        return role in _GRANTS.get(self.role, frozenset())


def token_hash(token: str) -> str:
    """The hex SHA-256 of a token, as the file keeps it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh token: ``cst_`` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def parse_tokens(text: str, *, source: str) -> list[tuple[bytes, str]]:
    """(hash digest, role) of every line of a token file's ``text``."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            raise TokenFileError(f"{source}:{n}: want '<sha256 hex of the token> <role>'")
        if m.group(2) not in ROLES:
            raise TokenFileError(f"{source}:{n}: unknown role {m.group(2)!r} "
                                 f"(one of {', '.join(ROLES)})")
        out.append((bytes.fromhex(m.group(1)), m.group(2)))
    return out


class TokenFile:
    """The tokens of ``path`` (None: no token is valid), read again when the file changes."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._entries: list[tuple[bytes, str]] = []
        self._error: TokenFileError | None = None
        if path is not None:
            self._load()  # a bad file is found when the server starts

    @property
    def configured(self) -> bool:
        return self.path is not None

    def _load(self) -> list[tuple[bytes, str]]:
        assert self.path is not None
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            with self._lock:
                if stamp == self._stamp:
                    if self._error is not None:
                        raise self._error
                    return self._entries
            text = Path(self.path).read_text(encoding="utf-8")
            entries = parse_tokens(text, source=self.path)
        except (OSError, UnicodeDecodeError) as exc:
            error = TokenFileError(f"{self.path}: cannot read the token file: {exc}")
            with self._lock:
                self._error, self._stamp, self._entries = error, None, []
            raise error from exc
        except TokenFileError as exc:
            with self._lock:
                self._error, self._stamp, self._entries = exc, stamp, []
            raise
        with self._lock:
            self._error, self._stamp, self._entries = None, stamp, entries
        return entries

    def check(self, token: str) -> Principal | None:
        """The principal of ``token``, or None when no line has its hash (TokenFileError when
        the file is unreadable or malformed)."""
        if self.path is None:
            return None
        entries = self._load()
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        found: Principal | None = None
        for stored, role in entries:  # every line, whatever matched before
            if hmac.compare_digest(stored, digest) and found is None:
                found = Principal(digest.hex()[:12], role)
        return found


def append_token(path: str | Path, role: str) -> str:
    """Make a token of ``role``, append its hash line to the file at ``path`` (created
    readable by its owner only), and return the token (the only time it is seen)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    p = Path(path)
    if p.exists():
        parse_tokens(p.read_text(encoding="utf-8"), source=str(p))  # never append to garbage
    token = new_token()
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        prefix = b""
        if os.fstat(fd).st_size > 0:
            with open(p, "rb") as f:
                f.seek(-1, os.SEEK_END)
                prefix = b"" if f.read(1) == b"\n" else b"\n"
        os.write(fd, prefix + f"{token_hash(token)} {role}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return token
