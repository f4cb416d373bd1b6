"""Presets (``probe run --preset NAME``): a country's sensible mix of experiments, as data.

A preset is a list of steps; each names an experiment and what it measures: fixed targets
(service names, domains), the test lists (the country's Citizen Lab list, then the global
one, ordered by category weight with ``--max-runtime``), or nothing (input-less experiments).
The country comes from ``--probe-cc`` or the config's ``probe_cc``; a country without a
bundled list measures the global list only. ``--test-list`` replaces the preset's lists and
``--category`` filters them. ``probe/plan.py`` turns a preset into runnable steps and refuses
one that names an experiment that is not registered, before anything is measured.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "APP_EXPERIMENTS",
    "PRESETS",
    "SOCIAL_SERVICES",
    "Preset",
    "PresetStep",
    "preset_lists",
]

# The social services of the `social` preset and their main web domain (what tls_sni and
# dns_consistency measure for each).
SOCIAL_SERVICES: dict[str, str] = {
    "tiktok": "www.tiktok.com",
    "facebook": "www.facebook.com",
    "instagram": "www.instagram.com",
    "x": "x.com",
    "youtube": "www.youtube.com",
    "whatsapp": "www.whatsapp.com",
    "telegram": "telegram.org",
}

# OONI's instant-messaging tests (input-less).
APP_EXPERIMENTS: tuple[str, ...] = ("whatsapp", "telegram", "signal", "facebook_messenger")

TEST_LISTS = "test-lists"  # PresetStep.inputs: the country's list, then the global one


@dataclass(frozen=True)
class PresetStep:
    """One experiment of a preset: ``targets`` are its fixed inputs; ``inputs`` is
    :data:`TEST_LISTS` for the country's test lists, ``"targets"`` for ``targets`` and
    ``"none"`` for an input-less experiment."""

    experiment: str
    inputs: str = "none"
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preset:
    """A named mix of experiments."""

    name: str
    description: str
    steps: tuple[PresetStep, ...]


_WEBSITES = (PresetStep("web_connectivity", TEST_LISTS),)
_APPS = tuple(PresetStep(name) for name in APP_EXPERIMENTS)
_SOCIAL = (
    PresetStep("service", "targets", tuple(SOCIAL_SERVICES)),
    PresetStep("tls_sni", "targets", tuple(SOCIAL_SERVICES.values())),
    PresetStep("dns_consistency", "targets", tuple(SOCIAL_SERVICES.values())),
)

PRESETS: dict[str, Preset] = {
    "websites": Preset(
        "websites",
        "Web Connectivity over the country's Citizen Lab list and the global list "
        "(by category weight with --max-runtime)",
        _WEBSITES,
    ),
    "apps": Preset("apps", "the messaging apps: " + ", ".join(APP_EXPERIMENTS), _APPS),
    "social": Preset(
        "social",
        "service reachability of " + ", ".join(SOCIAL_SERVICES)
        + "; tls_sni and dns_consistency for their main domains",
        _SOCIAL,
    ),
    "full": Preset("full", "apps, then social, then websites", _APPS + _SOCIAL + _WEBSITES),
}


def preset_lists(probe_cc: str, bundled: list[str]) -> list[str]:
    """The test lists of a preset for ``probe_cc``: its bundled list (if there is one), then
    ``global``."""

    cc = probe_cc.strip().lower()
    return [cc, "global"] if cc in bundled and cc != "global" else ["global"]
