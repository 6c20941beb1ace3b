"""Who a campaign is from: the user's default sender details, and the "From" it really goes out with.

Identify Sender Address (modern-campaign-api.txt) decides whether the sender's own address can be the
From, or whether a site-owned address is used with the sender's address as Reply-To:

1. A free mailbox provider (engine/data/freemail_domains.txt): site-owned. Those providers publish
   strict DMARC policies; mail from our servers with their domain in From is junked or rejected.
2. The site's own sender domain (or a subdomain of it): the address as is.
3. Otherwise the domain's DMARC record (TXT at `_dmarc.<domain>`, else at its parent domain, whose
   `sp=` then applies) decides. `p=none`: the address as is, since the domain publishes DMARC (Gmail's
   and Yahoo's bulk-sender rules ask for a record) without asking receivers to refuse mail from servers
   it did not authorize. `p=quarantine` / `p=reject`: site-owned, because our servers are neither in its
   SPF nor sign with its DKIM key. No record, an unreadable one, or a failed lookup: site-owned (no
   suitable record, and the safe side when DNS cannot tell).

The site-owned From is `<local part>@<sender domain>`; the sender domain is `Settings.sender_domain`
(`SENDMILL_SENDER_DOMAIN`), else the return-path (bounce) domain. DNS goes
through an injectable TXT lookup (`settings.extra["txt_lookup"]`, a callable name -> [strings]), so
tests never touch the network; the default uses dnspython with a 2-second budget.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Callable

from engine.accounts.auth import Actor
from engine.errors import InvalidEmailAddress, InvalidValue, SenderEmailNotVerified
from engine.models.senders import SenderDetails
from engine.validation import normalize_email

DNS_TIMEOUT = 2.0
FREEMAIL_FILE = Path(__file__).parents[1] / "data" / "freemail_domains.txt"

TxtLookup = Callable[[str], list]


class DnsLookupFailed(Exception):
    """The DNS query could not be answered (timeout, SERVFAIL …); NXDOMAIN is not a failure."""


@dataclass(frozen=True)
class SenderAddress:
    from_address: str
    reply_to: str          # the sender's own address when it is replaced, else ""
    reason: str            # freemail | own-domain | dmarc-none | dmarc-strict | no-dmarc

    @property
    def replaced(self) -> bool:
        return bool(self.reply_to)


@dataclass(frozen=True)
class DefaultSender:
    """What publishing puts in From / Reply-To."""

    from_name: str
    email_address: str     # the verified sender email
    from_address: str
    reply_to: str


@lru_cache(maxsize=1)
def freemail_domains() -> frozenset[str]:
    lines = FREEMAIL_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _within(domain: str, parent: str) -> bool:
    return domain == parent or domain.endswith("." + parent)


def site_sender_domain(settings) -> str:
    """The domain of site-owned From addresses: SENDMILL_SENDER_DOMAIN, else the bounce domain."""
    return (settings.sender_domain or settings.return_path_domain).lower()


def site_owned_local(local: str) -> str:
    """The local part of the site-owned stand-in for an address with this local part."""
    safe = re.sub(r"[^a-z0-9._-]+", "", local.lower())
    return (re.sub(r"\.{2,}", ".", safe).strip(".-") or "sender")[:64]


def is_freemail(domain: str) -> bool:
    labels = domain.lower().split(".")
    return any(".".join(labels[i:]) in freemail_domains() for i in range(len(labels) - 1))


def dns_txt_lookup(name: str) -> list[str]:
    """TXT strings at `name` through dnspython; [] when the name or record does not exist."""
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver()
    resolver.lifetime = DNS_TIMEOUT
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        raise DnsLookupFailed(f"{name}: {exc.__class__.__name__}") from None
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def dmarc_policy(domain: str, lookup: TxtLookup) -> str | None:
    """`none`, `quarantine` or `reject` for mail From `domain`; None when there is no usable record."""
    labels = domain.split(".")
    candidates = [(domain, "p")]
    if len(labels) > 2:
        candidates.append((".".join(labels[-2:]), "sp"))   # parent domain: its subdomain policy applies
    for name, tag in candidates:
        records = [r for r in lookup(f"_dmarc.{name}") if r.strip().lower().startswith("v=dmarc1")]
        if len(records) != 1:
            continue  # RFC 7489 §6.6.3: no record, or more than one, means no policy here
        tags = dict((k.strip().lower(), v.strip().lower()) for k, _, v in
                    (part.partition("=") for part in records[0].split(";")) if k.strip())
        policy = tags.get(tag) or tags.get("p")
        return policy if policy in ("none", "quarantine", "reject") else None
    return None


class SenderIdentityService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- identify sender address ---------------------------------------------------------------
    def sender_domain(self) -> str:
        return site_sender_domain(self.uow.settings)

    def identify(self, actor: Actor, email_address: str) -> SenderAddress:
        """Identify Sender Address for a user (their account must be ACTIVE)."""
        self.uow.email_account.require_active(actor)
        return self.resolve(email_address)

    def resolve(self, email_address: str) -> SenderAddress:
        """The From a campaign sent as `email_address` really carries (see the module docstring)."""
        normalized = normalize_email(email_address)
        if normalized is None:
            raise InvalidEmailAddress(f"'{email_address}' is not a valid email address")
        address = email_address.strip()
        local, _, domain = normalized.rpartition("@")
        own = self.sender_domain()
        if is_freemail(domain):
            return self._site_owned(address, local, own, "freemail")
        if _within(domain, own):
            return SenderAddress(address, "", "own-domain")
        lookup: TxtLookup = self.uow.settings.extra.get("txt_lookup") or dns_txt_lookup
        try:
            policy = dmarc_policy(domain, lookup)
        except DnsLookupFailed:
            policy = None
        if policy == "none":
            return SenderAddress(address, "", "dmarc-none")
        return self._site_owned(address, local, own, "dmarc-strict" if policy else "no-dmarc")

    @staticmethod
    def _site_owned(address: str, local: str, own_domain: str, reason: str) -> SenderAddress:
        return SenderAddress(f"{site_owned_local(local)}@{own_domain}", address, reason)

    # --- sender details: the one default sender per user -------------------------------------------
    def details(self, actor: Actor) -> tuple[SenderDetails | None, datetime | None]:
        """The user's sender details and when their address was verified (None when it no longer is)."""
        self.uow.email_account.require_active(actor)
        row = self.s.get(SenderDetails, actor.id, populate_existing=True)
        if row is None:
            return None, None
        sender = self.uow.sender_emails.find(actor.id, row.from_email)
        return row, (sender.verified_at if sender is not None and sender.verified else None)

    def update_details(self, actor: Actor, *, from_name: str | None = None,
                       from_email: str | None = None) -> tuple[SenderDetails, datetime | None]:
        """Change the from name and/or address; the address must be a verified sender email of the user."""
        self.uow.email_account.require_active(actor)
        if from_name is not None and not 1 <= len(from_name.strip()) <= 100:
            raise InvalidValue("fromName", "the from name must have 1 to 100 characters")
        row = self.s.get(SenderDetails, actor.id, populate_existing=True)
        if from_email is None and (row is None or not row.from_email):
            raise SenderEmailNotVerified("the first sender details need a verified from email address")
        if from_email is not None:
            if normalize_email(from_email) is None:
                raise InvalidEmailAddress(f"'{from_email}' is not a valid email address")
            sender = self.uow.sender_emails.find(actor.id, from_email)
            if sender is None or not sender.verified:
                raise SenderEmailNotVerified(f"{from_email.strip()} is not a verified sender email; create it and "
                                             "verify it with the code sent to it first")
        if row is None:
            row = SenderDetails(user_id=actor.id, from_name="", from_email="", updated_at=self.uow.clock())
            self.s.add(row)
        if from_name is not None:
            row.from_name = from_name.strip()
        if from_email is not None:
            row.from_email = sender.email_address
        row.updated_at = self.uow.clock()
        self.s.flush()
        return self.details(actor)

    def default_sender(self, owner_user_id: int) -> DefaultSender | None:
        """The From / Reply-To publishing uses; None without sender details on a still-verified address."""
        row = self.s.get(SenderDetails, owner_user_id, populate_existing=True)
        if row is None or not row.from_email:
            return None
        sender = self.uow.sender_emails.find(owner_user_id, row.from_email)
        if sender is None or not sender.verified:
            return None
        identity = self.resolve(sender.email_address)
        return DefaultSender(from_name=row.from_name, email_address=sender.email_address,
                             from_address=identity.from_address, reply_to=identity.reply_to)
