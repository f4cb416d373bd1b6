"""The interop harness itself: OONI's own models load the real Web Connectivity samples.

This proves the harness used for our own measurements can tell a loadable measurement from a
broken one: it loads the real ones and rejects damaged ones. Two real samples are known to be
rejected by oonidata 0.3.0 itself (fastpath regression fixtures for broken probes): one has
``test_keys: null`` and one has a request without a body field in a shape oonidata refuses.
"""

from __future__ import annotations

from tests.interop.conftest import load_with_oonidata, real_web_connectivity_samples

KNOWN_UNLOADABLE = {
    "fastpath/test_keys_none.json#0",
    "fastpath/web_connectivity_no_body.json#0",
}


def test_real_web_connectivity_samples_load() -> None:
    samples = real_web_connectivity_samples()
    # 24 full measurements in shared/data today (the 911 rows of detector_query_ww_BR_2018.json
    # are API metadata rows without report_id or test_keys, not measurements).
    assert len(samples) >= 24
    result = load_with_oonidata([m for _, m in samples])
    rejected = {samples[e["line"] - 1][0] for e in result["errors"]}
    assert rejected == KNOWN_UNLOADABLE
    assert result["loaded"] == len(samples) - len(KNOWN_UNLOADABLE)


def test_harness_rejects_a_damaged_measurement() -> None:
    _, sample = next(
        (name, m) for name, m in real_web_connectivity_samples()
        if isinstance(m.get("test_keys"), dict) and m["test_keys"].get("tcp_connect")
    )
    broken = dict(sample)
    broken["test_keys"] = dict(sample["test_keys"], tcp_connect="not a list")
    result = load_with_oonidata([broken])
    assert result["loaded"] == 0
    assert len(result["errors"]) == 1
