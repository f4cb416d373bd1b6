"""Everything after the measurements, through the real commands, as an analyst would run them:
score the store (``reprocess --lab`` with the lab networks' ASN tables), ``detect``, ``verify``
every evidence statement, one ``report`` per case (its country, target and window, linked to
the explorer), with the cost of each shutdown and services restriction as the report prices it
(``censorscope cost``'s methods over the case's window).

A case's window is the span of its measurements' (lab-clock) start times, so the two
Azerbaijan cases, two years apart, get a report each.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .cases import Case

__all__ = ["CaseStory", "Story", "case_window", "tell"]


@dataclass
class CaseStory:
    """What the store says about one case: its window, incidents, outages, report."""

    case: Case
    since: datetime
    until: datetime
    incidents: list[dict[str, Any]] = field(default_factory=list)
    outages: list[dict[str, Any]] = field(default_factory=list)
    report: Path | None = None
    costs: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> cost JSON


@dataclass
class Story:
    cases: list[CaseStory]
    verify: dict[str, Any]
    measurements: int
    other_incidents: list[dict[str, Any]] = field(default_factory=list)


def case_window(files: Iterable[Path]) -> tuple[datetime, datetime] | None:
    """The first and last ``measurement_start_time`` of the measurements in ``files``."""
    times = []
    for path in files:
        data = path.read_bytes()
        text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")
        for line in text.splitlines():
            if line.strip():
                stamp = json.loads(line).get("measurement_start_time")
                if stamp:
                    times.append(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S"))
    return (min(times), max(times)) if times else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.removesuffix("Z")) if text else None


class _Cli:
    def __init__(self, cli: str, store_url: str, log: Path) -> None:
        self.cli, self.store_url, self.log = cli, store_url, log

    def __call__(self, *args: str, ok: Sequence[int] = (0,)) -> subprocess.CompletedProcess[str]:
        argv = [self.cli, *args]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(f"$ censorscope {' '.join(args)}\n{proc.stdout}{proc.stderr}\n")
        if proc.returncode not in ok:
            raise RuntimeError(f"censorscope {args[0]} failed (exit {proc.returncode}); "
                               f"see {self.log}:\n{proc.stderr[-1500:]}")
        return proc


def tell(windows: Sequence[tuple[Case, datetime, datetime]], *, cli: str, store_url: str,
         asn_tables: Sequence[Path], out: Path, explorer_url: str | None,
         say: Callable[[str], None]) -> Story:
    """Score, detect, verify, report and price; the story per case."""
    run = _Cli(cli, store_url, out / "commands.log")
    asn = out / "asn.tsv"
    asn.write_text("".join(p.read_text("utf-8") for p in asn_tables), "utf-8")
    say("scoring every stored measurement (censorscope reprocess --lab) …")
    line = run("reprocess", "--store", store_url, "--lab", "--asn-table", str(asn)).stdout
    say("  " + line.strip())
    say("finding change points, incidents and outages (censorscope detect) …")
    say("  " + run("detect", "--store", store_url).stdout.strip().splitlines()[-1])
    say("checking every evidence statement against the measurements (censorscope verify) …")
    checked = json.loads(run("verify", "--store", store_url, "--json", ok=(0, 1)).stdout)
    incidents = json.loads(run("incidents", "--store", store_url, "--format", "json").stdout)
    outages = json.loads(run("outages", "--store", store_url, "--format", "json").stdout)
    (out / "incidents.json").write_text(json.dumps(incidents, indent=1), "utf-8")
    (out / "outages.json").write_text(json.dumps(outages, indent=1), "utf-8")

    stories, claimed = [], set()
    for case, first, last in windows:
        story = CaseStory(case, first, last + timedelta(seconds=1))
        for inc in incidents:
            start = _when(inc["start"])
            if inc["cc"] == case.country and start and first <= start <= story.until:
                story.incidents.append(inc)
                claimed.add(inc["id"])
        for o in outages:
            start = _when(o["start"])
            if o["cc"] == case.country and start and first <= start <= story.until:
                story.outages.append(o)
        stories.append(story)
    for story in stories:
        case = story.case
        say(f"writing the report of {case.scenario} (censorscope report) …")
        target = ("--target", case.target) if case.target else ()
        dest = out / "reports" / case.scenario
        args = ["report", "--store", store_url, "--country", case.country, *target,
                "--since", story.since.isoformat(), "--until", story.until.isoformat(),
                "--out", str(dest), "--format", "html,md"]
        if explorer_url:
            args += ["--explorer-url", explorer_url]
        proc = run(*args, ok=(0, 7))  # 7: nothing detected in the window to report on
        if proc.returncode == 0:
            story.report = dest / "report.html"
            facts = json.loads((dest / "report.json").read_text("utf-8"))
            # priced as the report prices them: over the case's window (an event still
            # ongoing at the end of the data is priced up to the data's end, not to today)
            for event in facts["incidents"] + facts["outages"]:
                if event.get("cost"):
                    story.costs[event["id"]] = event["cost"]
    return Story(stories, checked, int(checked.get("verdicts", 0)),
                 [i for i in incidents if i["id"] not in claimed])
