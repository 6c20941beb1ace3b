"""Signed tracking tokens: what a recipient's links and the VERP bounce address carry."""
import base64
import re
import string

import pytest
from hypothesis import given, strategies as st

from engine.tracking.tokens import BadToken, Kind, Signer, Token
from tests.helpers import legacy_token

SIGNER = Signer("a-long-enough-secret-key-for-tests-0123456789")
IDS = st.integers(min_value=0, max_value=2**63 - 1)
NONCES = st.binary(min_size=4, max_size=4).map(bytes.hex)
NONCE = "0a1b2c3d"


def _sign(kind, signer=SIGNER, instance_id=17, subscriber_id=123456, link_index=None, nonce=NONCE):
    if kind is Kind.CLICK:
        link_index = 3 if link_index is None else link_index
    return signer.sign(kind, instance_id=instance_id, subscriber_id=subscriber_id, link_index=link_index,
                       nonce=nonce)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_round_trips(kind):
    token = _sign(kind)
    expected_link = 3 if kind is Kind.CLICK else None
    assert SIGNER.verify(token) == Token(kind, 17, 123456, expected_link, NONCE)
    assert SIGNER.verify(token, kind).kind is kind


@pytest.mark.parametrize("kind", list(Kind))
def test_tokens_are_url_safe_and_compact(kind):
    token = _sign(kind)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    # 1 header byte + small varints + a 32-bit nonce + a 96-bit MAC
    assert len(token) <= 34


@given(instance_id=IDS, subscriber_id=IDS, link_index=IDS, nonce=NONCES)
def test_any_ids_round_trip(instance_id, subscriber_id, link_index, nonce):
    token = SIGNER.sign(Kind.CLICK, instance_id=instance_id, subscriber_id=subscriber_id, link_index=link_index,
                        nonce=nonce)
    assert SIGNER.verify(token, Kind.CLICK) == Token(Kind.CLICK, instance_id, subscriber_id, link_index, nonce)
    local = SIGNER.sign_local(Kind.BOUNCE, instance_id=instance_id, subscriber_id=subscriber_id, nonce=nonce)
    assert SIGNER.verify_local(local, Kind.BOUNCE) == Token(Kind.BOUNCE, instance_id, subscriber_id, None, nonce)


def test_the_mac_is_at_least_96_bits():
    short = SIGNER.sign(Kind.OPEN, instance_id=0, subscriber_id=0, nonce=NONCE)
    raw = base64.urlsafe_b64decode(short + "=" * (-len(short) % 4))
    assert len(raw) - 3 - 4 >= 12   # 3 payload bytes (header, two one-byte varints), the nonce, the rest is MAC


def test_the_nonce_is_signed_with_the_ids():
    """A link names a row by id *and* nonce: the same ids with another row's nonce are another token,
    and a nonce cannot be swapped into a token without breaking its MAC."""
    token = _sign(Kind.UNSUBSCRIBE)
    other = _sign(Kind.UNSUBSCRIBE, nonce="0a1b2c3e")
    assert token != other and SIGNER.verify(other).nonce == "0a1b2c3e"
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[5] ^= 1   # header, one-byte instance, three-byte subscriber: byte 5 is the nonce's first
    with pytest.raises(BadToken):
        SIGNER.verify(base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())


@pytest.mark.parametrize("kind", [Kind.OPEN, Kind.CLICK, Kind.UNSUBSCRIBE, Kind.BOUNCE, Kind.CONFIRM])
def test_tokens_signed_before_nonces_still_verify_without_one(kind):
    """Links mailed before revision 0002 are version 1: no nonce. They verify, with nonce None, and the
    resolver decides what they may open (LinkTarget.made_for)."""
    link_index = 2 if kind is Kind.CLICK else None
    token = legacy_token(SIGNER, kind, instance_id=17, subscriber_id=123456, link_index=link_index)
    assert SIGNER.verify(token, kind) == Token(kind, 17, 123456, link_index, None)


