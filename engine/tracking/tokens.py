"""Signed tracking tokens: open pixels, clicks, unsubscribe and web-view links, VERP bounce addresses.

A token is `payload || MAC`: the payload packs the token kind and the ids it stands for as
unsigned varints, then the `public_nonce` of the row the link was made for (4 bytes: the campaign's
for a campaign message, the subscriber's or email subscription's for the links that name no campaign;
engine/models/link_targets.py); the MAC is HMAC-SHA256 over it, truncated to 96 bits. Nothing is
stored per token, so a link keeps working as long as the secret key does, and a token can only name
what we signed: a click token carries the *index* of a link in the campaign content, never a URL, so
the redirect can only go to URLs that are in the content (no open redirect). Whoever resolves a token
compares its nonce with the row's, so a link never opens a row other than the one it was made for,
even one that got a deleted row's id. Tokens of version 1 (signed before nonces) still verify, with
`nonce` None: LinkTarget.made_for decides what they may open.

Two spellings of the same bytes:
* `sign` / `verify`: base64url, for URL paths (`/t/c/<token>`).
* `sign_local` / `verify_local`: base32 lower-case, for mail local parts (`bounce+<token>@…`).
  MTAs may change the case of a local part; base32 survives that.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import IntEnum

from engine.errors import BadToken

__all__ = ["AUTORESPONDER_INSTANCES", "JOURNEY_INSTANCES", "journey_instance", "journey_action_of", "BadToken", "Kind", "autoresponder_instance", "autoresponder_of", "NO_NONCE", "RecipientTokens", "Signer", "Token", "URL_PATHS", "b32_token",
           "token_url", "url_token"]

MAC_BYTES = 12          # 96 bits: forging one token takes ~2^96 tries against an online check
# 32 bits: enough to tell a row from another that got the same id (ids are not reused in the first
# place), and what fits a VERP local part in 64 octets with the largest ids (RFC 5321 §4.5.3.1.1).
NONCE_BYTES = 4
VERSION = 2
LEGACY_VERSION = 1      # no nonce in the payload
# The nonce of links that name nobody (test sends name subscriber 0): any value would do.
NO_NONCE = "0" * (2 * NONCE_BYTES)
_MAX_ID = (1 << 63) - 1  # the ids are database keys (BIGINT at most)
_B64 = re.compile(r"^[A-Za-z0-9_-]+$")
_B32 = re.compile(r"^[a-z2-7]+$")


class Kind(IntEnum):
    OPEN = 1
    CLICK = 2
    UNSUBSCRIBE = 3
    WEB_VIEW = 4
    BOUNCE = 5
    CONFIRM = 6   # opt-in confirmation link (%Link:Confirm%)
    REJECT = 7    # opt-in rejection link (%Link:Reject%)
    # An account-wide unsubscribe link (modern Generate Unsubscribe Link): instance_id 0,
    # subscriber_id = the email_subscriptions row. Served by the same /t/u/ page.
    ACCOUNT_UNSUBSCRIBE = 8


# Autoresponder messages have no send instance: their tokens carry AUTORESPONDER_INSTANCES + the
# autoresponder's id as the instance id. Campaign instance ids never come near 2^62, so every token
# signed before keeps its meaning, and the payload format is unchanged (the id is still a varint).
AUTORESPONDER_INSTANCES = 1 << 62


def autoresponder_instance(autoresponder_id: int) -> int:
    return AUTORESPONDER_INSTANCES + autoresponder_id


def autoresponder_of(instance_id: int) -> int | None:
    """The autoresponder a token's instance id names, or None for a campaign's (or no) instance."""
    return instance_id - AUTORESPONDER_INSTANCES if AUTORESPONDER_INSTANCES < instance_id < JOURNEY_INSTANCES \
        else None


# A journey's SendEmail messages carry JOURNEY_INSTANCES + the action's id (above every autoresponder's).
JOURNEY_INSTANCES = 3 << 61


def journey_instance(action_id: int) -> int:
    return JOURNEY_INSTANCES + action_id


def journey_action_of(instance_id: int) -> int | None:
    """The journey SendEmail action a token's instance id names, or None."""
    return instance_id - JOURNEY_INSTANCES if instance_id > JOURNEY_INSTANCES else None


# Path segment of each kind's public URL: `{base_url}/t/{segment}/{token}`.
URL_PATHS = {
    Kind.OPEN: "o", Kind.CLICK: "c", Kind.UNSUBSCRIBE: "u", Kind.WEB_VIEW: "w",
    Kind.CONFIRM: "confirm", Kind.REJECT: "reject", Kind.ACCOUNT_UNSUBSCRIBE: "u",
}


