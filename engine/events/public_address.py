"""Whether an IP address is public: the one rule webhooks apply to a literal URL host when it is
registered and to every resolved address when it is dialled (engine/events/webhooks.py, engine/events/webhook_http.py).

An IPv6 address that carries an IPv4 address (NAT64, 6to4, IPv4-compatible, -mapped, -translated,
Teredo) reaches that IPv4 host through a gateway, so it is judged by the IPv4 address it carries:
`64:ff9b::7f00:1` is loopback, `2002:0a00:0001::` is 10.0.0.1. Python's `is_global` alone does
not see that (and its lists change between Python versions), so the networks it misses are named here.
"""
from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address, ip_network

# Non-public networks `is_global` (Python 3.11) calls global.
_NON_PUBLIC_V4 = (
    ip_network("192.0.0.0/24"),     # IETF protocol assignments (RFC 6890): DS-Lite, NAT64 discovery, ...
    ip_network("192.88.99.0/24"),   # the deprecated 6to4 relay anycast (RFC 7526)
)
_NON_PUBLIC_V6 = (
    ip_network("64:ff9b:1::/48"),   # local-use NAT64 (RFC 8215): not globally reachable, whatever IPv4 it carries
    ip_network("fec0::/10"),        # deprecated site-local (RFC 3879)
)


def _low_32_bits(ip: IPv6Address) -> IPv4Address:
    return IPv4Address(int(ip) & 0xFFFFFFFF)


def _sixtofour(ip: IPv6Address) -> IPv4Address:
    return ip.sixtofour


# (network, how to find the IPv4 address it carries)
_EMBEDDING = (
    (ip_network("::ffff:0:0/96"), _low_32_bits),      # IPv4-mapped (RFC 4291)
    (ip_network("::ffff:0:0:0/96"), _low_32_bits),    # IPv4-translated (RFC 2765)
    (ip_network("::/96"), _low_32_bits),              # IPv4-compatible, deprecated (RFC 4291); :: and ::1 too
    (ip_network("64:ff9b::/96"), _low_32_bits),       # NAT64 well-known prefix (RFC 6052)
    (ip_network("2002::/16"), _sixtofour),            # 6to4 (RFC 3056)
)
_TEREDO = ip_network("2001::/32")   # RFC 4380: both the relay server's and the (obfuscated) client's IPv4


def is_public(address: str) -> bool:
    """True only for a globally reachable unicast address; False for anything unparsable."""
    try:
        ip = ipaddress.ip_address(str(address).split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, IPv6Address):
        if ip in _TEREDO:
            server, client = ip.teredo
            return _public_v4(server) and _public_v4(client)
        for network, embedded in _EMBEDDING:
            if ip in network:
                return _public_v4(embedded(ip))
        return ip.is_global and not ip.is_multicast and not any(ip in n for n in _NON_PUBLIC_V6)
    return _public_v4(ip)


def _public_v4(ip: IPv4Address) -> bool:
    return ip.is_global and not ip.is_multicast and not any(ip in n for n in _NON_PUBLIC_V4)
