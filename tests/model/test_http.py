"""Header keys and page titles as probe-cli and oohelperd make them (censorscope.model.http)."""

from __future__ import annotations

import pytest

from censorscope.model.http import canonical_header_key, first_header_values, page_title


@pytest.mark.parametrize(("name", "canonical"), [
    ("content-type", "Content-Type"),
    ("CONTENT-TYPE", "Content-Type"),
    ("x-xss-protection", "X-Xss-Protection"),
    ("www-authenticate", "Www-Authenticate"),
    ("etag", "Etag"),
    ("-x-", "-X-"),
    ("", ""),
    # Where the copies disagreed: trace's copy left every name with a character other than
    # letters, digits and '-' unchanged; Go (and the control's copy) canonicalise any RFC 7230
    # token, and only '-' starts a new word.
    ("x_forwarded-for", "X_forwarded-For"),
    ("x.custom-HEADER", "X.custom-Header"),
    ("a!#$%&'*+.^_`|~b", "A!#$%&'*+.^_`|~b"),
    # Not a token: unchanged.
    ("weird header", "weird header"),
    ("bad:name", "bad:name"),
    ("naïve-key", "naïve-key"),
    ("tab\tname", "tab\tname"),
])
def test_canonical_header_key_is_gos(name: str, canonical: str) -> None:
    assert canonical_header_key(name) == canonical


def test_first_header_values_keeps_the_first_of_each_canonical_key() -> None:
    headers = [("b", "1"), ("A", "2"), ("B", "3"), ("x_y", "4"), ("X_Y", "5")]
    assert first_header_values(headers) == {"B": "1", "A": "2", "X_y": "4"}
    assert list(first_header_values(headers)) == ["B", "A", "X_y"]  # first-seen order
    assert first_header_values([]) == {}


@pytest.mark.parametrize(("body", "title"), [
    ("<html><TITLE>Hello World</TITLE><title>x</title>", "Hello World"),  # first match
    ("<title>first</title><TITLE>second</TITLE>", "first"),
    ("<TITLE>upper first</TITLE><title>lower later</title>", "upper first"),
    ("<TiTlE>mixed</tItLe>", "mixed"),
    ("<title></title>", ""),  # needs at least one character
    ("<title></title><title>later</title>", "later"),
    ("<title>a<b>c</title>", ""),  # no '<' inside
    ("<title>" + "x" * 512 + "</title>", "x" * 512),
    ("<title>" + "x" * 513 + "</title>", ""),
    ("<title>Привет мир</title>", "Привет мир"),
    ("<title>Hi &amp; bye</title>", "Hi &amp; bye"),  # no entity decoding
    ("no title at all", ""),
    # Where the copies disagreed: the pipeline's copy accepted attributes and a missing
    # closing tag, stripped white space, and looked only at the first 64 KiB; OONI's regex
    # (the probe's and the control's copies) does none of that.
    ("<html><Title x=1> Mixed </Title>", ""),
    ("<title> padded </title>", " padded "),
    ("<title>unterminated", ""),
    ("x" * 70000 + "<title>far</title>", "far"),
    ("İİ<TITLE>after dotted I</TITLE>", "after dotted I"),
    # Go's (?i) folds ASCII letters only; Python's would also take 'İ' and 'ı' for 'i'.
    ("<tİtle>x</title>", ""),
    ("<tıtle>x</title>", ""),
    ("<title>line\nbreak</title>", "line\nbreak"),
])
def test_page_title_is_oonis_regex(body: str, title: str) -> None:
    assert page_title(body) == title
    assert page_title(body.encode()) == title


def test_page_title_of_bytes_replaces_invalid_utf8() -> None:
    # Bytes are read as UTF-8 (invalid sequences replaced), never as Latin-1 ("Ð\x9fÑ\x80…"):
    # the same text the probe and the control see.
    assert page_title("<title>Привет</title>".encode()) == "Привет"
    assert page_title(b"<title>a\xffb</title>") == "a\ufffdb"
