"""A store names itself without the password of its URL (messages, reports, cost traces)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from censorscope.cli.main import cli
from censorscope.store import display_url


@pytest.mark.parametrize(("url", "shown"), [
    ("clickhouse://writer:s3cret@db.example:9000/censorscope",
     "clickhouse://writer@db.example:9000/censorscope"),
    ("clickhouse+cluster://:s3cret@db:9000/cs?cluster=c", "clickhouse+cluster://db:9000/cs?cluster=c"),
    ("clickhouse://reader@db/cs", "clickhouse://reader@db/cs"),
    ("duckdb:///var/lib/censorscope/store.duckdb", "duckdb:///var/lib/censorscope/store.duckdb"),
    ("duckdb:out/demo/censorscope.duckdb", "duckdb:out/demo/censorscope.duckdb"),
])
def test_display_url_drops_only_the_password(url: str, shown: str) -> None:
    assert display_url(url) == shown


@pytest.mark.parametrize("command", [
    ["cost", "--incident", "x", "--store"],
    ["report", "--country", "AZ", "--out", "{tmp}/r", "--store"],
])
def test_commands_never_print_the_password(command: list[str], tmp_path: object) -> None:
    # port 1 on localhost: nothing listens, so opening the store fails and the message names it
    url = "clickhouse://writer:s3cret@127.0.0.1:1/censorscope"
    args = [a.replace("{tmp}", str(tmp_path)) for a in command] + [url]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert "127.0.0.1:1" in result.output
    assert "s3cret" not in result.output
