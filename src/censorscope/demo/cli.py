"""``censorscope demo``: the seed cases measured in the lab, then the whole observatory on them
(collection, analysis, detection, verification, reports, cost, the explorer), ending with one
screen of what was found; without root or network namespaces, the part that needs neither.

Exit status: 0 done; 1 an evidence statement did not hold (``verify``); 2 bad usage (an
output directory that is not the demo's); 3 a step failed (its message names the log);
130 interrupted (everything started was stopped).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click

from censorscope.web.child import free_port, serving

from .cases import CASES, Case
from .recorded import ooni_samples, recordings
from .story import case_window, tell
from .summary import summary_lines

__all__ = ["demo", "lab_unavailable"]

Window = tuple[Case, datetime, datetime]
MARK = ".censorscope-demo"  # a directory holding this file is the demo's to replace


def lab_unavailable() -> str | None:
    """Why the lab cannot run here (None: it can): root, ``ip`` and ``iptables``, and the
    kernel letting us make a network namespace."""
    if os.geteuid() != 0:
        return "the lab builds network namespaces and packet filters, which needs root"
    for tool in ("ip", "iptables", "unshare"):
        if shutil.which(tool) is None:
            return f"the lab needs the {tool} command (bash scripts/setup.sh installs it)"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return ("this kernel or container does not let us create network namespaces "
                f"({probe.stderr.decode(errors='replace').strip() or 'unshare --net failed'})")
    return None


def _cli() -> str:
    beside = Path(sys.executable).with_name("censorscope")
    return str(beside) if beside.exists() else (shutil.which("censorscope") or "censorscope")


def _fresh(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / MARK).exists():
        raise click.UsageError(f"{out} exists and is not a demo output directory (no {MARK}); "
                               "choose another --out")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / MARK).write_text("written by censorscope demo; replaced by the next run\n")


@click.command("demo")
@click.option("--out", "out", default="out/demo", show_default=True,
              type=click.Path(path_type=Path, file_okay=False),
              help="Where everything goes (replaced at every run).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="The explorer's port (another free one if it is taken).")
@click.option("--serve/--no-serve", "serve", default=None,
              help="Keep serving the explorer at the end until Ctrl-C (default: when the "
                   "terminal is interactive).")
@click.option("--unprivileged", is_flag=True,
              help="Skip the lab even as root: use the shipped recordings and OONI samples.")
@click.option("--rounds", default=2, show_default=True, type=click.IntRange(1, 5),
              help="Rounds of measurements per phase in the lab.")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
def demo(out: Path, port: int, serve: bool | None, unprivileged: bool, rounds: int,
         files: tuple[Path, ...]) -> None:
    """Run the observatory end to end on the seed cases (and any OONI FILES given)."""
    started = time.monotonic()

    def say(line: str) -> None:
        click.echo(f"[{time.monotonic() - started:5.0f} s] {line}")

    out = out.resolve()
    _fresh(out)
    cli = _cli()
    store_url = f"duckdb:///{out / 'censorscope.duckdb'}"
    explorer_port = free_port(port)
    explorer_url = f"http://127.0.0.1:{explorer_port}"
    why = "--unprivileged was given" if unprivileged else lab_unavailable()
    try:
        if why is None:
            windows, tables = _lab_part(cli, store_url, out, rounds, say)
        else:
            click.echo(f"censorscope demo: not running the lab: {why}.\n"
                       "Running the part that needs neither root nor namespaces: the recorded "
                       "lab runs of the three cases and the real OONI samples shipped with "
                       "censorscope are imported, scored, detected, reported on and served.")
            windows, tables = _recorded_part(cli, store_url, out, say)
        if files:
            say(f"importing {len(files)} file(s) you gave (censorscope ingest) …")
            _ingest(cli, store_url, [str(f) for f in files], out)
        story = tell(windows, cli=cli, store_url=store_url, asn_tables=tables, out=out,
                     explorer_url=explorer_url, say=say)
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        keep = interactive if serve is None else serve
        say(f"starting the explorer (censorscope serve --store {store_url} "
            f"--port {explorer_port}) …")
        with serving([cli], store_url, explorer_port, out / "explorer.log",
                     ready=("/", "/api/v1/incidents")) as (proc, base):
            for line in summary_lines(story, explorer=base, served=keep):
                click.echo(line)
            click.echo(f"\nall in {out} ({time.monotonic() - started:.0f} s); serve it again:\n"
                       f"  {cli} serve --store {store_url} --port {explorer_port}")
            if keep:
                click.echo(f"serving {base}/ until Ctrl-C …")
                proc.wait()
    except KeyboardInterrupt:
        click.echo("\ncensorscope demo: interrupted; everything it started is stopped", err=True)
        sys.exit(130)
    except (RuntimeError, OSError) as exc:
        click.echo(f"censorscope demo: {exc}", err=True)
        sys.exit(3)
    sys.exit(1 if story.verify.get("false") else 0)


def _ingest(cli: str, store_url: str, paths: list[str], out: Path) -> None:
    with (out / "commands.log").open("a") as log:
        proc = subprocess.run([cli, "ingest", "--store", store_url, "--no-analyze",
                               "--no-progress", *paths], stdout=log, stderr=subprocess.STDOUT,
                              check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"censorscope ingest failed (exit {proc.returncode}); see "
                           f"{out / 'commands.log'}")


def _lab_part(cli: str, store_url: str, out: Path, rounds: int, say: Callable[[str], None]
              ) -> tuple[list[Window], list[Path]]:
    from .labrun import run_case

    windows: list[Window] = []
    tables: list[Path] = []
    for case in CASES.values():
        run = run_case(case, cli=cli, store_url=store_url, out=out, lab_prefix="csdemo",
                       say=say, rounds=rounds)
        span = case_window(run.files)
        if span is not None:
            windows.append((case, *span))
        if run.asn_table is not None:
            tables.append(run.asn_table)
    return windows, tables


def _recorded_part(cli: str, store_url: str, out: Path, say: Callable[[str], None]
                   ) -> tuple[list[Window], list[Path]]:
    found = recordings()
    samples = ooni_samples()
    say(f"importing {len(found)} recorded lab run(s) and {len(samples)} file(s) of real OONI "
        "measurements (censorscope ingest) …")
    _ingest(cli, store_url, [str(r.measurements) for r in found] + [str(p) for p in samples],
            out)
    windows: list[Window] = []
    for r in found:
        span = case_window([r.measurements])
        if span is not None:
            windows.append((r.case, *span))
    return windows, [r.asn_table for r in found]
