"""Identify Sender Address without a network: the free-mail list, DMARC parsing, the site-owned From.
DNS is always the fake below; a test that reached the real resolver would fail on the guard."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.config import Settings
from engine.errors import InvalidEmailAddress
from engine.senders.identity import (
    FREEMAIL_FILE, DnsLookupFailed, SenderIdentityService, dmarc_policy, freemail_domains, is_freemail,
)


class FakeDns:
    """TXT records by name; names in `broken` fail like a timeout; every query is recorded."""

    def __init__(self, records: dict[str, list[str]] | None = None, broken: tuple[str, ...] = ()):
        self.records = records or {}
        self.broken = broken
        self.queries: list[str] = []

    def __call__(self, name: str) -> list[str]:
        self.queries.append(name)
        if name in self.broken:
            raise DnsLookupFailed(f"{name}: Timeout")
        return list(self.records.get(name, []))


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch):
    def refuse(name):
        raise AssertionError(f"a unit test tried real DNS for {name}")
    monkeypatch.setattr("engine.senders.identity.dns_txt_lookup", refuse)


def service(dns: FakeDns, **fields) -> SenderIdentityService:
    settings = Settings(database_url="sqlite://", secret_key="k", base_url="https://mail.example.net",
                        extra={"txt_lookup": dns}, **fields)
    return SenderIdentityService(SimpleNamespace(session=None, settings=settings))


def test_the_freemail_file_lists_the_big_providers_and_nothing_malformed():
    domains = freemail_domains()
    for domain in ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com", "icloud.com", "gmx.de",
                   "mail.ru", "yandex.ru", "proton.me"):
        assert domain in domains
    assert all(d == d.lower() and "." in d and " " not in d for d in domains)
    assert "# Google" in FREEMAIL_FILE.read_text()  # comments are allowed and skipped
    assert not any(d.startswith("#") for d in domains)


@pytest.mark.parametrize("domain,free", [("gmail.com", True), ("GMAIL.COM", True), ("eu.yahoo.co.uk", True),
                                         ("notgmail.com", False), ("gmail.com.example.org", False),
                                         ("example.com", False)])
def test_freemail_matches_the_domain_and_its_subdomains_only(domain, free):
    assert is_freemail(domain) is free


def test_a_freemail_address_gets_the_site_owned_from_and_keeps_the_user_as_reply_to():
    dns = FakeDns()
    answer = service(dns).resolve("John.Doe@Gmail.com")
    assert answer.from_address == "john.doe@mail.example.net"
    assert answer.reply_to == "John.Doe@Gmail.com" and answer.replaced and answer.reason == "freemail"
    assert dns.queries == []  # the list decides; no DNS needed


def test_the_site_domain_is_configurable_and_wins_over_the_bounce_domain():
    answer = service(FakeDns(), sender_domain="send.example.org").resolve("anna@hotmail.com")
    assert answer.from_address == "anna@send.example.org"


def test_an_address_on_the_site_domain_is_kept():
    dns = FakeDns()
    answer = service(dns).resolve("news@mail.example.net")
    assert (answer.from_address, answer.reply_to, answer.reason) == ("news@mail.example.net", "", "own-domain")
    assert dns.queries == []


@pytest.mark.parametrize("record,kept,reason", [
    ("v=DMARC1; p=none; rua=mailto:d@shop.example", True, "dmarc-none"),
    ("v=DMARC1; p=quarantine", False, "dmarc-strict"),
    ("v=DMARC1;p=reject;pct=100", False, "dmarc-strict"),
    ("v=spf1 -all", False, "no-dmarc"),              # not a DMARC record
    ("v=DMARC1; p=bogus", False, "no-dmarc"),        # unreadable policy
])
def test_a_custom_domain_is_decided_by_its_dmarc_policy(record, kept, reason):
    dns = FakeDns({"_dmarc.shop.example": [record]})
    answer = service(dns).resolve("sales@shop.example")
    assert answer.reason == reason
    assert (answer.from_address == "sales@shop.example") is kept
    assert answer.reply_to == ("" if kept else "sales@shop.example")
    assert dns.queries[0] == "_dmarc.shop.example"


def test_no_record_two_records_or_a_failed_lookup_mean_a_site_owned_from():
    assert service(FakeDns()).resolve("a@plain.example").reason == "no-dmarc"
    two = FakeDns({"_dmarc.two.example": ["v=DMARC1; p=none", "v=DMARC1; p=reject"]})
    assert service(two).resolve("a@two.example").reason == "no-dmarc"
    broken = FakeDns(broken=("_dmarc.slow.example",))
    answer = service(broken).resolve("a@slow.example")
    assert answer.replaced and answer.reason == "no-dmarc"


def test_a_subdomain_without_its_own_record_uses_the_parent_subdomain_policy():
    dns = FakeDns({"_dmarc.corp.example": ["v=DMARC1; p=reject; sp=none"]})
    assert dmarc_policy("news.corp.example", dns) == "none"
    assert dns.queries == ["_dmarc.news.corp.example", "_dmarc.corp.example"]
    assert dmarc_policy("news.other.example", FakeDns({"_dmarc.other.example": ["v=DMARC1; p=reject"]})) == "reject"


def test_the_site_owned_local_part_is_made_safe():
    answer = service(FakeDns()).resolve("o'brien+news@yahoo.com")
    assert answer.from_address == "obriennews@mail.example.net"
    assert service(FakeDns()).resolve("+++@yahoo.com").from_address == "sender@mail.example.net"


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@b", "two@@example.com", "x@" + "y" * 300])
def test_an_invalid_address_is_refused(bad):
    with pytest.raises(InvalidEmailAddress):
        service(FakeDns()).resolve(bad)
