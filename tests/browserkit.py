"""A real headless Chromium for browser tests: Debian's ``chromium`` driven by Selenium through
Debian's ``chromedriver`` (no browser download), and where screenshots go.

Chromium starts with the flags this machine needs (no sandbox as root, no GPU, no background
networking: its own connections would be refused by the closed network) and a fresh profile
directory per session. Screenshots are test artifacts under ``out/test-artifacts/`` (or
``$CENSORSCOPE_ARTIFACTS``), kept after the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

requires_chromium = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="Debian's chromium and chromium-driver are not installed (scripts/setup.sh)")

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,2000")


def artifacts_dir() -> Path:
    """Where tests leave screenshots (created)."""
    path = Path(os.environ.get("CENSORSCOPE_ARTIFACTS", ROOT / "out" / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A Selenium WebDriver on a fresh headless Chromium; quits it (and its profile) at the
    end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="censorscope-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
