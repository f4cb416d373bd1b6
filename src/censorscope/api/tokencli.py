"""``censorscope token new --role ROLE --tokens FILE``: make a bearer token for the API's
writes, print it once on stdout, and append its hash line to FILE (made readable by its
owner only). ``censorscope serve --tokens FILE`` takes it at the next request, no restart
needed. Exit statuses: 0 made; 2 a token file that cannot be read, written, or has a bad line
(nothing is appended to it)."""

from __future__ import annotations

import sys

import click

from .tokens import ROLES, TokenFileError, append_token

__all__ = ["token"]


@click.group("token")
def token() -> None:
    """Bearer tokens of the API's writes (findings, feedback on verdicts)."""


@token.command("new")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="analyst: findings and feedback; admin: also deletes findings.")
@click.option("--tokens", "tokens_file", required=True, metavar="FILE",
              help="The token file of censorscope serve --tokens (created if missing).")
def new(role: str, tokens_file: str) -> None:
    """Print a fresh token (shown only now) and append its hash to FILE."""
    try:
        made = append_token(tokens_file, role)
    except (OSError, UnicodeDecodeError, TokenFileError) as exc:
        click.echo(f"censorscope: {exc}", err=True)
        sys.exit(2)
    click.echo(made)
    click.echo(f"token: an {role} token; its hash is in {tokens_file} (the token itself is "
               "not kept: store it now)", err=True)
