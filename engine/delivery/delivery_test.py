"""Email.Delivery.Test: one message through the configured relay (SENDMILL_SMTP_URL) to the administrator
who asks, now, so the answer says whether the relay accepted it. Nothing is recorded: no ledger, no
activity, no counters."""
from __future__ import annotations

from engine.accounts.account_mail import compose
from engine.accounts.auth import Actor
from engine.delivery.one_off import open_transport
from engine.delivery.smtp_transaction import SENT
from engine.errors import DomainError
from engine.models import Admin
from engine.validation import normalize_email

SUBJECT = "Sendmill email delivery test"
BODY = ("This message was sent by Email.Delivery.Test to check the email delivery settings of this Sendmill\n"
        "installation. The relay accepted it; nothing else needs to be done.\n")


class DeliveryTestFailed(DomainError):
    """Email delivery test failed."""


def send_delivery_test(uow, actor: Actor) -> str:
    """Mail the test message to the calling administrator's address; the address it went to.
    DeliveryTestFailed (with the reason) when there is nowhere to send it or the relay refuses it."""
    admin = uow.session.get(Admin, actor.id) if actor.is_admin else None
    recipient = (admin.email_address or "").strip() if admin is not None else ""
    if not recipient or normalize_email(recipient) is None:
        raise DeliveryTestFailed("the administrator account has no valid email address to send the test to; "
                                 "set one with Admin.Update")
    if not uow.settings.smtp_url:
        raise DeliveryTestFailed("no SMTP relay is configured (SENDMILL_SMTP_URL)")
    envelope_from, data = compose(uow.settings, uow.clock(), recipient, SUBJECT, BODY)
    try:
        transport = open_transport(uow.settings)
    except DomainError as exc:
        raise DeliveryTestFailed(exc.message) from None
    try:
        result = transport.send(envelope_from, recipient, data)
    finally:
        transport.close()
    if result.status != SENT:
        reply = f"{result.code or ''} {result.text}".strip()
        raise DeliveryTestFailed(f"the relay answered: {reply}" if reply else "no relay could be reached")
    return recipient
