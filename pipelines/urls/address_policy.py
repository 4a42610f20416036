"""Which addresses the crawler (and the list downloader) may connect to: corpus URLs are untrusted, so every
address that is not globally reachable is refused (SSRF) unless the user opens a network explicitly.

The refused blocks come from the IANA special-purpose address registries (pipelines/urls/special_addresses.py).
Checked on every hop, on the IP actually connected to (after DNS) and on IP-literal URLs in any notation; an
IPv6 address that embeds an IPv4 one (IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64) names it in the reason.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipelines.urls.special_addresses import special_block

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are the IPv4 host
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


@dataclass(frozen=True)
class NetworkPolicy:
    """Refuses every address that is not globally reachable, except in networks the user allowed."""

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
        block = special_block(ip)
        refused = f"{block.name} {ip} ({block.rfc})" if block is not None and not block.reachable else None
        if isinstance(ip, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(ip)
            if embedded is not None:
                kind, inner = embedded
                inner_refusal = self.refusal(str(inner))
                if refused is None and inner_refusal is None:
                    return None  # NAT64 of a reachable IPv4 host: the registry's "globally reachable"
                reasons = [reason for reason in (refused, inner_refusal and f"it reaches {inner_refusal}") if reason]
                return f"{kind} address {ip}: {'; '.join(reasons)}"
        return refused

    def allows(self, address: str) -> bool:
        return self.refusal(address) is None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """(how, the IPv4 address) an IPv6 address carries, for the forms that reach an IPv4 host."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip.sixtofour is not None:
        return "tunnelled (6to4)", ip.sixtofour
    if ip.teredo is not None:
        return "tunnelled (Teredo)", ip.teredo[1]
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


# Names that name nothing on the Internet (IANA Special-Use Domain Names registry, RFC 6761 and later, and the
# ICANN-reserved .internal), by their last labels; looking one up asks the local resolver, mDNS or a search
# domain, so it is refused without any lookup. example.com/.net/.org are special-use too but public hosts.
SPECIAL_USE_NAMES: dict[str, str] = {
    "localhost": "RFC 6761",
    "test": "RFC 6761",
    "invalid": "RFC 6761",
    "example": "RFC 6761",
    "local": "RFC 6762 (mDNS)",
    "onion": "RFC 7686",
    "alt": "RFC 9476",
    "internal": "ICANN, private use",
    "home.arpa": "RFC 8375",
    "arpa": "RFC 3172 (infrastructure: reverse DNS, home.arpa, resolver.arpa, ...)",
}


def special_use_name(host: str) -> str | None:
    """Why a host name (canonical: lowercase, ASCII) must not be looked up, or None for an ordinary name.

    Special-use names and single-label names (which a resolver completes with the local search domains)."""
    name = host.lower().rstrip(".")
    if not name or name.startswith("[") or name.replace(".", "").isdigit():
        return None  # an IP literal: the address policy judges it
    if "." not in name:
        reason = SPECIAL_USE_NAMES.get(name)
        return f"special-use name {name!r} ({reason})" if reason else f"single-label name {name!r} (search domains)"
    labels = name.split(".")
    for depth in (2, 1):
        suffix = ".".join(labels[-depth:])
        if suffix in SPECIAL_USE_NAMES:
            return f"special-use name {name!r} (.{suffix}, {SPECIAL_USE_NAMES[suffix]})"
    return None
