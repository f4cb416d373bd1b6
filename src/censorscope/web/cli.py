"""``censorscope serve``: the API and the explorer in one uvicorn process (or ``--workers N``
processes through ``censorscope.web.site:site_from_env``). The command itself — options, the
store check and its exit statuses — is the API's (``censorscope.api.cli.serve_command``)."""

from __future__ import annotations

from censorscope.api.cli import serve_command

from .site import create_site

__all__ = ["serve"]


def _banner(host: str, port: int) -> str:
    return f"serve: explorer at http://{host}:{port}/search"


serve = serve_command(create_site, "censorscope.web.site:site_from_env",
                      what="the explorer and the API (OpenAPI at /openapi.json)",
                      banner=_banner)
