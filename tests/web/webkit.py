"""Explorer test kit: stores to serve (the lab's TikTok case through ingest/reprocess/detect,
and the real OONI samples through ingest), a TestClient on the site, and a small HTML reader
(stdlib ``html.parser``) that gives tables as rows of cell texts, links and elements by id."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
from fastapi.testclient import TestClient

from censorscope.api import Settings
from censorscope.web import create_site
from censorscope.web.child import free_port, serving
from tests.report.reportkit import build_store

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "ooni-samples"
SAMPLE_DIRS = ("fastpath", "webconnectivity-real", "spec-examples")
# no quotas, and windows wide enough for every sample (2014 … 2025)
TEST_SETTINGS = Settings(search_window_days=365 * 30, aggregation_window_days=365 * 30,
                         quotas=())
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def lab_store(directory: Path) -> str:
    """The lab's az-2022-tiktok case as a store (tests/report/reportkit.build_store)."""
    return build_store(directory)


def samples_store(directory: Path) -> str:
    """The real OONI samples ingested (and scored) into a DuckDB store; its URL."""
    from censorscope.ingest import ingest
    from censorscope.store import open_store

    directory.mkdir(parents=True, exist_ok=True)
    url = f"duckdb:///{directory / 'samples.duckdb'}"
    with open_store(url) as store:
        report = ingest([str(SAMPLES / d) for d in SAMPLE_DIRS], store, analyze=True)
    assert report.total("errors") == 0 and report.total("ingested") > 50
    return url


def site_client(url: str, settings: Settings = TEST_SETTINGS) -> TestClient:
    return TestClient(create_site(url, settings=settings))


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def iter(self, tag: str | None = None) -> Iterator[Element]:
        if tag is None or self.tag == tag:
            yield self
        for child in self.children:
            yield from child.iter(tag)

    def find_id(self, ident: str) -> Element | None:
        return next((e for e in self.iter() if e.attrs.get("id") == ident), None)

    def texts(self) -> str:
        """The element's text with blanks collapsed."""
        return " ".join(self.text.split())


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        for el in self.stack:
            el.text += data


def parse(html: str) -> Element:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.root


def table_rows(table: Element) -> list[list[str]]:
    """The body rows of a table as lists of cell texts (th and td)."""
    out = []
    for tr in table.iter("tr"):
        cells = [c for c in tr.children if c.tag in ("td", "th")]
        if cells and not any(c.tag == "th" and c.attrs.get("scope") == "col" for c in cells):
            out.append([c.texts() for c in cells])
    return out


def links(root: Element) -> list[str]:
    return [a.attrs["href"] for a in root.iter("a") if "href" in a.attrs]


def strip_timing(data: Any) -> Any:
    """``data`` without the query timings (they differ between two requests)."""
    if isinstance(data, dict):
        return {k: strip_timing(v) for k, v in data.items()
                if k not in ("query_time", "elapsed_seconds")}
    if isinstance(data, list):
        return [strip_timing(v) for v in data]
    return data


@contextmanager
def served(url: str, *, workers: int = 1, timeout: float = 60.0) -> Iterator[str]:
    """``censorscope serve`` on the store at ``url`` in a subprocess on a free port; yields
    its base URL (``http://127.0.0.1:<port>``) once it answers, stops it with SIGINT after."""
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="censorscope-serve-") as tmp, serving(
            [sys.executable, "-m", "censorscope.cli.main"], url, free_port(0),
            Path(tmp) / "serve.log", args=("--workers", str(workers), "--log-level", "warning"),
            ready=("/search.json",), wait=timeout) as (_, base):
        yield base


def read_only_sql(url: str) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection to the store at ``url`` (``duckdb:///path``)."""
    return duckdb.connect(url.removeprefix("duckdb:///"), read_only=True)


def wait_for(driver: Any, condition: str, timeout: float = 20.0) -> None:
    """Poll the page until the JavaScript ``condition`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not driver.execute_script(f"return {condition}"):
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        time.sleep(0.05)


def screenshot(driver: Any, name: str) -> Path:
    """A full-height screenshot of the page into tests/browserkit.artifacts_dir()/``name``."""
    from tests.browserkit import artifacts_dir

    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 40, 12000))
    path = artifacts_dir() / name
    assert driver.save_screenshot(str(path))
    driver.set_window_size(1280, 2000)
    assert path.stat().st_size > 10_000
    return path


def json_twin(path: str) -> str:
    """The path of a page's JSON twin: ``.json`` after the path, the query kept."""
    base, _, query = path.partition("?")
    return f"{base}.json" + (f"?{query}" if query else "")


def page_and_twin(client: TestClient, path: str) -> tuple[Element, dict[str, Any]]:
    """A page (parsed; it must answer 200 with HTML) and its JSON twin (200)."""
    page, twin = client.get(path), client.get(json_twin(path))
    assert page.status_code == twin.status_code == 200, (path, page.text[:500])
    assert page.headers["content-type"].startswith("text/html")
    return parse(page.text), twin.json()
