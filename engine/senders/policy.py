"""The From policy: which addresses an account may send campaigns, test messages and confirmations as.

A From address is allowed for an account when it is

1. one of the account's sender emails verified by code (engine/senders/sender_emails.py);
2. the site-owned stand-in Identify Sender Address gives such a verified address,
   `<local part>@<sender domain>` (engine/senders/identity.py): what the modern Publish writes when the
   verified address is free-mail or DMARC-strict. The sender domain is not open beyond that: another
   local part there is someone else's name on the site's own domain;
3. on a domain the administrator allows, for the whole installation (`SENDMILL_ALLOWED_SENDER_DOMAINS`)
   or for the account's user group (`AllowedSenderDomains`). A listed domain covers its subdomains;
   `*` allows every domain (for legacy clients that set any From, on an installation that trusts them).

Nothing else is allowed, so a fresh installation sends only from verified addresses. The rule is checked
when a campaign is armed, when a send instance starts (the tick holds the campaign) and when a worker
builds an instance's message (the rows fail instead of going out under another From), and before every
test message and double opt-in confirmation.
"""
from __future__ import annotations

import re
from typing import Iterable

from sqlalchemy import select

from engine.errors import SenderNotAllowed
from engine.models import Email, User, UserGroup
from engine.models.senders import SenderEmail
from engine.senders.identity import site_owned_local, site_sender_domain
from engine.validation import normalize_email

ANY_DOMAIN = "*"
MAX_DOMAINS_TEXT = 4000
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


def parse_domains(value: str | Iterable[str]) -> tuple[str, ...]:
    """Domain names from a comma-separated text (or a list), lower-cased and de-duplicated; `*` alone
    stands for every domain. ValueError names the first entry that is not a domain name."""
    items = value.split(",") if isinstance(value, str) else list(value)
    domains: list[str] = []
    for item in items:
        domain = str(item).strip().lower().lstrip("@").rstrip(".")
        if not domain:
            continue
        if domain == ANY_DOMAIN:
            return (ANY_DOMAIN,)
        labels = domain.split(".")
        if len(domain) > 253 or not all(_LABEL.match(label) for label in labels):
            raise ValueError(f"'{str(item).strip()}' is not a domain name (use the ASCII form, xn--… for "
                             "international names, or * for every domain)")
        if domain not in domains:
            domains.append(domain)
    return tuple(domains)


def format_domains(domains: Iterable[str]) -> str:
    return ",".join(domains)


def covers(allowed: Iterable[str], domain: str) -> bool:
    """Whether `domain` is one of `allowed`, a subdomain of one, or `allowed` holds `*`."""
    domain = domain.lower()
    return any(entry == ANY_DOMAIN or domain == entry or domain.endswith("." + entry) for entry in allowed)


def campaign_from(email: Email, owner: User) -> str:
    """The From a campaign's messages carry: the email's, else the owner's own address."""
    return email.from_email or owner.email_address


def refusal(s, settings, owner_user_id: int, address: str) -> str:
    """Why `owner_user_id` may not send as `address`, or "" when the policy allows it (on Session `s`)."""
    normalized = normalize_email(address)
    if normalized is None:
        return f"'{address}' is not a valid From address"
    local, _, domain = normalized.rpartition("@")
    if covers(settings.allowed_sender_domains, domain):
        return ""
    group_domains = s.scalar(select(UserGroup.allowed_sender_domains).join(User, User.group_id == UserGroup.id)
                             .where(User.id == owner_user_id))
    if group_domains and covers(parse_domains(group_domains), domain):
        return ""
    verified = list(s.scalars(select(SenderEmail.email_normalized).where(
        SenderEmail.owner_user_id == owner_user_id, SenderEmail.verified.is_(True))))
    if normalized in verified:
        return ""
    if domain == site_sender_domain(settings) and \
            any(site_owned_local(v.rpartition("@")[0]) == local for v in verified):
        return ""
    return (f"{address.strip()} is not a verified sender email of the account and its domain is not allowed "
            "(verify it as a sender email, or ask the administrator to allow the domain)")


class SenderPolicyService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def require_allowed(self, owner_user_id: int, address: str) -> None:
        """SenderNotAllowed unless the account may send as `address`."""
        why = refusal(self.s, self.uow.settings, owner_user_id, address)
        if why:
            raise SenderNotAllowed(why)

    def require_campaign_from_allowed(self, owner_user_id: int, email_id: int | None) -> None:
        """SenderNotAllowed unless the From the campaign's email would be sent with is allowed."""
        email = self.s.get(Email, email_id) if email_id else None
        if email is None:
            return   # no content: the caller refuses that on its own terms
        self.require_allowed(owner_user_id, campaign_from(email, self.s.get(User, owner_user_id)))
