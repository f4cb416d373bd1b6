"""Writes the README's pictures from a demo's output (``censorscope demo``, default
``out/demo``): the explorer's incident page of TikTok in Azerbaijan, shot in Debian's headless
Chromium against ``censorscope serve`` on the demo's store, and the report's failures-per-name
chart as PNG (``censorscope report --png``).

    .venv/bin/python scripts/docs_images.py [out/demo]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
CLI = str(Path(sys.executable).with_name("censorscope"))
PORT = 8765


def main(argv: list[str]) -> int:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    out = Path(argv[0]) if argv else ROOT / "out" / "demo"
    store = f"duckdb:///{(out / 'censorscope.duckdb').resolve()}"
    incidents = json.loads((out / "incidents.json").read_text())
    (tiktok,) = [i for i in incidents if i["cc"] == "AZ" and i["target"] == "service:tiktok"]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([CLI, "report", "--store", store, "--country", "AZ", "--target", "tiktok",
                        "--since", tiktok["start"][:10], "--out", f"{tmp}/r", "--png"],
                       check=True, stdout=subprocess.DEVNULL)
        shutil.copyfile(f"{tmp}/r/charts/failures_by_name.png", IMAGES / "chart-failures.png")
    server = subprocess.Popen([CLI, "serve", "--store", store, "--port", str(PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    profile = tempfile.mkdtemp()
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1500",
                     f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")
                                                  or "/usr/bin/chromedriver"), options=options)
        try:
            driver.get(f"http://127.0.0.1:{PORT}/incidents/{tiktok['id']}")
            driver.save_screenshot(str(IMAGES / "explorer-incident.png"))
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"{IMAGES / 'explorer-incident.png'}, {IMAGES / 'chart-failures.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
