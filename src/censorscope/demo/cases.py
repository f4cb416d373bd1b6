"""The three seed cases as the demo (and the end-to-end tests) replay them: the lab scenario,
its phases in order, the probe steps every network runs in each round, and what a report on
the case is about (country, target).

The steps are what a tester in each network would run: ``service`` (are the service's
endpoints reachable), ``web_connectivity`` on the case's URLs (and harmless names on the same
addresses, so that a blocked name is told from a blocked address), and for the 2020 war the
``throttling`` experiment against an unthrottled control URL. In the case's main blocking
phase every network also runs the ``social`` preset's experiments (``service``, ``tls_sni``,
``dns_consistency``) on the social services the lab's internet serves (the labs serve those
of their case, not all seven: measured, the others would fail everywhere, which says nothing
about censorship). The 2020 case ends with its
``restored`` phase: the measurements made during the shutdown could not reach the collector and
waited in each probe's queue; they are delivered when the network is back, as they would be.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CASES", "Case", "Step"]


@dataclass(frozen=True)
class Step:
    """One ``probe run`` of a round: an experiment, its inputs and its extra options."""

    experiment: str
    inputs: tuple[str, ...]
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    """A seed case: the lab scenario, its phases, the steps of a round, the report's subject."""

    scenario: str
    title: str
    country: str
    phases: tuple[str, ...]
    steps: tuple[Step, ...]
    target: str | None = None  # the report's --target (None: every incident of the window)
    # the social preset's experiments (service, tls_sni, dns_consistency) on the social
    # services the lab's internet serves, run from every network in the last blocking phase
    social: tuple[Step, ...] = ()
    social_phase: str | None = None
    # phases measured in more rounds than the others (a restoration needs several clean
    # measurements per target before detection can date its end)
    rounds_in: tuple[tuple[str, int], ...] = ()


AZ_2022 = Case(
    "az-2022-tiktok", "TikTok in Azerbaijan, September 2022", "AZ",
    ("before", "blocked-delta", "blocked-delta-kinetic", "blocked-all"),
    (Step("service", ("tiktok",), ("--parallel", "8")),
     Step("web_connectivity", ("https://www.tiktok.com/", "https://p16-sign-sg.tiktokcdn.com/",
                               "https://www.example.org/"), ("--parallel", "3"))),
    target="tiktok",
    social=(Step("service", ("tiktok",), ("--parallel", "8")),
            Step("tls_sni", ("www.tiktok.com",)), Step("dns_consistency", ("www.tiktok.com",))),
    social_phase="blocked-all",
)

AM_2022 = Case(
    "am-2022-tiktok", "TikTok in Armenia, September 2022", "AM",
    ("before", "blocked-ucom", "blocked"),
    (Step("service", ("tiktok",), ("--parallel", "8")),
     Step("web_connectivity", ("https://www.tiktok.com/", "https://www.example.org/"),
          ("--parallel", "2"))),
    target="tiktok",
    social=(Step("service", ("tiktok",), ("--parallel", "8")),
            Step("tls_sni", ("www.tiktok.com",)), Step("dns_consistency", ("www.tiktok.com",))),
    social_phase="blocked",
)

WAR_SERVICES = ("www.facebook.com", "www.youtube.com", "www.instagram.com", "www.whatsapp.com")
WAR_OPEN = ("www.google.com", "www.example.org")  # on the services' addresses, never blocked

AZ_2020 = Case(
    "az-2020-war", "Azerbaijan during the 2020 war: services, throttling, shutdown", "AZ",
    ("before", "blocked", "throttled", "shutdown", "restored"),
    (Step("web_connectivity", tuple(f"https://{h}/" for h in WAR_SERVICES + WAR_OPEN),
          ("--parallel", "6")),
     # throughput of two throttled names (the control: an unthrottled name of the lab)
     Step("throttling", ("https://www.youtube.com/download/524288",
                         "https://www.facebook.com/download/524288"),
          ("--option", "throttling.control_url=https://www.google.com/", "--parallel", "2",
           "--tls-timeout", "10", "--http-timeout", "10"))),
    # the lab serves the services' main web names, not their whole endpoint sets: the
    # ``service`` experiment would find the missing endpoints failing everywhere
    social=(Step("tls_sni", WAR_SERVICES, ("--parallel", "4")),
            Step("dns_consistency", WAR_SERVICES, ("--parallel", "4"))),
    social_phase="blocked",
    rounds_in=(("restored", 5),),
)

CASES: dict[str, Case] = {c.scenario: c for c in (AZ_2022, AM_2022, AZ_2020)}
