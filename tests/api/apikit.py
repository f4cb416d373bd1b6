"""API test kit: the test store's contents and settings, and TestClients on a store URL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient

from censorscope.api import Settings, create_app
from censorscope.model.detection import Outage

# a window that holds every sample (2014 … 2025) and the TikTok case (2022-09)
WIDE = {"since": "2010-01-01", "until": "2030-01-01"}
WIDE_SETTINGS = Settings(search_window_days=365 * 30, aggregation_window_days=365 * 30,
                         quotas=())
UNANALYSED_UID = "api-test-unanalysed"
OUTAGES = (
    Outage("RU", 12389, "shutdown", datetime(2022, 3, 1, 10), datetime(2022, 3, 2, 4), 0.93,
           {"failing_share": 1.0, "control_reachable_share": 0.0}, ("ru-1", "ru-2"), "test"),
    Outage("RU", None, "probes_offline", datetime(2022, 3, 5, 0), None, 0.71,
           {"volume_ratio": 0.02}, ("ru-3",), "test"),
    Outage("RU", 8359, "slow", datetime(2022, 4, 1, 12), datetime(2022, 4, 3, 0), 0.6,
           {"speed_ratio": 0.2}, (), "test"),
)


@dataclass(frozen=True)
class ApiStore:
    path: Path

    @property
    def url(self) -> str:
        return f"duckdb://{self.path}"


def client_for(url: str, settings: Settings = WIDE_SETTINGS, **kw: object) -> TestClient:
    return TestClient(create_app(url, settings=settings), **kw)  # type: ignore[arg-type]
