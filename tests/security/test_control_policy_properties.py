"""Properties of the one dial policy (``model.ipinfo.dial_refusal`` behind the control's
``AddressPolicy``): every IPv6 form that embeds an IPv4 address is refused, and names its
IPv4 — refused IPv4 addresses with the IPv4 policy's reason; allowing a range is an explicit,
exact opt-in."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from censorscope.control.policy import AddressPolicy
from censorscope.model.ipinfo import SPECIAL_V4, dial_refusal, embedded_ipv4, special_reason

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address

any_v4 = st.integers(0, 2**32 - 1).map(V4)


@st.composite
def special_v4(draw: st.DrawFn) -> V4:
    net, _ = draw(st.sampled_from(SPECIAL_V4))
    return V4(int(net.network_address) + draw(st.integers(0, net.num_addresses - 1)))


def mapped(v4: V4, low96: int = 0) -> V6:
    return V6(0xFFFF << 32 | int(v4))


def compatible(v4: V4, low96: int = 0) -> V6:
    return V6(int(v4))


def translated(v4: V4, low96: int = 0) -> V6:
    return V6(0xFFFF << 48 | int(v4))


def nat64(v4: V4, low96: int = 0) -> V6:
    return V6(int(V6("64:ff9b::")) | int(v4))


def nat64_local(v4: V4, low96: int = 0) -> V6:
    return V6(int(V6("64:ff9b:1::")) | (low96 & (2**48 - 1)) << 32 | int(v4))


def sixtofour(v4: V4, low96: int = 0) -> V6:
    return V6(0x2002 << 112 | int(v4) << 80 | (low96 & (2**80 - 1)))


def teredo(v4: V4, low96: int = 0) -> V6:
    server = (low96 >> 32) & 0xFFFFFFFF
    flags_port = low96 & 0xFFFFFFFF
    return V6(0x20010000 << 96 | server << 64 | flags_port << 32 | (int(v4) ^ 0xFFFFFFFF))


FORMS = {
    "IPv4-mapped": mapped, "IPv4-compatible": compatible, "IPv4-translated": translated,
    "NAT64": nat64, "NAT64 local-use": nat64_local, "6to4": sixtofour, "Teredo": teredo,
}
forms = st.sampled_from(sorted(FORMS))
low_bits = st.integers(0, 2**96 - 1)


def spellings(addr: V6) -> list[str]:
    """Ways a caller may write the same IPv6 address."""

    exploded = addr.exploded
    dotted = exploded.rsplit(":", 2)[0] + ":" + str(V4(int(addr) & 0xFFFFFFFF))
    return [str(addr), exploded, exploded.upper(), dotted]


@settings(max_examples=400)
@given(special_v4(), forms, low_bits)
def test_every_embedded_form_of_a_refused_ipv4_is_refused_with_its_reason(
    v4: V4, form: str, low: int
) -> None:
    v6 = FORMS[form](v4, low)
    if form == "IPv4-compatible" and int(v4) <= 1:
        return  # :: and ::1 are themselves (unspecified, loopback)
    inner = special_reason(v4)
    assert inner is not None
    for text in spellings(v6):
        assert dial_refusal(text) == f"{form} form of {v4} ({inner})", text
        assert AddressPolicy().is_refused(text)


@settings(max_examples=400)
@given(any_v4, forms, low_bits)
def test_every_embedded_form_is_refused_and_names_its_ipv4(v4: V4, form: str, low: int) -> None:
    v6 = FORMS[form](v4, low)
    if form == "IPv4-compatible" and int(v4) <= 1:
        return
    reason = dial_refusal(str(v6))
    assert reason is not None and reason.startswith(f"{form} form of ")
    assert embedded_ipv4(v6) is not None
    if form != "Teredo":  # Teredo names the server instead when only that one is special
        assert reason.startswith(f"{form} form of {v4} ")


@settings(max_examples=300)
@given(special_v4(), forms, low_bits)
def test_allowing_the_ipv4_range_does_not_allow_its_ipv6_forms(
    v4: V4, form: str, low: int
) -> None:
    v6 = FORMS[form](v4, low)
    if form == "IPv4-compatible" and int(v4) <= 1:
        return
    policy = AddressPolicy((ipaddress.IPv4Network((v4, 32)),))
    assert not policy.is_refused(str(v4))
    assert policy.is_refused(str(v6))
    assert not AddressPolicy((ipaddress.IPv6Network((v6, 128)),)).is_refused(str(v6))


@settings(max_examples=500)
@given(any_v4)
def test_ipv4_refused_exactly_when_special(v4: V4) -> None:
    in_table = any(v4 in net for net, _ in SPECIAL_V4)
    reason = dial_refusal(str(v4))
    if in_table or not v4.is_global:
        assert reason is not None
    else:
        assert reason is None
    if v4 in ipaddress.IPv4Network("127.0.0.0/8"):
        assert reason == "loopback"


@settings(max_examples=500)
@given(st.integers(0, 2**128 - 1).map(V6))
def test_ipv6_allowed_only_in_global_unicast_and_never_embedding(v6: V6) -> None:
    reason = dial_refusal(str(v6))
    if reason is None:
        assert v6 in ipaddress.IPv6Network("2000::/3")
        assert v6.is_global
        assert embedded_ipv4(v6) is None
        assert v6.ipv4_mapped is None and v6.sixtofour is None and v6.teredo is None


@given(st.text(max_size=40))
def test_anything_that_is_not_an_ip_is_refused(text: str) -> None:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        assert dial_refusal(text) == "not an IP address"
