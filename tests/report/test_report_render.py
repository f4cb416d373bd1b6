"""The report's small parts on their own: Markdown and HTML escaping of hostile strings, the SVG
check before a chart is inlined, the timeline excerpt from a raw measurement and from rows, the
target names, and the all-or-nothing output directory."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from censorscope.model.rows import make_observation
from censorscope.report.document import (
    Bullets,
    Cite,
    Code,
    Document,
    Link,
    Mono,
    Para,
    Section,
    Table,
    anchor,
    text,
)
from censorscope.report.html import UnsafeSvg, render_html, safe_svg
from censorscope.report.markdown import escape, render_markdown
from censorscope.report.output import atomic_directory, write_text
from censorscope.report.target import ReportTarget, TargetScope, scope_of
from censorscope.report.timeline import failing_row, timeline_excerpt

HOSTILE = '<script>alert(1)</script> | *x* _y_ [a](javascript:z) `code` & "q" \n# head'
HOSTILE_UID = 'x"><img src=x onerror=alert(1)>'


def _doc() -> Document:
    sec = Section("s", HOSTILE, 2, [
        Para(text(HOSTILE, " ", Cite(HOSTILE_UID), " ", Mono(HOSTILE))),
        Bullets((text("1. not a list ", Mono("a|b")),)),
        Table(("h1", "h2"), ((text(HOSTILE), text(Cite(HOSTILE_UID))),),
              caption=HOSTILE, row_ids=(HOSTILE_UID,)),
        Code(("line with ``` fence and <tag>",), text("caption ", HOSTILE)),
        Para(text(Link("https://explorer.example/measurement/" + HOSTILE_UID, "open"))),
    ])
    return Document(HOSTILE, text(HOSTILE), [sec])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_escapes_every_string() -> None:
    page = render_html(_doc(), [])
    parser = _Tags()
    parser.feed(page)
    names = {t for t, _ in parser.tags}
    assert "script" not in names and "img" not in names
    for _, attrs in parser.tags:
        assert not any(k.startswith("on") for k in attrs), attrs
        href = attrs.get("href") or ""
        assert not href.startswith("javascript:")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f'id="{anchor(HOSTILE_UID)}"' in page and re.fullmatch(r"m-[A-Za-z0-9._-]+",
                                                                  anchor(HOSTILE_UID))


def test_markdown_escapes_every_string() -> None:
    md = render_markdown(_doc(), [])
    assert "<script" not in md and "<img" not in md and "<tag>" not in md.split("```")[0]
    assert "&lt;script&gt;" in md and "\\*x\\*" in md and "\\[a\\]" in md
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(table) == 2 and all(len(re.split(r"(?<!\\)\|", row)) == 4 for row in table)
    assert "- 1\\. not a list" in md
    assert "\n````text\nline with ``` fence and <tag>\n````\n" in md  # a longer fence
    assert "\n# head" not in md  # a newline in the data is not a heading
    assert escape("a_b c_") == "a_b c\\_" and escape("x|y") == "x\\|y"


@pytest.mark.parametrize("svg", [
    '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    '<use xlink:href="http://evil.example/x.svg#a"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><path style="fill:url(http://e.example/p)"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
    "<svg><unclosed></svg>",
    "no svg here",
])
def test_unsafe_svg_is_refused(svg: str) -> None:
    with pytest.raises(UnsafeSvg):
        safe_svg(svg)


def test_a_chart_svg_is_inlined_without_its_prologue() -> None:
    svg = ('<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/2000/svg" '
           'xmlns:xlink="http://www.w3.org/1999/xlink" id="chart-x"><defs><clipPath id="p1">'
           '<rect/></clipPath></defs><g clip-path="url(#p1)"><use xlink:href="#p1"/>'
           '<image xlink:href="data:image/png;base64,AAAA"/></g></svg>')
    body = safe_svg(svg)
    assert body.startswith("<svg ") and "<?xml" not in body and "DOCTYPE" not in body


def _rows() -> list[object]:
    return [
        make_observation("u", 0, "probe", {"hostname": "www.tiktok.com", "transaction_id": 1,
                                            "ip": "198.19.20.1", "dns_answer": "198.19.20.1",
                                            "dns_engine": "getaddrinfo", "dns_t": 0.01}),
        make_observation("u", 1, "probe", {"hostname": "www.tiktok.com", "transaction_id": 1,
                                            "ip": "198.19.20.1", "port": 443,
                                            "tcp_success": True, "tcp_t": 0.02,
                                            "tls_server_name": "www.tiktok.com",
                                            "tls_success": False,
                                            "tls_failure": "generic_timeout_error",
                                            "tls_handshake_write_count": 1, "tls_t": 2.02}),
        make_observation("u", 2, "probe", {"hostname": "a.example", "transaction_id": 2,
                                            "ip": "198.19.20.1", "port": 443,
                                            "tcp_success": False,
                                            "tcp_failure": "connection_refused"}),
    ]


def test_timeline_from_rows_follows_the_failed_handshake() -> None:
    rows = _rows()
    assert failing_row(rows).observation_idx == 1  # type: ignore[arg-type,union-attr]
    t = timeline_excerpt("u", rows, None)  # type: ignore[arg-type]
    assert t is not None and t.source == "observation rows" and t.transaction_id == 1
    assert [line.t for line in t.lines] == [0.01, 0.02, 2.02]
    assert t.lines[-1].text == ("TLS handshake 198.19.20.1:443 server name www.tiktok.com → "
                                "generic_timeout_error after 1 write(s)")


def test_timeline_from_the_raw_measurement_marks_the_client_hello() -> None:
    raw = {"test_keys": {
        "queries": [{"transaction_id": 1, "t": 0.01, "engine": "getaddrinfo",
                     "query_type": "ANY", "hostname": "www.tiktok.com", "failure": None,
                     "answers": [{"ipv4": "198.19.20.1"}]}],
        "tls_handshakes": [{"transaction_id": 1, "server_name": "www.tiktok.com",
                            "failure": "generic_timeout_error"}],
        "network_events": [
            {"transaction_id": 1, "t": 0.02, "operation": "connect",
             "address": "198.19.20.1:443", "failure": None},
            {"transaction_id": 1, "t": 0.021, "operation": "tls_handshake_start"},
            {"transaction_id": 1, "t": 0.022, "operation": "write",
             "address": "198.19.20.1:443", "num_bytes": 517},
            {"transaction_id": 1, "t": 2.02, "operation": "read",
             "address": "198.19.20.1:443", "failure": "generic_timeout_error"},
            {"transaction_id": 1, "t": 2.021, "operation": "tls_handshake_done"},
            {"transaction_id": 2, "t": 0.5, "operation": "connect", "address": "x\x1b[31m"},
        ]}}
    t = timeline_excerpt("u", _rows(), raw)  # type: ignore[arg-type]
    assert t is not None and t.source == "raw measurement"
    assert [line.text for line in t.lines] == [
        "DNS getaddrinfo ANY www.tiktok.com → 198.19.20.1",
        "connect 198.19.20.1:443 → ok",
        "tls_handshake_start server name www.tiktok.com",
        "write 198.19.20.1:443 517 bytes (the ClientHello)",
        "read 198.19.20.1:443 → generic_timeout_error",
        "tls_handshake_done → generic_timeout_error",
    ]


def test_targets() -> None:
    assert ReportTarget.parse("TikTok").spec == "service:tiktok"
    assert ReportTarget.parse("www.Example.org.").spec == "domain:www.example.org"
    assert ReportTarget.parse("domain:x.example").spec == "domain:x.example"
    with pytest.raises(ValueError):
        ReportTarget.parse("two words")
    tiktok = ReportTarget.parse("tiktok")
    assert tiktok.matches({"target": "services:facebook+tiktok"})
    assert not tiktok.matches({"target": "service:youtube"})
    www = ReportTarget.parse("www.tiktok.com")
    assert www.matches({"target": "service:tiktok",
                        "networks": [{"endpoints": ["www.tiktok.com"]}]})
    scope = scope_of(tiktok, [])
    assert scope.covers("service", "tiktok", "tiktok")
    assert scope.covers("web_connectivity", "https://www.tiktok.com/", "www.tiktok.com")
    assert not scope.covers("service", "youtube", "youtube")
    assert not scope.covers("web_connectivity", "https://example.org/", "example.org")
    assert scope_of(None, []) == TargetScope(frozenset(), frozenset(), everything=True)


def test_atomic_directory_is_all_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with atomic_directory(out) as tmp:
        write_text(tmp / "a.txt", "first")
    assert (out / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError), atomic_directory(out) as tmp:
        write_text(tmp / "a.txt", "second")
        write_text(tmp / "b.txt", "partial")
        raise RuntimeError("boom")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    assert (out / "a.txt").read_text() == "first"
    with atomic_directory(out) as tmp:
        write_text(tmp / "c.txt", "third")
    assert sorted(p.name for p in out.iterdir()) == ["c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert out.stat().st_mode & 0o055  # readable by others, unlike mkdtemp's 0700
