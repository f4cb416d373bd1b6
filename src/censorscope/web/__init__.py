"""The explorer: HTML pages over the API, served by ``censorscope serve`` in the same process.

:func:`create_site` is the API app (``censorscope.api.create_app``) plus the explorer's pages
at ``/`` and its assets at ``/static/``. Every page is rendered by Jinja2 (autoescaped) from one
JSON-able dict, which is also served as the page's JSON twin: the same path with ``.json``
(``/search`` → ``/search.json``, ``/measurement/<uid>`` → ``/measurement/<uid>.json``). All
assets ship in the package (no CDN); pages work without JavaScript. See docs/explorer.md.
"""

from __future__ import annotations

from .site import create_site, site_from_env

__all__ = ["create_site", "site_from_env"]