@dataclass(frozen=True)
class Token:
    kind: Kind
    instance_id: int        # the campaign run (or other sending instance); 0 when there is none
    subscriber_id: int
    link_index: int | None = None   # CLICK only: position in the campaign's link list
    nonce: str | None = None        # the row's public_nonce, in hex; None in a version 1 token


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _SMALL[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL = [bytes((i,)) for i in range(0x80)]
_B32_PAIRS = [a + b for a in "abcdefghijklmnopqrstuvwxyz234567" for b in "abcdefghijklmnopqrstuvwxyz234567"]


def b32_token(raw: bytes) -> str:
    """base64.b32encode(raw) without padding, in lower case: ten bits per lookup (the standard library's
    encoder is pure Python in 3.11 and shows up in the per-recipient cost)."""
    bits = len(raw) * 8
    chars = -(-bits // 5)
    value = int.from_bytes(raw, "big") << (chars * 5 - bits)
    if chars % 2:
        value <<= 5
    out = [_B32_PAIRS[(value >> shift) & 0x3FF] for shift in range(((chars + 1) // 2 - 1) * 10, -1, -10)]
    return "".join(out)[:chars]
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def token_url(base_url: str, kind: Kind, token: str) -> str:
    """`{base_url}/t/{segment}/{token}`: where the public pages of engine/tracking/tokens answer a token."""
    return f"{base_url.rstrip('/')}/t/{URL_PATHS[Kind(kind)]}/{token}"


def url_token(raw: bytes) -> str:
    """base64url without padding."""
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii")


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise BadToken()
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _check_id(name: str, value) -> int:
    if type(value) is not int or not 0 <= value <= _MAX_ID:  # bool is not an id
        raise ValueError(f"{name} must be an int in 0..2**63-1, not {value!r}")
    return value


def _nonce_bytes(nonce: str) -> bytes:
    """The nonce as stored (lower-case hex, what Token.nonce gives back) in bytes."""
    try:
        raw = bytes.fromhex(nonce) if isinstance(nonce, str) and len(nonce) == 2 * NONCE_BYTES else b""
    except ValueError:
        raw = b""
    if len(raw) != NONCE_BYTES or raw.hex() != nonce:
        raise ValueError(f"nonce must be {2 * NONCE_BYTES} lower-case hex digits, not {nonce!r}")
    return raw


class Signer:
    """Signs and verifies tokens with keys derived from the application's secret key.

    `previous` holds retired secret keys: tokens they signed still verify, new ones use `secret`.
    """

    def __init__(self, secret: str | bytes, previous: tuple[str | bytes, ...] = ()):
        self._keys = [self._derive(k) for k in (secret, *previous)]
        self._heads: dict[tuple[Kind, int], bytes] = {}
        # HMAC-SHA256 with the inner and outer hash states keyed once (RFC 2104): every token then costs
        # two hash copies. One-shot hmac.digest() re-keys each call, which OpenSSL 3 makes ~10x slower,
        # and a campaign signs several tokens per recipient.
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in self._keys[0].ljust(64, b"\0")))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in self._keys[0].ljust(64, b"\0")))

    def _mac(self, payload: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(payload)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    @staticmethod
    def _derive(secret: str | bytes) -> bytes:
        if isinstance(secret, str):
            secret = secret.encode()
        if not secret:
            raise ValueError("the signing secret is empty")
        # Domain separation: the same secret key signs other things (sessions, resets).
        return hmac.new(secret, b"sendmill/tracking-token/v1", hashlib.sha256).digest()

    # --- signing -----------------------------------------------------------------------------
    def _head(self, kind: Kind, instance_id: int) -> bytes:
        """Version, kind and instance: the same for every token of a campaign run, so cached."""
        head = self._heads.get((kind, instance_id))
        if head is None:
            head = bytes((VERSION << 4 | Kind(kind),)) + _varint(_check_id("instance_id", instance_id))
            if len(self._heads) > 4096:
                self._heads.clear()
            self._heads[(kind, instance_id)] = head
        return head

    def for_recipient(self, instance_id: int, subscriber_id: int, nonce: str) -> "RecipientTokens":
        """Every token of one recipient of one instance: a message carries six to ten of them.
        `nonce`: the public_nonce of the row the links are made for (module docstring)."""
        return RecipientTokens(self, instance_id, subscriber_id, nonce)

    def sign(self, kind: Kind, *, instance_id: int = 0, subscriber_id: int, nonce: str,
             link_index: int | None = None) -> str:
        """A URL-safe token (base64url, no padding)."""
        return self.for_recipient(instance_id, subscriber_id, nonce).token(kind, link_index)

    def sign_local(self, kind: Kind, *, instance_id: int = 0, subscriber_id: int, nonce: str) -> str:
        """A token for an email local part: base32, lower case, no padding."""
        return self.for_recipient(instance_id, subscriber_id, nonce).local(kind)

    def url(self, base_url: str, kind: Kind, **ids) -> str:
        """The public tracking URL of a token, e.g. `https://mail.example.com/t/u/<token>`."""
        return token_url(base_url, kind, self.sign(kind, **ids))

    def verp_address(self, domain: str, *, instance_id: int, subscriber_id: int, nonce: str,
                     prefix: str = "bounce") -> str:
        """The envelope sender that ties a bounce to (instance, subscriber): `bounce+<token>@domain`."""
        return self.for_recipient(instance_id, subscriber_id, nonce).verp_address(domain, prefix)

    # --- verifying ---------------------------------------------------------------------------
    def verify(self, token: str, kind: Kind | None = None) -> Token:
        """The payload of a base64url token; BadToken when it was not signed by us (or not as `kind`)."""
        if not isinstance(token, str) or not 16 <= len(token) <= 64 or not _B64.match(token):
            raise BadToken()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise BadToken() from None
        # Several strings can decode to the same bytes (unused trailing bits); accept only ours.
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
            raise BadToken()
        return self._unpack(raw, kind)

    def verify_local(self, token: str, kind: Kind | None = None) -> Token:
        """The payload of a base32 token, in any letter case."""
        if not isinstance(token, str) or not 16 <= len(token) <= 64:
            raise BadToken()
        token = token.lower()
        if not _B32.match(token):
            raise BadToken()
        try:
            raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
        except (binascii.Error, ValueError):
            raise BadToken() from None
        if base64.b32encode(raw).rstrip(b"=").decode("ascii").lower() != token:
            raise BadToken()
        return self._unpack(raw, kind)

    def parse_verp(self, address: str, prefix: str = "bounce") -> Token:
        """The (instance, subscriber) of a VERP address like `Bounce+<token>@example.com`."""
        address = address.strip().strip("<>")
        local = address.rpartition("@")[0] if "@" in address else address
        head, plus, token = local.partition("+")
        if not plus or head.lower() != prefix.lower():
            raise BadToken()
        return self.verify_local(token, Kind.BOUNCE)

    def _unpack(self, raw: bytes, kind: Kind | None) -> Token:
        if len(raw) < 3 + MAC_BYTES:
            raise BadToken()
        payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        matched = False
        for key in self._keys:
            # Constant time, and every key is tried, so timing tells nothing about which matched.
            matched |= hmac.compare_digest(hmac.digest(key, payload, "sha256")[:MAC_BYTES], mac)
        if not matched:
            raise BadToken()
        header = payload[0]
        version = header >> 4
        if version not in (VERSION, LEGACY_VERSION):
            raise BadToken()
        try:
            token_kind = Kind(header & 0x0F)
        except ValueError:
            raise BadToken() from None
        instance_id, pos = _read_varint(payload, 1)
        subscriber_id, pos = _read_varint(payload, pos)
        nonce = None
        if version == VERSION:
            nonce, pos = payload[pos:pos + NONCE_BYTES].hex(), pos + NONCE_BYTES
        link_index = None
        if token_kind is Kind.CLICK:
            link_index, pos = _read_varint(payload, pos)
        if pos != len(payload) or (kind is not None and token_kind is not Kind(kind)):
            raise BadToken()
        return Token(token_kind, instance_id, subscriber_id, link_index, nonce)


class RecipientTokens:
    """The tokens of one (instance, subscriber): the ids and the nonce are checked and packed once,
    since packing and encoding cost more than the MAC itself."""

    __slots__ = ("_signer", "_instance_id", "_subscriber")

    def __init__(self, signer: Signer, instance_id: int, subscriber_id: int, nonce: str):
        self._signer = signer
        self._instance_id = _check_id("instance_id", instance_id)
        self._subscriber = _varint(_check_id("subscriber_id", subscriber_id)) + _nonce_bytes(nonce)

    def raw(self, kind: Kind, link_index: int | None = None) -> bytes:
        """payload || MAC: both spellings below encode these bytes."""
        signer = self._signer
        payload = signer._head(kind, self._instance_id) + self._subscriber
        if kind == Kind.CLICK:
            if link_index is None:
                raise ValueError("a click token needs link_index")
            payload += _varint(_check_id("link_index", link_index))
        elif link_index is not None:
            raise ValueError(f"only click tokens carry link_index, not {Kind(kind).name}")
        return payload + signer._mac(payload)[:MAC_BYTES]

    def token(self, kind: Kind, link_index: int | None = None) -> str:
        """base64url, for URL paths."""
        return url_token(self.raw(kind, link_index))

    def local(self, kind: Kind) -> str:
        """base32 lower case, for mail local parts."""
        return b32_token(self.raw(kind))

    def url(self, base_url: str, kind: Kind) -> str:
        return token_url(base_url, kind, self.token(kind))

    def verp_address(self, domain: str, prefix: str = "bounce") -> str:
        """The envelope sender that ties a bounce to this recipient (Signer.parse_verp reads it)."""
        return f"{prefix}+{self.local(Kind.BOUNCE)}@{domain}"
