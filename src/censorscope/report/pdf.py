"""PDF from the report's HTML with Debian's headless Chromium (``--print-to-pdf``).

:func:`find_chromium` looks for ``/usr/bin/chromium`` or ``chromium`` on ``PATH`` (checked
before anything is written, so a missing browser is a clear error, not a half-made report).
:func:`print_pdf` runs it with the flags this needs on a server — no sandbox as root, no GPU,
no first-run, no background networking, no component updates or sync — and a throwaway
profile directory, and checks that a PDF came out.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

__all__ = ["CHROMIUM_FLAGS", "CHROMIUM_PATHS", "PdfError", "find_chromium", "print_pdf"]

CHROMIUM_FLAGS: Final = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-pdf-header-footer")
TIMEOUT_S: Final = 120.0
# where Debian puts it, then the name looked up on PATH
CHROMIUM_PATHS: tuple[str, ...] = ("/usr/bin/chromium",)
CHROMIUM_NAME = "chromium"


class PdfError(RuntimeError):
    """No browser to print with, or printing failed."""


def find_chromium() -> str:
    """The Chromium executable (the first of ``CHROMIUM_PATHS``, else ``chromium`` on
    ``PATH``); PdfError when there is none."""
    for candidate in (*CHROMIUM_PATHS, shutil.which(CHROMIUM_NAME)):
        if candidate and Path(candidate).is_file():
            return candidate
    raise PdfError("--format pdf needs Chromium (Debian's chromium package: apt-get install "
                   f"chromium); none found at {', '.join(CHROMIUM_PATHS)} or on PATH")


def print_pdf(html_file: Path, pdf_file: Path, chromium: str | None = None) -> None:
    """Print ``html_file`` to ``pdf_file`` with headless Chromium."""
    browser = chromium or find_chromium()
    profile = tempfile.mkdtemp(prefix="censorscope-pdf-")
    try:
        args = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                f"--print-to-pdf={pdf_file}", html_file.absolute().as_uri()]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfError(f"Chromium could not print the report: {exc}") from None
        if proc.returncode != 0 or not pdf_file.is_file() or pdf_file.stat().st_size == 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
            raise PdfError(f"Chromium could not print the report (exit {proc.returncode}): "
                           f"{detail[0]}")
        with pdf_file.open("rb") as fh:
            if fh.read(5) != b"%PDF-":
                raise PdfError("Chromium wrote something that is not a PDF")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
