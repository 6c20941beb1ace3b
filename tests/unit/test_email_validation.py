"""Address normalisation: the identity used for deduplication and suppression."""
import pytest

from engine.validation import normalize_email


@pytest.mark.parametrize("raw,expected", [
    ("Alice@Example.COM", "alice@example.com"),
    ("  bob@example.org ", "bob@example.org"),
    ("user+tag@sub.example.co.uk", "user+tag@sub.example.co.uk"),
    ("jürgen@bücher.de".replace("jürgen", "juergen"), "juergen@xn--bcher-kva.de"),
    ("o'neil@example.com", "o'neil@example.com"),
])
def test_valid_addresses_are_normalised(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", [
    "", None, "plain", "a@b", "a@@b.com", "a b@example.com", ".a@example.com", "a.@example.com",
    "a..b@example.com", "a@-example.com", "a@example.123", "a@exa_mple.com", "x" * 65 + "@example.com",
    "a@" + "b" * 64 + ".com", "'; DROP TABLE subscribers; --@example.com",
])
def test_invalid_addresses_are_refused(raw):
    assert normalize_email(raw) is None
