"""The crawler's address policy: every special range is refused unless the user opens it explicitly."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.network_policy import NetworkPolicy


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", ""),  # shared address space (CGNAT)
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", ""),  # reserved (Python files it under private)
        ("198.18.0.1", ""),  # benchmarking
        ("192.0.2.10", "private"),  # documentation ranges are not reachable hosts either
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("[::ffff:10.0.0.1]", "IPv4-mapped"),
        ("2002:7f00:1::1", "tunnelled"),
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


@given(st.integers(0, 2**32 - 1))
def test_ipv4_allowed_only_when_global(number):
    ip = ipaddress.IPv4Address(number)
    allowed = NetworkPolicy().allows(str(ip))
    if allowed:
        assert ip.is_global and not ip.is_multicast and not ip.is_reserved
    else:
        assert (
            not ip.is_global
            or ip.is_multicast
            or any(ip in ipaddress.ip_network(n) for n in ("100.64.0.0/10", "198.18.0.0/15", "192.0.0.0/24"))
        )


@given(st.integers(0, 2**32 - 1))
def test_ipv4_mapped_form_gets_the_ipv4_verdict(number):
    ip = ipaddress.IPv4Address(number)
    policy = NetworkPolicy()
    mapped = f"::ffff:{ip}"
    if not policy.allows(str(ip)):
        assert not policy.allows(mapped)
