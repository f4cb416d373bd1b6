"""Entry point of the ``censorscope`` command.

Each capability owns its command group in its own package (``censorscope.lab.cli`` …); this
module only lists them and loads one when it is invoked, so ``censorscope --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from censorscope import __version__

# name -> (module, attribute, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "alerts": (
        "censorscope.alerts.cli", "alerts",
        "Announce incidents and outages once: Atom feed, signed webhooks.",
    ),
    "analyze": (
        "censorscope.ingest.analyze_cli", "analyze",
        "Print one explainable verdict per measurement (JSONL or table).",
    ),
    "reprocess": (
        "censorscope.ingest.analyze_cli", "reprocess",
        "Re-score stored observations with the current rules and fingerprints.",
    ),
    "verify": (
        "censorscope.ingest.verify_cli", "verify",
        "Check every stored evidence statement against the stored measurements.",
    ),
    "demo": (
        "censorscope.demo.cli", "demo",
        "The observatory end to end on the seed cases (the lab as root; recordings otherwise).",
    ),
    "lab": ("censorscope.lab.cli", "lab", "Build and drive the censorship lab (needs root)."),
    "probe": ("censorscope.probe.cli", "probe", "Run measurements (Web Connectivity …)."),
    "lists": (
        "censorscope.probe.lists_cli", "lists",
        "Show the Citizen Lab test lists: entries, counts per category, the legend.",
    ),
    "control": ("censorscope.control.cli", "control", "Run the test helper (control)."),
    "collector": (
        "censorscope.collector.cli", "collector",
        "Receive, archive and store measurements (OONI-compatible collector).",
    ),
    "ingest": (
        "censorscope.ingest.cli", "ingest",
        "Import OONI data files (JSONL, post-cans, JSON, bucket dirs) into the store.",
    ),
    "detect": (
        "censorscope.ingest.detect_cli", "detect",
        "Find change points, incidents and outages in the stored verdicts (idempotent).",
    ),
    "incidents": (
        "censorscope.ingest.detect_cli", "incidents",
        "List the detected incidents (table or JSON).",
    ),
    "outages": (
        "censorscope.ingest.detect_cli", "outages",
        "List the detected outages: probes offline, shutdown, blocking, slow.",
    ),
    "serve": (
        "censorscope.web.cli", "serve",
        "Serve the explorer and the API (OONI's endpoints, verdicts, incidents), read-only.",
    ),
    "token": (
        "censorscope.api.tokencli", "token",
        "Make a bearer token for the API's writes (findings, feedback on verdicts).",
    ),
    "report": (
        "censorscope.report.cli", "report",
        "Write the report of a country's incidents and outages (HTML, Markdown, charts).",
    ),
    "cost": (
        "censorscope.cost.cli", "cost",
        "What a disruption costs: low/central/high with every input and step.",
    ),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        rows = [(name, SUBCOMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="censorscope")
def cli() -> None:
    """censorscope: measure internet censorship, explain it, date it, report it."""


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
