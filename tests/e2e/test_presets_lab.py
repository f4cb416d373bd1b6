"""``probe run --preset websites`` with ``--max-runtime`` in the lab, from a blocking network.

In ``az-2022-tiktok`` phase ``blocked-delta``, Delta Telecom drops ClientHellos naming TikTok.
The preset's Web Connectivity step measures a given list (a newer copy by path) in category
order (GRP before MISC), writes one report, and notes both URLs in the history file; TikTok
shows the TLS failure, the harmless site on the same cache does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.labkit import lab_running, probe_run, requires_root

pytestmark = [pytest.mark.lab, requires_root]


def test_websites_preset_orders_by_category_and_keeps_history(tmp_path: Path) -> None:
    test_list, history = tmp_path / "az-new.csv", tmp_path / "history.json"
    test_list.write_text(
        "url,category_code,category_description,date_added,source,notes\n"
        "https://www.example.org/,MISC,Miscellaneous content,2022-09-01,test,\n"
        "https://www.tiktok.com/,GRP,Social Networking,2022-09-01,test,\n")
    with lab_running("az-2022-tiktok", "blocked-delta") as (lab, state):
        lines = probe_run(lab, state, "delta", [], tmp_path / "out.jsonl",
                          "--preset", "websites", "--test-list", str(test_list),
                          "--max-runtime", "60", "--history", str(history), "--parallel", "1")
    assert [m["input"] for m in lines] == ["https://www.tiktok.com/", "https://www.example.org/"]
    assert {m["test_name"] for m in lines} == {"web_connectivity"}
    assert len({m["report_id"] for m in lines}) == 1
    tiktok, example = lines
    assert tiktok["test_keys"]["blocking"] == "http-failure"
    assert example["test_keys"]["blocking"] is False
    networks = json.loads(history.read_text())["networks"]
    [(network, experiments)] = networks.items()
    assert network == tiktok["probe_asn"] == "AS29049"  # Delta Telecom
    assert sorted(experiments["web_connectivity"]) == sorted(m["input"] for m in lines)
