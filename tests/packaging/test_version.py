"""The version has one source: ``censorscope.__version__``. pyproject.toml declares it dynamic
and reads that attribute (so the package metadata carries it), and ``censorscope --version``
prints it. tests/packaging/test_wheel.py checks an installed wheel's metadata against it."""

from __future__ import annotations

import re
import tomllib

from click.testing import CliRunner

import censorscope
from censorscope.cli.main import cli
from tests.packaging.wheelkit import REPO


def test_pyproject_takes_the_version_from_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "censorscope.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", censorscope.__version__)


def test_version_option_prints_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"censorscope, version {censorscope.__version__}\n"
