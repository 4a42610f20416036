"""Which addresses the crawler may connect to: corpus URLs are untrusted, so private and special addresses are
refused (SSRF) unless the user opens a network explicitly.

Checked on every hop, on the IP actually connected to (after DNS) and on IP-literal URLs in any notation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges refused on top of what the ipaddress module calls private/reserved/...: shared address space (CGNAT),
# the cloud metadata addresses, benchmarking, 6to4 / Teredo relays that tunnel to arbitrary IPv4 hosts.
_EXTRA_REFUSED: tuple[tuple[str, str], ...] = (
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("169.254.169.254/32", "cloud metadata address"),
    ("fd00:ec2::254/128", "cloud metadata address"),
    ("198.18.0.0/15", "benchmarking range"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("2002::/16", "6to4 relay range"),
    ("2001::/32", "Teredo range"),
    ("64:ff9b::/96", "NAT64 range"),
    ("64:ff9b:1::/48", "NAT64 range"),
)


@dataclass(frozen=True)
class NetworkPolicy:
    """Refuses every address that is not plainly public, except in networks the user allowed."""

    allowed: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def allowing(cls, networks: Iterable[str]) -> NetworkPolicy:
        """A policy that also allows `networks` (CIDR strings, e.g. "127.0.0.0/8"); ValueError names a bad one."""
        parsed = []
        for network in networks:
            try:
                parsed.append(ipaddress.ip_network(network.strip(), strict=False))
            except ValueError:
                raise ValueError(f"--allow-network {network!r}: not an IP network (CIDR such as 127.0.0.0/8)") from None
        return cls(tuple(parsed))

    def refusal(self, address: str) -> str | None:
        """Why `address` (an IP string) must not be connected to, or None when it may be."""
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return f"{address!r} is not an IP address"
        if any(ip in network for network in self.allowed if network.version == ip.version):
            return None
        if isinstance(ip, ipaddress.IPv6Address):
            mapped = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
            if mapped is not None:
                inner = self.refusal(str(mapped))
                kind = "IPv4-mapped" if ip.ipv4_mapped else "tunnelled"
                return f"{kind} address {ip}" + (f" ({inner})" if inner else "")
        return _special_range(ip)

    def allows(self, address: str) -> bool:
        return self.refusal(address) is None


def _special_range(ip: IPAddress) -> str | None:
    checks = (
        (ip.is_unspecified, "unspecified address"),
        (ip.is_loopback, "loopback address"),
        (ip.is_link_local, "link-local address"),
        (ip.is_multicast, "multicast address"),
        (ip.is_private, "private address"),
        (ip.is_reserved, "reserved address"),
    )
    for hit, reason in checks:
        if hit:
            return f"{reason} {ip}"
    for network, reason in _EXTRA_REFUSED:
        candidate = ipaddress.ip_network(network)
        if candidate.version == ip.version and ip in candidate:
            return f"{reason} {ip}"
    if not ip.is_global:
        return f"non-global address {ip}"
    return None
