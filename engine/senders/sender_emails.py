"""Sender emails: addresses a user may send campaigns from, once verified with a code sent to them.

Verification: `send_verification_code` mails a 6-character code to the address through the configured
SMTP relay and keeps only its HMAC-SHA256 digest (keyed with the site secret), valid for 30 minutes.
A new code replaces the previous one. Resends are limited to one a minute and five an hour per address.
Five wrong guesses use a code up. Every operation needs an ACTIVE email-marketing account, and records
the modern events (created / updated / deleted of wix.promote.v1.sender_email) in the outbox.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from sqlalchemy import select

from engine.events import outbox
from engine.accounts.auth import Actor
from engine.errors import (
    InvalidEmailAddress, InvalidValue, InvalidVerificationCode, SenderEmailAlreadyVerified, SenderEmailExists,
    SenderEmailNotFound, VerificationEmailNotSent, VerificationRateLimited,
)
from engine.models.senders import SenderEmail
from engine.validation import as_id, normalize_email

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I: codes are typed by people
CODE_LENGTH = 6
CODE_LIFETIME = timedelta(minutes=30)
RESEND_INTERVAL = timedelta(minutes=1)
RESEND_WINDOW = timedelta(hours=1)
MAX_CODES_PER_WINDOW = 5
MAX_WRONG_GUESSES = 5
DEFAULT_PAGE, MAX_PAGE = 50, 100


@dataclass(frozen=True)
class Page:
    items: list[SenderEmail]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor continues after; InvalidValue when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        text = ""
    last_id = as_id(text[6:]) if text.startswith("after:") else None
    if last_id is None:
        raise InvalidValue("paging.cursor", "the cursor is not one this server returned")
    return last_id


class SenderEmailService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- reading -----------------------------------------------------------------------------------
    def get(self, actor: Actor, sender_email_id, *, for_update: bool = False) -> SenderEmail:
        self.uow.email_account.require_active(actor)
        return self._owned(actor, sender_email_id, for_update=for_update)

    def list(self, actor: Actor, *, email_address: str | None = None, limit: int = DEFAULT_PAGE,
             cursor: str | None = None) -> Page:
        """The user's sender emails by id, `limit` (1–100) at a time, optionally one address only."""
        self.uow.email_account.require_active(actor)
        limit = DEFAULT_PAGE if not limit else limit
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidValue("paging.limit", f"the page size must be 1 to {MAX_PAGE}")
        query = select(SenderEmail).where(SenderEmail.owner_user_id == actor.id)
        if email_address:
            query = query.where(SenderEmail.email_normalized == (normalize_email(email_address) or
                                                                  email_address.strip().lower()))
        if cursor:
            query = query.where(SenderEmail.id > decode_cursor(cursor))
        rows = list(self.s.scalars(query.order_by(SenderEmail.id).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(rows, encode_cursor(rows[-1].id) if more else None)

    def find(self, owner_user_id: int, email_address: str) -> SenderEmail | None:
        """The user's sender email with this address (any case), or None."""
        normalized = normalize_email(email_address)
        if normalized is None:
            return None
        return self.s.scalar(select(SenderEmail).where(SenderEmail.owner_user_id == owner_user_id,
                                                       SenderEmail.email_normalized == normalized))

    def default_sender(self, owner_user_id: int):
        """The user's default sender (from name, verified address, effective From / Reply-To) or None."""
        return self.uow.sender_identity.default_sender(owner_user_id)

    # --- writing -----------------------------------------------------------------------------------
    def create(self, actor: Actor, email_address: str) -> SenderEmail:
        self.uow.email_account.require_active(actor)
        normalized = self._normalized(email_address)
        if self.find(actor.id, email_address) is not None:
            raise SenderEmailExists(f"{email_address.strip()} is already a sender email")
        now = self.uow.clock()
        row = SenderEmail(owner_user_id=actor.id, email_address=email_address.strip(), email_normalized=normalized,
                          verified=False, created_at=now, updated_at=now, code_attempts=0, codes_in_window=0)
        self.s.add(row)
        self.s.flush()
        self._event(row, "created")
        return row

    def get_or_create(self, actor: Actor, email_address: str) -> tuple[SenderEmail, bool]:
        """(the sender email with this address, whether it was created now)."""
        self.uow.email_account.require_active(actor)
        self._normalized(email_address)
        existing = self.find(actor.id, email_address)
        if existing is not None:
            return existing, False
        return self.create(actor, email_address), True

    def delete(self, actor: Actor, sender_email_id) -> None:
        row = self.get(actor, sender_email_id, for_update=True)
        self._event(row, "deleted")
        self.s.delete(row)
        self.s.flush()

    # --- verification --------------------------------------------------------------------------------
    def send_verification_code(self, actor: Actor, sender_email_id) -> None:
        """Mail a new code to the address (replacing any earlier one)."""
        row = self.get(actor, sender_email_id, for_update=True)
        if row.verified:
            raise SenderEmailAlreadyVerified(f"{row.email_address} is already verified")
        now = self.uow.clock()
        if row.code_sent_at is not None and now < row.code_sent_at + RESEND_INTERVAL:
            raise VerificationRateLimited(_seconds(row.code_sent_at + RESEND_INTERVAL - now))
        if row.codes_window_start is None or now >= row.codes_window_start + RESEND_WINDOW:
            row.codes_window_start, row.codes_in_window = now, 0
        if row.codes_in_window >= MAX_CODES_PER_WINDOW:
            raise VerificationRateLimited(_seconds(row.codes_window_start + RESEND_WINDOW - now))
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        row.code_digest = self._digest(row.id, code)
        row.code_expires_at = now + CODE_LIFETIME
        row.code_attempts = 0
        row.code_sent_at = now
        row.codes_in_window += 1
        self.s.flush()
        # Sent last: every refusal above happens before anything leaves the building. Should the
        # commit fail after the relay accepted the mail, the user simply asks for another code.
        self._mail_code(row, code)

    def verify(self, actor: Actor, sender_email_id, code: str) -> SenderEmail:
        row = self.get(actor, sender_email_id, for_update=True)
        if row.verified:
            raise SenderEmailAlreadyVerified(f"{row.email_address} is already verified")
        now = self.uow.clock()
        if row.code_digest is None or row.code_expires_at is None or now >= row.code_expires_at:
            raise InvalidVerificationCode("the verification code has expired or none was sent; send a new one")
        if not hmac.compare_digest(row.code_digest, self._digest(row.id, (code or "").strip().upper())):
            row.code_attempts += 1
            if row.code_attempts >= MAX_WRONG_GUESSES:
                row.code_digest, row.code_expires_at = None, None
            # The guess must count even though the request fails: commit it before raising, so the
            # rollback of the failed command cannot reset the limit (nothing else was written).
            self.uow.commit()
            raise InvalidVerificationCode("the verification code is wrong" + (
                "; it is used up, send a new one" if row.code_digest is None else ""))
        row.verified, row.verified_at, row.updated_at = True, now, now
        row.code_digest, row.code_expires_at, row.code_attempts = None, None, 0
        self.s.flush()
        self._event(row, "updated")
        return row

    # --- internals -----------------------------------------------------------------------------------
    def _owned(self, actor: Actor, sender_email_id, *, for_update: bool = False) -> SenderEmail:
        row_id = as_id(sender_email_id)
        if row_id is None:
            raise SenderEmailNotFound()
        query = select(SenderEmail).where(SenderEmail.id == row_id, SenderEmail.owner_user_id == actor.id)
        row = self.s.scalar(query.with_for_update() if for_update else query)
        if row is None:
            raise SenderEmailNotFound()
        return row

    @staticmethod
    def _normalized(email_address: str) -> str:
        address = (email_address or "").strip()
        normalized = normalize_email(address)
        if normalized is None or not 6 <= len(address) <= 254:
            raise InvalidEmailAddress(f"'{address}' is not a valid email address")
        return normalized

    def _digest(self, row_id: int, code: str) -> str:
        key = self.uow.settings.secret_key.encode("utf-8")
        return hmac.new(key, f"sender-email:{row_id}:{code}".encode("utf-8"), hashlib.sha256).hexdigest()

    def _event(self, row: SenderEmail, slug: str) -> None:
        """The modern event: body = the content of its createdEvent / updatedEvent / deletedEvent field."""
        body = {"created": {"entity": entity(row)}, "updated": {"currentEntity": entity(row)}, "deleted": {}}[slug]
        self.uow.outbox.record(owner_user_id=row.owner_user_id, entity_fqdn=outbox.SENDER_EMAIL, slug=slug,
                               entity_id=row.id, body=body)

    def _mail_code(self, row: SenderEmail, code: str) -> None:
        from engine.delivery.runner import smtp_transport
        from engine.delivery.relays import RelayConfigError
        from engine.delivery.smtp_transaction import SENT

        domain = self.uow.sender_identity.sender_domain()
        message = EmailMessage(policy=SMTP)
        message["From"] = f"Sendmill <no-reply@{domain}>"
        message["To"] = row.email_address
        message["Subject"] = "Your sender verification code"
        message["Date"] = format_datetime(self.uow.clock())
        message["Message-ID"] = make_msgid(domain=domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(
            f"Your verification code is {code}\n\n"
            f"Enter it to confirm that you own {row.email_address} and may send campaigns from it.\n"
            f"It expires in {int(CODE_LIFETIME.total_seconds() // 60)} minutes. If you did not ask for it, "
            "ignore this message.\n")
        try:
            transport = smtp_transport(self.uow.settings)
        except RelayConfigError as exc:
            raise VerificationEmailNotSent(f"no SMTP relay is configured ({exc})") from None
        try:
            result = transport.send(f"no-reply@{domain}", row.email_address, message.as_bytes())
        finally:
            transport.close()
        if result.status != SENT:
            raise VerificationEmailNotSent(f"the relay did not accept the message: {result.code or ''} "
                                           f"{result.text}".strip())


def iso(moment) -> str | None:
    """The modern API's timestamp: UTC, milliseconds, `Z`."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def entity(row: SenderEmail) -> dict:
    """A sender email as the modern API's SenderEmail object (also the events' entity)."""
    return {"id": str(row.id), "createdDate": iso(row.created_at), "updatedDate": iso(row.updated_at),
            "emailAddress": row.email_address, "verified": bool(row.verified)}


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))
