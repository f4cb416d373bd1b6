"""What every endpoint needs from the application: its store pool and settings, and the
checks shared by the list endpoints."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Query, Request

from .errors import bad_parameter
from .settings import Settings
from .storepool import StorePool

__all__ = ["UID_PATTERN", "Uid", "check_page_size", "pool_of", "settings_of"]

# measurement uids: OONI's (20230530180835.123456_US_webconnectivity_abcdef…) and derived ones
UID_PATTERN: Final = r"^[A-Za-z0-9_.\-]{1,200}$"
Uid = Annotated[str, Query(pattern=UID_PATTERN, description="The measurement's uid.")]


def pool_of(request: Request) -> StorePool:
    pool: StorePool = request.app.state.pool
    return pool


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def check_page_size(limit: int | None, settings: Settings) -> int:
    """``limit`` or the default page size; a 400 above the maximum."""
    if limit is None:
        return settings.default_page_size
    if limit > settings.max_page_size:
        raise bad_parameter("limit", f"at most {settings.max_page_size} per page; "
                            "page on with next_cursor", limit)
    return limit
