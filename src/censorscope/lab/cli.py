"""``censorscope lab``: up, down, list, status, exec, phase.

Errors are printed as one line on stderr; a missing root privilege or a bad scenario exits 2,
other lab errors 1. ``lab exec`` returns the command's own exit code.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from censorscope.lab.errors import LabError

PREFIX_HELP = "lab name prefix (env CENSORSCOPE_LAB_PREFIX, default 'cs')"


F = TypeVar("F", bound=Callable[..., Any])


def _prefix_option(f: F) -> F:
    return click.option("--prefix", "-p", envvar="CENSORSCOPE_LAB_PREFIX", default="cs",
                        show_default=True, help=PREFIX_HELP)(f)


def _fail(exc: LabError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def lab() -> None:
    """Build and drive the censorship lab (a small internet in network namespaces; needs root)."""


@lab.command("list")
def list_cmd() -> None:
    """List the bundled scenarios."""
    from censorscope.lab.scenarios import catalogue

    for name, desc in catalogue().items():
        click.echo(f"{name}\t{desc}")


@lab.command()
@click.argument("scenario")
@_prefix_option
@click.option("--phase", default=None, help="initial phase (default: the scenario's first)")
def up(scenario: str, prefix: str, phase: str | None) -> None:
    """Bring SCENARIO (a catalogue name or a .toml path) up; idempotent."""
    from censorscope.lab.runtime import Lab, require_root
    from censorscope.lab.scenarios import load

    t0 = time.monotonic()
    try:
        require_root()
        sc = load(scenario)
        st = Lab(prefix).up(sc, phase)
    except LabError as exc:
        _fail(exc)
    click.echo(
        f"lab {st.prefix!r} up: scenario {st.scenario}, phase {st.phase}, "
        f"{len(set(st.namespaces.values()))} namespaces ({time.monotonic() - t0:.2f} s)"
    )


@lab.command()
@_prefix_option
def down(prefix: str) -> None:
    """Remove everything of the lab (processes, namespaces, files), even after a crash."""
    from censorscope.lab.runtime import Lab

    try:
        Lab(prefix).down()
    except LabError as exc:
        _fail(exc)
    click.echo(f"lab {prefix!r} down")


@lab.command()
@_prefix_option
@click.option("--json", "as_json", is_flag=True, help="print the whole state as JSON")
def status(prefix: str, as_json: bool) -> None:
    """Show the running lab (exit 1 when it is not up)."""
    from censorscope.lab import processes
    from censorscope.lab.runtime import Lab, require_root

    try:
        require_root()
        lab_ = Lab(prefix)
        st = lab_.status()
    except LabError as exc:
        _fail(exc)
    if st is None:
        if as_json:
            click.echo("null")
        else:
            click.echo(f"lab {prefix!r} is not up")
        sys.exit(1)
    if as_json:
        data = st.to_json()
        data["healthy"] = lab_.healthy(st)
        click.echo(json.dumps(data, indent=1))
        return
    click.echo(f"lab {st.prefix!r}: scenario {st.scenario}, phase {st.phase}, "
               f"{'healthy' if lab_.healthy(st) else 'DEGRADED'}")
    click.echo(f"state: {st.state_dir}")
    for isp, info in st.isps.items():
        click.echo(f"  isp {isp}: {info['prefix']} resolver {info['resolver_ip']} "
                   f"probes {', '.join(info['probe_hosts'])}")
    for p in st.all_pids():
        click.echo(f"  {p.name:<16} pid {p.pid:<7} {'up' if processes.alive(p) else 'DEAD'}")


@lab.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("host")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
@_prefix_option
def exec(host: str, argv: tuple[str, ...], prefix: str) -> None:
    """Run a command inside a lab HOST: lab exec acme-p1 -- curl http://www.example.org/"""
    from censorscope.lab.runtime import Lab, require_root

    args = list(argv)
    if args and args[0] == "--":
        args = args[1:]
    try:
        require_root()
        lab_ = Lab(prefix)
        st = lab_.status()
        if st is None:
            raise LabError(f"lab {prefix!r} is not up")
        ns = st.netns(host)
    except LabError as exc:
        _fail(exc)
    from censorscope.lab.netns import exec_argv

    sys.exit(subprocess.call(exec_argv(ns, args)))


@lab.command()
@click.argument("name")
@_prefix_option
def phase(name: str, prefix: str) -> None:
    """Switch the running lab to phase NAME."""
    from censorscope.lab.runtime import Lab

    t0 = time.monotonic()
    try:
        Lab(prefix).phase(name)
    except LabError as exc:
        _fail(exc)
    click.echo(f"lab {prefix!r} phase {name} ({time.monotonic() - t0:.2f} s)")
