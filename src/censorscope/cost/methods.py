"""The cost methods: small pure functions, each coefficient named with its source.

All methods price a day of disruption as a share of the country's daily GDP
(:func:`daily_gdp`). The sources are summarised in ``docs/reference/observatories.md`` §1 of
the project's shared references and in ``docs/cost.md``; "[derived]" marks a coefficient we
computed from a published figure, "[ours]" one we chose.

- **Deloitte (2016)**, the floor: a temporary total shutdown costs 0.4 / 1.0 / 1.9 % of daily
  GDP in a low / medium / high connectivity country (:data:`DELOITTE_SHARES`); the tier comes
  from the internet users % (:func:`deloitte_tier`, thresholds [ours]).
- **Brookings / West (2016)-like**, the central value: the internet economy's share of GDP
  (:func:`digital_share`). West used BCG's 2016 projections (1.4 % Indonesia … 12.4 % UK);
  for every country we interpolate linearly in internet users % between those two anchors
  (their World Bank internet users of 2016), clamped to the anchors' range [ours]. West's
  implied national intensities (Iraq 12.2 % of daily GDP) are of the same order.
- **COST-style (NetBlocks)**, the high value: the per-day national intensity COST's public
  outputs imply since its Nov 2021 escalators, 15.6–37.8 % of daily GDP (US, China, UK);
  the high takes the top, :data:`COST_POST_2021_SHARES` [derived]. Before the escalators its
  outputs implied 6.1–7.9 % (:data:`COST_PRE_2021_SHARES`, Iran and Zimbabwe 2019 [derived]).
- **Services** (social media and apps): each blocked app class costs 0.3–0.6 % of daily GDP
  (:data:`APP_CLASS_SHARES`, Brookings-implied: Brazil WhatsApp 0.34 %, Saudi VoIP/apps
  0.49 %, Morocco VoIP 0.54 % [derived]); a class counts once however many of its services are
  blocked (:data:`SERVICE_CLASSES`), and the sum never exceeds the national value of the same
  bound (:func:`services_share`).
- **Scope**: a regional disruption is the national one × the affected share
  (:func:`scoped`); residual connectivity ``r`` % leaves ``1 − r/100`` of the loss.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from .errors import CostInputError

__all__ = [
    "APP_CLASS_SHARES",
    "BCG_HIGH_ANCHOR",
    "BCG_LOW_ANCHOR",
    "BOUNDS",
    "COST_POST_2021_SHARES",
    "COST_PRE_2021_SHARES",
    "DAYS_PER_YEAR",
    "DELOITTE_HIGH_MIN_PCT",
    "DELOITTE_MEDIUM_MIN_PCT",
    "DELOITTE_SHARES",
    "SERVICE_ALIASES",
    "SERVICE_CLASSES",
    "Bound",
    "Tier",
    "app_classes",
    "canonical_service",
    "cost_share",
    "daily_gdp",
    "deloitte_share",
    "deloitte_tier",
    "digital_share",
    "residual_factor",
    "scoped",
    "services_share",
]

Tier = Literal["low", "medium", "high"]
Bound = Literal["low", "central", "high"]
BOUNDS: Final[tuple[Bound, ...]] = ("low", "central", "high")

# daily GDP = annual GDP / 365, as NetBlocks-derived figures are read (observatories.md §1.2)
DAYS_PER_YEAR: Final = 365

# Deloitte for GNI/Facebook, "The economic impact of disruptions to Internet connectivity"
# (Oct 2016): per-day impact of a temporary total shutdown, share of daily GDP, by tier
DELOITTE_SHARES: Final[dict[Tier, float]] = {"low": 0.004, "medium": 0.010, "high": 0.019}
# the tier from internet users % [ours: Deloitte groups countries by connectivity level;
# these thresholds are not from the report]
DELOITTE_MEDIUM_MIN_PCT: Final = 30.0
DELOITTE_HIGH_MIN_PCT: Final = 65.0

# West (Brookings, Oct 2016) took the internet economy's share of GDP from BCG's 2016
# projections: 1.4 % (Indonesia) … 12.4 % (UK). Anchors (internet users % in 2016 from the
# World Bank table shipped here, share of GDP); between them linear [ours].
BCG_LOW_ANCHOR: Final = (25.4, 0.014)   # Indonesia: IT.NET.USER.ZS 2016, BCG share
BCG_HIGH_ANCHOR: Final = (94.8, 0.124)  # United Kingdom: IT.NET.USER.ZS 2016, BCG share

# NetBlocks COST, per-day national shutdown as a share of daily GDP implied by its public
# outputs [derived, observatories.md §1.2]: before Nov 2021 Zimbabwe 2019 6.1 %, Iran 2019
# 7.9 % (on 2019 GDP); after (AtlasVPN c. 2023 via COST, 2022 GDP) US 15.6 % … UK 37.8 %
COST_PRE_2021_SHARES: Final = (0.061, 0.079)
COST_POST_2021_SHARES: Final = (0.156, 0.378)

# per blocked app class, share of daily GDP: low, central (the midpoint), high
# [derived from West's implied intensities, observatories.md §1.3/§1.8]
APP_CLASS_SHARES: Final[dict[Bound, float]] = {"low": 0.003, "central": 0.0045, "high": 0.006}
# service -> app class: services a user can swap for one another share a class [ours]
SERVICE_CLASSES: Final[dict[str, str]] = {
    "facebook": "social_network",
    "x": "social_network",
    "linkedin": "social_network",
    "instagram": "photo_video_sharing",
    "tiktok": "photo_video_sharing",
    "youtube": "video_streaming",
    "whatsapp": "messaging",
    "facebook_messenger": "messaging",
    "telegram": "messaging",
    "signal": "messaging",
    "zoom": "video_calls",
    "skype": "video_calls",
}
SERVICE_ALIASES: Final = {"twitter": "x", "messenger": "facebook_messenger",
                          "fb_messenger": "facebook_messenger"}


def daily_gdp(gdp_usd: float) -> float:
    """A day's GDP: the year's GDP / :data:`DAYS_PER_YEAR` (USD/day)."""
    return gdp_usd / DAYS_PER_YEAR


def deloitte_tier(internet_users_pct: float) -> Tier:
    """Deloitte's connectivity tier of a country with this share of internet users."""
    if internet_users_pct >= DELOITTE_HIGH_MIN_PCT:
        return "high"
    if internet_users_pct >= DELOITTE_MEDIUM_MIN_PCT:
        return "medium"
    return "low"


