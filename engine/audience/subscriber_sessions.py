"""Subscriber sessions: Subscriber.Login's SessionID and what Subscriber.GetLists shows with it.

A subscriber logs in with a list and an address (the v5.9.4 page asks nothing more). The session is a
signed, expiring token and nothing is stored, so there is no secret at rest to steal and no table to
purge. The token packs the subscriber's id, the second it was issued and the subscriber's public nonce;
its MAC (HMAC-SHA256, 128 bits kept) also covers the subscriber's current normalized address. So a
session dies when it is LIFETIME old, when the subscriber row is deleted (the id never comes back with
the same nonce: engine/models/link_targets.py), when the owner changes the address, when the list
owner's account is disabled, and when the secret key is rotated out (SENDMILL_PREVIOUS_SECRET_KEYS keeps
old sessions alive for a rotation, like tracking links).

Login answers "not found" alike for an unknown list, an unknown address and a disabled owner: the only
thing a caller learns is what the page's code 4 documents, and the public rate limit bounds the asking.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import not_, select

from engine.errors import InvalidEmailAddress, SubscriberNotFound, SubscriberSessionInvalid
from engine.models import Subscriber, SubscriberList, User
from engine.validation import normalize_email

# Short: the login proves only that the caller knows an address on the list.
LIFETIME = timedelta(hours=1)
# Hosts' clocks differ a little: a session issued by one is not "from the future" on another.
CLOCK_SKEW = 60
VERSION = 1
MAC_BYTES = 16
NONCE_BYTES = 4
_MAX_ID = (1 << 63) - 1
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24,80}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SubscribedList:
    list_id: int
    name: str
    subscription_status: str


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode()
    # Domain separation: the same secret key signs tracking links, which must never pass for a session.
    return hmac.new(secret, b"sendmill/subscriber-session/v1", hashlib.sha256).digest()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift <= 63:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos
    raise SubscriberSessionInvalid()


def _mac(key: bytes, payload: bytes, email_normalized: str) -> bytes:
    return hmac.digest(key, payload + b"\0" + email_normalized.encode(), "sha256")[:MAC_BYTES]


@dataclass(frozen=True)
class _Claims:
    payload: bytes
    mac: bytes
    subscriber_id: int
    issued_at: int
    nonce: str


def _unpack(token) -> _Claims:
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise SubscriberSessionInvalid()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise SubscriberSessionInvalid() from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token or len(raw) < 3 + NONCE_BYTES + MAC_BYTES:
        raise SubscriberSessionInvalid()
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if payload[0] != VERSION:
        raise SubscriberSessionInvalid()
    subscriber_id, pos = _read_varint(payload, 1)
    issued_at, pos = _read_varint(payload, pos)
    if pos + NONCE_BYTES != len(payload) or not 1 <= subscriber_id <= _MAX_ID:
        raise SubscriberSessionInvalid()
    return _Claims(payload, mac, subscriber_id, issued_at, payload[pos:].hex())


class SubscriberSessions:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session
        settings = uow.settings
        self._keys = [_key(k) for k in (settings.secret_key, *settings.previous_secret_keys) if k]

    def login(self, list_id: int, email: str) -> tuple[str, Subscriber]:
        """A session for the subscriber of `list_id` with address `email` (any subscription status: an
        unsubscribed reader may still look at their lists)."""
        normalized = normalize_email(email)
        if normalized is None:
            raise InvalidEmailAddress()
        subscriber = self.s.scalar(
            select(Subscriber).join(SubscriberList, SubscriberList.id == Subscriber.list_id)
            .join(User, User.id == SubscriberList.owner_user_id)
            .where(Subscriber.list_id == list_id, Subscriber.email_normalized == normalized,
                   User.account_status == "Enabled"))
        if subscriber is None:
            raise SubscriberNotFound()
        issued_at = int((self.uow.clock() - _EPOCH).total_seconds())
        payload = (bytes((VERSION,)) + _varint(subscriber.id) + _varint(issued_at)
                   + bytes.fromhex(subscriber.public_nonce))
        mac = _mac(self._keys[0], payload, subscriber.email_normalized)
        return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode("ascii"), subscriber

    def lists(self, session_id) -> list[SubscribedList]:
        """The owner's lists the session's address is on (lists hidden from the subscriber area left out),
        each with the address's status there, by list ID."""
        subscriber, owner_id = self._resolve(session_id)
        rows = self.s.execute(
            select(SubscriberList.id, SubscriberList.name, Subscriber.subscription_status)
            .join(SubscriberList, SubscriberList.id == Subscriber.list_id)
            .where(SubscriberList.owner_user_id == owner_id,
                   Subscriber.email_normalized == subscriber.email_normalized,
                   not_(SubscriberList.hide_in_subscriber_area))
            .order_by(SubscriberList.id))
        return [SubscribedList(r.id, r.name, r.subscription_status) for r in rows]

    def _resolve(self, session_id) -> tuple[Subscriber, int]:
        claims = _unpack(session_id)
        now = (self.uow.clock() - _EPOCH).total_seconds()
        row = self.s.execute(
            select(Subscriber, SubscriberList.owner_user_id)
            .join(SubscriberList, SubscriberList.id == Subscriber.list_id)
            .join(User, User.id == SubscriberList.owner_user_id)
            .where(Subscriber.id == claims.subscriber_id, User.account_status == "Enabled")).first()
        matched = False
        email = row[0].email_normalized if row is not None else ""
        for key in self._keys:
            # Every key is tried, in constant time: timing tells nothing about which matched.
            matched |= hmac.compare_digest(_mac(key, claims.payload, email), claims.mac)
        if (not matched or row is None or not hmac.compare_digest(row[0].public_nonce, claims.nonce)
                or not claims.issued_at - CLOCK_SKEW <= now < claims.issued_at + LIFETIME.total_seconds()):
            raise SubscriberSessionInvalid()
        return row[0], row[1]
