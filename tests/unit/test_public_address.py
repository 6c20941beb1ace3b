"""Which addresses webhooks may reach (engine/events/public_address.py): an IPv6 form that carries an IPv4
address is judged by that IPv4 address, so a NAT64 or 6to4 spelling of 127.0.0.1 is loopback."""
from __future__ import annotations

import pytest

from engine.events.public_address import is_public


@pytest.mark.parametrize("address", [
    # IPv4 itself
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "192.0.0.9", "192.0.0.1", "192.0.2.1", "198.18.0.1", "224.0.0.1", "255.255.255.255", "192.88.99.1",
    # plain IPv6
    "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "2001:db8::1",
    # NAT64 (RFC 6052 well-known prefix, RFC 8215 local-use prefix)
    "64:ff9b::7f00:1", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b::c000:9", "64:ff9b:1::808:808",
    # 6to4
    "2002:7f00:1::", "2002:a00:1::1", "2002:c0a8:101::1", "2002:c000:9::",
    # IPv4-compatible (deprecated)
    "::7f00:1", "::10.0.0.1", "::c0a8:101",
    # IPv4-mapped and IPv4-translated
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:0:7f00:1", "::ffff:0:a00:1", "::ffff:0:c000:9",
    # Teredo: a private client (10.0.0.1 obfuscated as f5ff:fffe) or a private relay server
    "2001:0:4136:e378:8000:63bf:f5ff:fffe", "2001:0:a00:1:8000:63bf:f7f7:f7f7",
    # not an address
    "", "localhost", "1.2.3", "::g",
])
def test_non_public_addresses(address):
    assert is_public(address) is False


@pytest.mark.parametrize("address", [
    "8.8.8.8", "93.184.216.34", "2606:4700:4700::1111",
    "64:ff9b::808:808", "64:ff9b::8.8.8.8",   # NAT64 of a public address
    "2002:808:808::1",                        # 6to4 of a public address
    "::808:808",                              # IPv4-compatible public address
    "::ffff:8.8.8.8", "::ffff:0:808:808",     # mapped and translated public addresses
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",   # Teredo: public relay 65.54.227.120, public client 8.8.8.8
])
def test_public_addresses(address):
    assert is_public(address) is True