def deloitte_share(internet_users_pct: float) -> float:
    """Deloitte's per-day cost of a total shutdown, as a share of daily GDP."""
    return DELOITTE_SHARES[deloitte_tier(internet_users_pct)]


def digital_share(internet_users_pct: float) -> float:
    """The internet economy's share of GDP (Brookings/West-like): linear in internet users %
    between the BCG anchors, clamped to their shares."""
    (u0, s0), (u1, s1) = BCG_LOW_ANCHOR, BCG_HIGH_ANCHOR
    share = s0 + (internet_users_pct - u0) * (s1 - s0) / (u1 - u0)
    return min(s1, max(s0, share))


def cost_share() -> float:
    """The COST-style high: the top of COST's post-2021 per-day national intensities."""
    return COST_POST_2021_SHARES[1]


def canonical_service(name: str) -> str:
    """A service's name as :data:`SERVICE_CLASSES` spells it (aliases: twitter → x …)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = SERVICE_ALIASES.get(key, key)
    if key not in SERVICE_CLASSES:
        raise CostInputError(
            f"unknown service {name!r}; known: {', '.join(sorted(SERVICE_CLASSES))} "
            f"(aliases: {', '.join(f'{a}={b}' for a, b in sorted(SERVICE_ALIASES.items()))})",
            "options")
    return key


def app_classes(services: Iterable[str]) -> tuple[str, ...]:
    """The distinct app classes the ``services`` fall in (sorted)."""
    return tuple(sorted({SERVICE_CLASSES[canonical_service(s)] for s in services}))


def services_share(n_classes: int, bound: Bound, national_share: float) -> float:
    """Per-day cost of blocking services of ``n_classes`` app classes, as a share of daily
    GDP, at ``bound``; never more than the national share of the same bound."""
    return min(n_classes * APP_CLASS_SHARES[bound], national_share)


def residual_factor(residual_pct: float) -> float:
    """The part of the loss left when ``residual_pct`` % of connectivity remains."""
    return 1.0 - residual_pct / 100.0


def scoped(per_day_usd: float, affected_share: float, residual_pct: float, days: float
           ) -> float:
    """The loss of ``days`` days: per day × affected share × (1 − residual) × days."""
    return per_day_usd * affected_share * residual_factor(residual_pct) * days
