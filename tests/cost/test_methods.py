"""Each cost method against values computed by hand from the raw World Bank numbers.

Azerbaijan 2020 (World Bank WDI): GDP 42,693,000,000 USD, internet users 84.6 %.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.cost import methods as m
from censorscope.cost.errors import CostInputError

AZ_2020_GDP = 42_693_000_000
AZ_2020_USERS = 84.6
AZ_2020_DAILY = AZ_2020_GDP / 365  # 116,967,123.29 USD/day


def test_daily_gdp_is_the_year_over_365() -> None:
    assert m.daily_gdp(AZ_2020_GDP) == pytest.approx(116_967_123.287671, rel=1e-12)
    assert m.DAYS_PER_YEAR == 365


@pytest.mark.parametrize(("users", "tier", "share"), [
    (0.0, "low", 0.004), (29.99, "low", 0.004), (30.0, "medium", 0.010),
    (64.99, "medium", 0.010), (65.0, "high", 0.019), (AZ_2020_USERS, "high", 0.019),
])
def test_deloitte_tier_and_share(users: float, tier: str, share: float) -> None:
    assert m.deloitte_tier(users) == tier
    assert m.deloitte_share(users) == share


def test_deloitte_azerbaijan_2020() -> None:
    # high connectivity: 1.9 % of 116,967,123.29 = 2,222,375.34 USD/day
    assert m.daily_gdp(AZ_2020_GDP) * m.deloitte_share(AZ_2020_USERS) == pytest.approx(
        2_222_375.342466, rel=1e-9)


def test_digital_share_interpolates_between_the_bcg_anchors() -> None:
    # 0.014 + (84.6 - 25.4) * (0.124 - 0.014) / (94.8 - 25.4) = 0.014 + 6.512 / 69.4
    expected = 0.014 + 59.2 * 0.11 / 69.4
    assert expected == pytest.approx(0.107832853, rel=1e-8)
    assert m.digital_share(AZ_2020_USERS) == pytest.approx(expected, rel=1e-12)
    # 116,967,123.29 * 0.107832853 = 12,612,898.61 USD/day
    assert AZ_2020_DAILY * m.digital_share(AZ_2020_USERS) == pytest.approx(12_612_898.61,
                                                                            rel=1e-9)
    assert m.digital_share(25.4) == pytest.approx(0.014)
    assert m.digital_share(94.8) == pytest.approx(0.124)
    assert m.digital_share(5.0) == 0.014  # clamped below (Chad 2020: 8.34 %)
    assert m.digital_share(100.0) == 0.124  # clamped above


def test_bcg_anchor_users_are_the_world_bank_values_of_2016() -> None:
    from censorscope.cost.economy import economy_table

    table = economy_table()
    assert table.lookup("ID", 2016).internet_users.value == m.BCG_LOW_ANCHOR[0] == 25.4
    assert table.lookup("GB", 2016).internet_users.value == m.BCG_HIGH_ANCHOR[0] == 94.8


def test_cost_share_is_the_top_of_the_post_2021_range() -> None:
    # UK c. 2023: $3.2 B/day on 2022 GDP -> 37.8 %; 116,967,123.29 * 0.378 = 44,213,572.60
    assert m.cost_share() == 0.378 == m.COST_POST_2021_SHARES[1]
    assert AZ_2020_DAILY * m.cost_share() == pytest.approx(44_213_572.60, rel=1e-9)


def test_services_classes_and_shares() -> None:
    blocked_2020 = ["facebook", "whatsapp", "youtube", "instagram", "tiktok", "linkedin",
                    "twitter", "zoom", "skype", "messenger"]
    assert m.app_classes(blocked_2020) == ("messaging", "photo_video_sharing",
                                           "social_network", "video_calls", "video_streaming")
    # 5 classes x 0.3 / 0.45 / 0.6 % of daily GDP, below the national 1.9 / 10.8 / 37.8 %
    assert m.services_share(5, "low", 0.019) == pytest.approx(0.015)
    assert m.services_share(5, "central", 0.1078) == pytest.approx(0.0225)
    assert m.services_share(5, "high", 0.378) == pytest.approx(0.03)
    # never above the national value of the same bound (Chad: Deloitte low tier, 0.4 %)
    assert m.services_share(5, "low", 0.004) == 0.004
    # one class however many of its services
    assert m.app_classes(["whatsapp", "telegram", "signal"]) == ("messaging",)


def test_service_names_and_aliases() -> None:
    assert m.canonical_service("Twitter") == "x"
    assert m.canonical_service("facebook-messenger") == "facebook_messenger"
    assert m.canonical_service(" YouTube ") == "youtube"
    with pytest.raises(CostInputError, match="unknown service 'myspace'; known: ") as info:
        m.canonical_service("myspace")
    assert info.value.reason == "options"


def test_every_service_detection_knows_has_a_class() -> None:
    from censorscope.model.services import KNOWN_SERVICES

    assert set(KNOWN_SERVICES) <= set(m.SERVICE_CLASSES)


def test_scope_and_residual() -> None:
    assert m.residual_factor(0) == 1.0
    assert m.residual_factor(25) == 0.75
    assert m.residual_factor(100) == 0.0
    # 2,222,375.34 USD/day x 40 % of the country x (1 - 25 %) x 2.5 days
    assert m.scoped(2_222_375.34, 0.4, 25, 2.5) == pytest.approx(
        2_222_375.34 * 0.4 * 0.75 * 2.5)


@given(st.floats(min_value=0, max_value=100), st.integers(min_value=1, max_value=5))
def test_bounds_are_ordered_for_any_connectivity(users: float, n_classes: int) -> None:
    national = (m.deloitte_share(users), m.digital_share(users), m.cost_share())
    assert national[0] <= national[1] <= national[2]
    services = [m.services_share(n_classes, b, s) for b, s in zip(m.BOUNDS, national,
                                                                  strict=True)]
    assert services[0] <= services[1] <= services[2]
    assert all(s <= n for s, n in zip(services, national, strict=True))