@pytest.mark.parametrize("nonce", ["", "0a1b2c3", "0a1b2c3d4", "0A1B2C3D", "zzzzzzzz", None, 12345678])
def test_signing_refuses_a_malformed_nonce(nonce):
    with pytest.raises(ValueError):
        SIGNER.sign(Kind.OPEN, instance_id=1, subscriber_id=2, nonce=nonce)


@pytest.mark.parametrize("kind", list(Kind))
def test_changing_any_character_is_detected(kind):
    token = _sign(kind)
    alphabet = string.ascii_letters + string.digits + "-_"
    for i, ch in enumerate(token):
        for replacement in (alphabet[(alphabet.index(ch) + 1) % 64], alphabet[(alphabet.index(ch) + 32) % 64]):
            forged = token[:i] + replacement + token[i + 1:]
            with pytest.raises(BadToken):
                SIGNER.verify(forged)


def test_a_token_of_one_kind_is_refused_as_another():
    open_token = _sign(Kind.OPEN)
    with pytest.raises(BadToken):
        SIGNER.verify(open_token, Kind.CLICK)
    with pytest.raises(BadToken):
        SIGNER.verify(_sign(Kind.WEB_VIEW), Kind.UNSUBSCRIBE)
    # the kind is signed: the same ids give different tokens per kind
    assert len({_sign(k) for k in Kind}) == len(Kind)


def test_the_link_index_is_part_of_the_signature():
    first, second = _sign(Kind.CLICK, link_index=0), _sign(Kind.CLICK, link_index=1)
    assert first != second
    assert SIGNER.verify(second).link_index == 1


@pytest.mark.parametrize("garbage", [
    "", "a", "=" * 24, "A" * 20, "A" * 200, "not a token at all!", "üñîçødé-token-value-123",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "../../etc/passwd", "AAAA AAAA AAAA AAAA AAAA", None, 12345, b"bytes-token-bytes",
])
def test_garbage_is_a_bad_token(garbage):
    with pytest.raises(BadToken):
        SIGNER.verify(garbage)
    with pytest.raises(BadToken):
        SIGNER.verify_local(garbage)


def test_truncated_and_extended_tokens_are_refused():
    token = _sign(Kind.CLICK)
    for forged in (token[:-1], token[:-4], token[1:], token + "A", token + "AAAA", token + token):
        with pytest.raises(BadToken):
            SIGNER.verify(forged)


def test_a_non_canonical_spelling_of_the_same_bytes_is_refused():
    token = _sign(Kind.OPEN, subscriber_id=1234)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert len(raw) % 3 != 0, "the test needs unused trailing bits"
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    # Flip the lowest bit of the last character: with unused trailing bits it decodes to the same bytes.
    last = alphabet[alphabet.index(token[-1]) ^ 1]
    forged = token[:-1] + last
    assert base64.urlsafe_b64decode(forged + "=" * (-len(forged) % 4)) == raw
    with pytest.raises(BadToken):
        SIGNER.verify(forged)


def test_another_secret_does_not_verify_and_retired_secrets_still_do():
    other = Signer("some-other-secret-key-0123456789-abcdef")
    token = _sign(Kind.UNSUBSCRIBE, signer=other)
    with pytest.raises(BadToken):
        SIGNER.verify(token)
    rotated = Signer("the-new-secret-key-0123456789-abcdef", previous=("some-other-secret-key-0123456789-abcdef",))
    assert rotated.verify(token).kind is Kind.UNSUBSCRIBE
    # new tokens use the new key only
    with pytest.raises(BadToken):
        other.verify(_sign(Kind.UNSUBSCRIBE, signer=rotated))


@pytest.mark.parametrize("kwargs", [
    {"kind": Kind.CLICK, "instance_id": 1, "subscriber_id": 1},                     # click without index
    {"kind": Kind.OPEN, "instance_id": 1, "subscriber_id": 1, "link_index": 0},     # index on a non-click
    {"kind": Kind.OPEN, "instance_id": -1, "subscriber_id": 1},
    {"kind": Kind.OPEN, "instance_id": 1, "subscriber_id": 2**63},
    {"kind": Kind.OPEN, "instance_id": 1, "subscriber_id": True},
    {"kind": Kind.OPEN, "instance_id": 1, "subscriber_id": "5"},
    {"kind": 99, "instance_id": 1, "subscriber_id": 1},
])
def test_signing_refuses_bad_ids(kwargs):
    kind = kwargs.pop("kind")
    with pytest.raises(ValueError):
        SIGNER.sign(kind, **kwargs, nonce=NONCE)


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError):
        Signer("")


