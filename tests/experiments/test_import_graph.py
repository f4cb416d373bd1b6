"""The layers of the measuring side import one way: ``net`` ← ``trace`` ← ``experiments`` ←
``probe``, and ``control`` (the test helper, a server of its own) only ``net``, ``model`` and
``serve``. ``serve`` (strict HTTP/1.1 for internet-facing servers) imports only ``model``; the
servers built on it (``control``, ``collector``) never import each other.

Every ``import`` in the source is read, including those inside functions, so a lazy import
cannot hide a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "censorscope"

# package -> the censorscope packages it may import (besides itself, the top-level
# ``censorscope`` for ``__version__`` and shared top-level modules such as ``durable``)
ALLOWED: dict[str, set[str]] = {
    "net": {"model"},
    "trace": {"model", "net"},
    "experiments": {"model", "net", "trace"},
    "probe": {"model", "net", "trace", "experiments"},
    "control": {"model", "net", "serve"},
    "serve": {"model"},
    "collector": {"model", "serve", "archive", "ingest", "store"},
}


def _imported_packages(path: Path, root: Path = SRC) -> set[str]:
    """The ``censorscope`` sub-packages ``path`` (under ``root``) imports, relative imports
    resolved (``__init__.py`` is its own package, like any module's directory)."""

    package = ["censorscope", *path.relative_to(root).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names = [".".join([*base, *([node.module] if node.module else [])])]
            else:
                names = [node.module or ""]
        for name in names:
            parts = name.split(".")
            if parts[0] == "censorscope" and len(parts) > 1:
                found.add(parts[1])
    return found


def _top_level_modules() -> set[str]:
    """``censorscope/<name>.py`` helpers every layer may use (they are not packages)."""

    return {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package: str) -> None:
    wrong = {}
    for path in sorted((SRC / package).rglob("*.py")):
        bad = (_imported_packages(path) - ALLOWED[package] - {package}
               - _top_level_modules())
        if bad:
            wrong[str(path.relative_to(SRC))] = sorted(bad)
    assert not wrong, f"{package} imports outside its layer: {wrong}"


def test_the_check_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    module = tmp_path / "experiments" / "sample" / "mod.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from . import sibling\n"
        "from ...net import conn\n"
        "def f():\n"
        "    from censorscope.control.client import call_control\n"
        "    import censorscope.probe.cli\n"
    )
    assert _imported_packages(module, tmp_path) == {"experiments", "net", "control", "probe"}
    assert "experiments" in _imported_packages(SRC / "probe" / "runner.py")
