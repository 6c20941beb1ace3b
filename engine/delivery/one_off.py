"""One message outside a campaign's ledger (a test send, an opt-in confirmation): the sending account's
personalisation constants and clock, and a relay pool opened for it.

Shared by engine/campaigns/test_sends.py and engine/audience/confirmations.py, so neither has to
import the other."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from engine.errors import DomainError
from engine.models import User


class SmtpNotConfigured(DomainError):
    """No SMTP relay is configured (SENDMILL_SMTP_URL), so the message cannot be sent."""


def owner_constants(owner: User) -> dict:
    """The `User:…` tags of the sending account."""
    return {"User:UserID": owner.id, "User:FirstName": owner.first_name, "User:LastName": owner.last_name,
            "User:EmailAddress": owner.email_address, "User:CompanyName": owner.company_name,
            "User:TimeZone": owner.time_zone}


def local_now(owner: User, now: datetime) -> datetime:
    """`now` in the account's time zone (for %Date=…% tags); UTC when the zone is unknown."""
    try:
        return now.astimezone(ZoneInfo(owner.time_zone or "UTC"))
    except (ValueError, KeyError, OSError):   # ZoneInfoNotFoundError is a KeyError
        return now.astimezone(timezone.utc)


def open_transport(settings):
    """The SMTP pool of SENDMILL_SMTP_URL; SmtpNotConfigured when it is missing or unusable."""
    from engine.delivery.relays import RelayConfigError, parse_relays
    from engine.delivery.transport import SmtpPool

    if not settings.smtp_url:
        raise SmtpNotConfigured()
    try:
        return SmtpPool(parse_relays(settings.smtp_url))
    except RelayConfigError as exc:
        raise SmtpNotConfigured(f"SENDMILL_SMTP_URL cannot be used: {exc}") from None
