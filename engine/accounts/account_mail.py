"""Mail to an account holder (a password-reset code, a new password): composed From the site's sender
domain and handed to the relay (SENDMILL_SMTP_URL) off the request.

Off the request, because the caller must not learn from the answer whether a message went out: a
password reminder answers the same, as fast, for an address that has an account and one that has
not, and a relay failure must not turn into an answer that only existing accounts can produce. A
failed delivery is logged; the holder asks again."""
from __future__ import annotations

import logging
import threading
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from engine.delivery.one_off import SmtpNotConfigured, open_transport
from engine.senders.identity import site_sender_domain

log = logging.getLogger(__name__)


def compose(settings, now, recipient: str, subject: str, body: str) -> tuple[str, bytes]:
    """(envelope sender, message bytes) of a plain-text notice to `recipient`."""
    domain = site_sender_domain(settings)
    message = EmailMessage(policy=SMTP)
    message["From"] = f"Sendmill <no-reply@{domain}>"
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return f"no-reply@{domain}", message.as_bytes()


def deliver(settings, envelope_from: str, recipient: str, data: bytes) -> None:
    """Send one message now; failures are logged, never raised."""
    from engine.delivery.smtp_transaction import SENT

    try:
        transport = open_transport(settings)
    except SmtpNotConfigured as exc:
        log.error("account mail to %s not sent: %s", recipient, exc.message)
        return
    try:
        result = transport.send(envelope_from, recipient, data)
    except Exception:  # noqa: BLE001 - a background send must never take the process down
        log.exception("account mail to %s failed", recipient)
        return
    finally:
        transport.close()
    if result.status != SENT:
        log.error("account mail to %s refused by the relay: %s %s", recipient, result.code or "", result.text)


def send_later(settings, envelope_from: str, recipient: str, data: bytes) -> None:
    """Deliver on a background thread; `settings.extra["account_mail_runner"]` (a callable taking the
    job) replaces the thread, e.g. with a synchronous call in tests."""
    job = lambda: deliver(settings, envelope_from, recipient, data)  # noqa: E731
    runner = settings.extra.get("account_mail_runner")
    if runner is not None:
        runner(job)
    else:
        threading.Thread(target=job, name="account-mail", daemon=True).start()