def test_url_uses_the_kinds_path():
    assert re.fullmatch(r"https://t\.example/t/u/[A-Za-z0-9_-]+",
                        SIGNER.url("https://t.example/", Kind.UNSUBSCRIBE, instance_id=1, subscriber_id=2,
                                   nonce=NONCE))
    assert "/t/c/" in SIGNER.url("https://t.example", Kind.CLICK, instance_id=1, subscriber_id=2, link_index=0,
                                 nonce=NONCE)
    assert "/t/o/" in SIGNER.url("https://t.example", Kind.OPEN, instance_id=1, subscriber_id=2, nonce=NONCE)
    assert "/t/w/" in SIGNER.url("https://t.example", Kind.WEB_VIEW, instance_id=1, subscriber_id=2, nonce=NONCE)


# --- VERP -------------------------------------------------------------------------------------------
def test_verp_address_ties_a_bounce_to_instance_and_subscriber():
    address = SIGNER.verp_address("bounces.example.com", instance_id=4242, subscriber_id=987654321, nonce=NONCE)
    local, _, domain = address.partition("@")
    assert domain == "bounces.example.com"
    assert re.fullmatch(r"bounce\+[a-z2-7]+", local) and len(local) <= 64
    assert SIGNER.parse_verp(address) == Token(Kind.BOUNCE, 4242, 987654321, None, NONCE)


def test_verp_survives_mtas_that_change_the_case_of_the_local_part():
    address = SIGNER.verp_address("bounces.example.com", instance_id=1, subscriber_id=2, nonce=NONCE)
    assert SIGNER.parse_verp(address.upper()) == Token(Kind.BOUNCE, 1, 2, None, NONCE)
    assert SIGNER.parse_verp(f"<{address}>") == Token(Kind.BOUNCE, 1, 2, None, NONCE)


def test_verp_local_part_stays_within_64_octets_for_the_largest_ids():
    address = SIGNER.verp_address("x.example", instance_id=2**63 - 1, subscriber_id=2**63 - 1, nonce=NONCE)
    assert len(address.partition("@")[0]) <= 64


def test_tampered_or_foreign_verp_addresses_are_refused():
    address = SIGNER.verp_address("bounces.example.com", instance_id=1, subscriber_id=2, nonce=NONCE)
    local, _, domain = address.partition("@")
    token = local.partition("+")[2]
    for i in range(len(token)):
        swapped = "a" if token[i] != "a" else "b"
        with pytest.raises(BadToken):
            SIGNER.parse_verp(f"bounce+{token[:i]}{swapped}{token[i + 1:]}@{domain}")
    for bad in (f"other+{token}@{domain}", f"bounce{token}@{domain}", "bounce+@x.example", "postmaster@x.example",
                f"bounce+{token}0@{domain}", "bounce+" + "a" * 40 + "@x.example"):
        with pytest.raises(BadToken):
            SIGNER.parse_verp(bad)
    # a URL token is not a bounce token
    with pytest.raises(BadToken):
        SIGNER.verify_local(SIGNER.sign_local(Kind.UNSUBSCRIBE, instance_id=1, subscriber_id=2, nonce=NONCE),
                            Kind.BOUNCE)


def test_local_part_encoding_is_lower_case_base32_without_padding():
    import base64
    import os

    from engine.tracking.tokens import b32_token

    for length in range(0, 40):
        raw = os.urandom(length)
        assert b32_token(raw) == base64.b32encode(raw).rstrip(b"=").decode("ascii").lower()


def test_the_keyed_mac_is_hmac_sha256():
    import hmac

    signer = Signer("a-long-enough-secret-key-for-tests-0123456789")
    for payload in (b"", b"x", bytes(range(256))):
        assert signer._mac(payload) == hmac.digest(signer._keys[0], payload, "sha256")
