"""The crawler's address policy: every block the IANA special-purpose registries do not call globally reachable
is refused unless the user opens it explicitly, in every IPv6 form that embeds an IPv4 address too."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.urls.address_policy import NetworkPolicy
from pipelines.urls.special_addresses import IPV4_SPECIAL_REGISTRY, IPV6_SPECIAL_REGISTRY, OTHER_REFUSED, special_block


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link local"),
        ("100.64.0.1", ""),  # shared address space (CGNAT)
        ("0.0.0.0", "unspecified"),
        ("192.88.99.1", "6to4 relay"),  # deprecated, no longer in the registry as reachable
        ("fec0::1", "site-local"),  # deprecated, not in the special-purpose registry at all
        ("3fff::1", "documentation"),  # RFC 9637 (2024)
        ("5f00::1", "SRv6"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("198.18.0.1", ""),  # benchmarking
        ("192.0.2.10", "documentation"),  # documentation ranges are not reachable hosts either
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("64:ff9b::7f00:1", "NAT64"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo"),  # Teredo to 127.0.0.1
        ("[::ffff:10.0.0.1]", "IPv4-mapped"),
        ("2002:7f00:1::1", "6to4"),
    ],
)
def test_special_addresses_are_refused(address, reason):
    refusal = NetworkPolicy().refusal(address)
    assert refusal is not None
    assert reason.lower() in refusal.lower(), refusal


def test_an_allowed_network_opens_only_itself():
    policy = NetworkPolicy.allowing(["127.0.0.0/8"])
    assert policy.allows("127.0.0.1") and policy.allows("127.0.0.9")
    assert not policy.allows("10.0.0.1")
    assert not policy.allows("::1")  # IPv6 loopback is another network
    assert NetworkPolicy.allowing(["127.0.0.1/32"]).refusal("127.0.0.2") is not None


def test_bad_network_is_a_clear_error():
    with pytest.raises(ValueError, match="not an IP network"):
        NetworkPolicy.allowing(["localhost"])


def test_not_an_address():
    assert "not an IP address" in NetworkPolicy().refusal("bad.test")


def _samples(network) -> list:
    """The first, last and middle addresses of a block."""
    first, last = int(network.network_address), int(network.broadcast_address)
    return [type(network.network_address)(n) for n in sorted({first, (first + last) // 2, last})]


REGISTRY_BLOCKS = [*IPV4_SPECIAL_REGISTRY, *IPV6_SPECIAL_REGISTRY]
SAMPLES = [
    pytest.param(block, ip, id=f"{block.network}-{ip}") for block in REGISTRY_BLOCKS for ip in _samples(block.network)
]
NAT64 = ipaddress.ip_network("64:ff9b::/96")


@pytest.mark.parametrize(("block", "ip"), SAMPLES)
def test_each_registry_block_gets_its_globally_reachable_verdict(block, ip):
    """Every entry of both IANA tables: refused unless the registry calls it globally reachable (where a more
    specific entry, or a block refused beyond the registries, holds the address, that one decides)."""
    deciding = special_block(ip)
    assert deciding is block or deciding.network.subnet_of(block.network) or deciding in OTHER_REFUSED
    expected = deciding.reachable
    if ip in NAT64:  # reachable as the IPv4 host it embeds is
        expected = NetworkPolicy().allows(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    refusal = NetworkPolicy().refusal(str(ip))
    assert (refusal is None) == expected, (str(ip), refusal)
    if refusal is not None and ip not in NAT64:
        assert deciding.rfc in refusal, refusal
    assert NetworkPolicy.allowing([str(deciding.network)]).allows(str(ip))  # --allow-network opens it


@pytest.mark.parametrize("block", OTHER_REFUSED, ids=lambda block: str(block.network))
def test_blocks_refused_beyond_the_registries(block):
    for ip in _samples(block.network):
        assert NetworkPolicy().refusal(str(ip)) is not None
        assert NetworkPolicy.allowing([str(block.network)]).allows(str(ip))


REFUSED_IPV4 = [
    ip for block in IPV4_SPECIAL_REGISTRY for ip in _samples(block.network) if not special_block(ip).reachable
]


@pytest.mark.parametrize("ipv4", REFUSED_IPV4, ids=str)
def test_ipv6_forms_of_a_refused_ipv4_address_are_refused(ipv4):
    packed = int(ipv4)
    forms = {
        "IPv4-mapped": ipaddress.IPv6Address((0xFFFF << 32) | packed),
        "IPv4-compatible": ipaddress.IPv6Address(packed),
        "6to4": ipaddress.IPv6Address((0x2002 << 112) | (packed << 80) | 1),
        "NAT64": ipaddress.IPv6Address((0x64FF9B << 96) | packed),
        "NAT64 local-use": ipaddress.IPv6Address((0x64FF9B0001 << 80) | packed),
        "Teredo": ipaddress.IPv6Address((0x20010000 << 96) | (0x4136E378 << 64) | (packed ^ 0xFFFFFFFF)),
    }
    for form, ip in forms.items():
        if int(ip) <= 1:
            continue  # ::/128 and ::1 are their own entries
        assert NetworkPolicy().refusal(str(ip)) is not None, form
        assert NetworkPolicy().refusal(f"[{ip}]") is not None, form


def test_nat64_of_a_reachable_ipv4_address_follows_the_registry():
    reachable = next(block for block in IPV4_SPECIAL_REGISTRY if block.reachable).network.network_address
    assert NetworkPolicy().allows(str(reachable))
    assert NetworkPolicy().allows(f"64:ff9b::{reachable}")
    assert not NetworkPolicy().allows(f"::ffff:{reachable}")  # IPv4-mapped: never a host to connect to


@given(st.integers(0, 2**32 - 1))
def test_ipv4_allowed_only_outside_refused_blocks(number):
    ip = ipaddress.IPv4Address(number)
    allowed = NetworkPolicy().allows(str(ip))
    block = special_block(ip)
    assert allowed == (block is None or block.reachable)
    if allowed:
        assert not ip.is_multicast and not ip.is_loopback and not ip.is_link_local and not ip.is_unspecified


@given(st.integers(0, 2**128 - 1))
def test_ipv6_allowed_only_in_global_unicast_space(number):
    ip = ipaddress.IPv6Address(number)
    if NetworkPolicy().allows(str(ip)):
        assert ip in ipaddress.ip_network("2000::/3") or ip in ipaddress.ip_network("64:ff9b::/96")
        assert not ip.is_link_local and not ip.is_site_local and not ip.is_multicast


@given(st.integers(0, 2**32 - 1))
def test_ipv4_mapped_form_gets_the_ipv4_verdict(number):
    ip = ipaddress.IPv4Address(number)
    policy = NetworkPolicy()
    if not policy.allows(str(ip)):
        assert not policy.allows(f"::ffff:{ip}")
        assert not policy.allows(f"64:ff9b::{ip}")
