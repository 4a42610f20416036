"""The IANA special-purpose address registries, as data: which IPv4 and IPv6 blocks are not ordinary hosts on
the Internet, each with its RFC and the registry's "Globally Reachable" flag.

Transcribed from the registries as published in 2025 (they are not fetched at run time; compare with IANA's
current versions when updating):
- IANA IPv4 Special-Purpose Address Registry (iana-ipv4-special-registry);
- IANA IPv6 Special-Purpose Address Registry (iana-ipv6-special-registry), including its 2024 additions
  3fff::/20 (documentation, RFC 9637) and 5f00::/16 (SRv6 SIDs, RFC 9602).
A block's verdict is that of the most specific entry holding it (2001:1::1/128 is reachable inside 2001::/23).
`globally_reachable` is the registry's flag: True, False, or None where the registry says "N/A" (6to4,
Teredo, the deprecated ORCHID and 6to4-relay blocks), which a crawler treats as not reachable.

Refused whatever the registries say (`OTHER_REFUSED`): multicast (224.0.0.0/4 and ff00::/8, in the multicast
registries rather than these), the deprecated site-local block fec0::/10 (RFC 3879, in no registry), the
deprecated 6to4 relay anycast block 192.88.99.0/24 with its 6a44 relay address; and IPv6 outside 2000::/3, the
only block the IANA IPv6 Address Space registry allocates for global unicast.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SpecialBlock:
    network: IPNetwork
    name: str
    rfc: str
    globally_reachable: bool | None  # None: "N/A" in the registry

    @property
    def reachable(self) -> bool:
        return self.globally_reachable is True


def _block(network: str, name: str, rfc: str, globally_reachable: bool | None) -> SpecialBlock:
    return SpecialBlock(ipaddress.ip_network(network), name, rfc, globally_reachable)


IPV4_SPECIAL_REGISTRY: tuple[SpecialBlock, ...] = (
    _block("0.0.0.0/8", '"This network"', "RFC 791", False),
    _block("0.0.0.0/32", '"This host on this network" (unspecified address)', "RFC 1122", False),
    _block("10.0.0.0/8", "Private-Use", "RFC 1918", False),
    _block("100.64.0.0/10", "Shared Address Space (CGNAT)", "RFC 6598", False),
    _block("127.0.0.0/8", "Loopback", "RFC 1122", False),
    _block("169.254.0.0/16", "Link Local (cloud metadata at 169.254.169.254)", "RFC 3927", False),
    _block("172.16.0.0/12", "Private-Use", "RFC 1918", False),
    _block("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890", False),
    _block("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", False),
    _block("192.0.0.8/32", "IPv4 dummy address", "RFC 7600", False),
    _block("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", True),
    _block("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", True),
    _block("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880", False),
    _block("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880", False),
    _block("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", False),
    _block("192.31.196.0/24", "AS112-v4", "RFC 7535", True),
    _block("192.52.193.0/24", "AMT", "RFC 7450", True),
    _block("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", None),
    _block("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751", True),
    _block("192.168.0.0/16", "Private-Use", "RFC 1918", False),
    _block("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", True),
    _block("198.18.0.0/15", "Benchmarking", "RFC 2544", False),
    _block("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", False),
    _block("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", False),
    _block("240.0.0.0/4", "Reserved", "RFC 1112", False),
    _block("255.255.255.255/32", "Limited Broadcast", "RFC 919", False),
)

IPV6_SPECIAL_REGISTRY: tuple[SpecialBlock, ...] = (
    _block("::1/128", "Loopback Address", "RFC 4291", False),
    _block("::/128", "Unspecified Address", "RFC 4291", False),
    _block("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", False),
    _block("64:ff9b::/96", "IPv4-IPv6 Translation (NAT64)", "RFC 6052", True),
    _block("64:ff9b:1::/48", "IPv4-IPv6 Translation, local use (NAT64)", "RFC 8215", False),
    _block("100::/64", "Discard-Only Address Block", "RFC 6666", False),
    _block("2001::/23", "IETF Protocol Assignments", "RFC 2928", False),
    _block("2001::/32", "Teredo", "RFC 4380", None),
    _block("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", True),
    _block("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", True),
    _block("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", True),
    _block("2001:2::/48", "Benchmarking", "RFC 5180", False),
    _block("2001:3::/32", "AMT", "RFC 7450", True),
    _block("2001:4:112::/48", "AS112-v6", "RFC 7535", True),
    _block("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", None),
    _block("2001:20::/28", "ORCHIDv2", "RFC 7343", True),
    _block("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", True),
    _block("2001:db8::/32", "Documentation", "RFC 3849", False),
    _block("2002::/16", "6to4", "RFC 3056", None),
    _block("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", True),
    _block("3fff::/20", "Documentation", "RFC 9637", False),
    _block("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", False),
    _block("fc00::/7", "Unique-Local", "RFC 4193", False),
    _block("fe80::/10", "Link-Local Unicast", "RFC 4291", False),
)

# Refused whatever the special-purpose registries say (checked before them)
OTHER_REFUSED: tuple[SpecialBlock, ...] = (
    _block("224.0.0.0/4", "Multicast", "RFC 5771", False),
    _block("ff00::/8", "Multicast", "RFC 4291", False),
    _block("fec0::/10", "Site-Local (deprecated)", "RFC 3879", False),
    _block("192.88.99.0/24", "6to4 Relay Anycast (deprecated)", "RFC 7526", False),
)

IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")  # IANA IPv6 Address Space registry, RFC 4291


def _most_specific_first(blocks: tuple[SpecialBlock, ...]) -> tuple[SpecialBlock, ...]:
    return tuple(sorted(blocks, key=lambda block: -block.network.prefixlen))


_BY_VERSION = {
    4: _most_specific_first(IPV4_SPECIAL_REGISTRY),
    6: _most_specific_first(IPV6_SPECIAL_REGISTRY),
}


def special_block(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> SpecialBlock | None:
    """The block that decides about `ip`: one of OTHER_REFUSED, else the most specific registry entry holding
    it, else (IPv6 outside 2000::/3) a block saying so; None for an ordinary address."""
    for block in OTHER_REFUSED:
        if block.network.version == ip.version and ip in block.network:
            return block
    for block in _BY_VERSION[ip.version]:
        if ip in block.network:
            return block
    if ip.version == 6 and ip not in IPV6_GLOBAL_UNICAST:
        return SpecialBlock(IPV6_GLOBAL_UNICAST, "Not global unicast (outside 2000::/3)", "RFC 4291", False)
    return None
