"""Double opt-in confirmation emails: the job that sends them, and the links that confirm or reject.

Subscribing to a Double opt-in list leaves the subscriber "Opt-In Pending" with
`confirmation_due_at` set (engine/audience/subscribers.py). `send_due_confirmations()`, run by `sendmill tick`
and `sendmill worker`, mails the list's confirmation email (`opt_in_confirmation_email_id`, or a
built-in text) with signed `%Link:Confirm%` / `%Link:Reject%` links (engine/tracking/tokens.py, kinds
CONFIRM and REJECT, instance 0, the subscriber's public_nonce) and clears the column. The links lead
to /t/confirm/… and /t/reject/… (protocol/tracking.py): a GET shows a page with a button, only the
POST changes the subscription, so a mail scanner that follows links confirms nobody.

Claiming. Due rows are read in due order (FOR UPDATE SKIP LOCKED on PostgreSQL and MariaDB) and each
is taken by a compare-and-set, `UPDATE … SET confirmation_due_at = <lease> WHERE id = ? AND
confirmation_due_at = <the value read>`, committed before the relay is contacted: of two processes
only one sees rowcount 1, so two processes never send the same confirmation. After the relay answered:
* accepted, or lost after the message was transmitted (may have arrived) → cleared, never resent;
* refused (5xx), or no longer mailable (suppressed, hard-bounced) → cleared, counted as failed/skipped;
* temporary (4xx, relay down) → due again after RETRY_DELAY, for GIVE_UP_AFTER after the subscription;
  so is a confirmation of a list whose owner's email-marketing account is not ACTIVE (nothing is sent);
* a From the owner may not use (engine/senders/policy.py) → cleared, counted as failed, never sent.
Each clear is itself a compare-and-set on the lease, so a person who filled in the form again meanwhile
(which makes the email due again) gets the new email. A process that dies between the claim and the
relay's answer leaves the lease; when it expires the email is sent again. A confirmation is mail the
person asked for a moment ago: one duplicate after a crash is better than a subscription that can
never be confirmed (the opposite of the campaign rule, where a duplicate is worse than a miss).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from engine.delivery.compose import LINK_NONCE, Content, Sending, Skeleton, build_skeleton
from engine.delivery.personalize import NOW
from engine.errors import AlreadyUnsubscribed, SubscriberNotFound
from engine.models import Email, Subscriber, SubscriberList, User
from engine.senders.policy import refusal
from engine.delivery.one_off import local_now, open_transport, owner_constants
from engine.tracking.tokens import NO_NONCE

log = logging.getLogger("sendmill.confirmations")

LEASE = timedelta(minutes=15)
RETRY_DELAY = timedelta(minutes=5)
GIVE_UP_AFTER = timedelta(days=3)
CONFIRM_LINK, REJECT_LINK = "%Link:Confirm%", "%Link:Reject%"

DEFAULT_SUBJECT = "Please confirm your subscription to %List:Name%"
DEFAULT_TEXT = (
    "Hello,\n\nplease confirm that you want to receive emails from %List:Name% by opening this link:\n\n"
    f"{CONFIRM_LINK}\n\nIf you did not ask for this, ignore this email, or open this link and you will not "
    f"hear from us again:\n\n{REJECT_LINK}\n")
DEFAULT_HTML = (
    "<html><body><p>Hello,</p><p>please confirm that you want to receive emails from %List:Name%.</p>"
    f'<p><a href="{CONFIRM_LINK}">Yes, subscribe me</a></p>'
    f'<p>If you did not ask for this, ignore this email, or <a href="{REJECT_LINK}">tell us</a> and you '
    "will not hear from us again.</p></body></html>")


@dataclass
class ConfirmationSummary:
    sent: int = 0
    failed: int = 0      # the relay refused, or the content cannot be built
    retried: int = 0     # a temporary failure: due again later
    skipped: int = 0     # the address may not be mailed (suppressed, hard-bounced)

    def line(self) -> str:
        return f"{self.sent} sent, {self.failed} failed, {self.retried} to retry, {self.skipped} skipped"


def send_due_confirmations(engine, transport=None, *, batch_size: int = 100,
                           budget_seconds: float = 30.0) -> ConfirmationSummary:
    """Send the confirmation emails that are due (SmtpNotConfigured without SENDMILL_SMTP_URL)."""
    own = transport is None
    transport = transport or open_transport(engine.settings)
    try:
        return _Sender(engine, transport).run(batch_size, time.monotonic() + budget_seconds)
    finally:
        if own:
            transport.close()


def confirmation_content(session, list_row: SubscriberList, owner: User) -> Content:
    """The list's confirmation email, or the built-in one; it always carries a confirmation link."""
    email = session.get(Email, list_row.opt_in_confirmation_email_id) if list_row.opt_in_confirmation_email_id \
        else None
    if email is not None and (email.owner_user_id != list_row.owner_user_id
                              or not (email.html_content.strip() or email.plain_content.strip())):
        email = None
    subject, html, text = ((email.subject, email.html_content, email.plain_content) if email
                           else (DEFAULT_SUBJECT, DEFAULT_HTML, DEFAULT_TEXT))
    # Email.Update enforces the link only for ValidateScope=OptIn; an email saved under another
    # scope would otherwise ask for a confirmation nobody can give.
    if html.strip() and CONFIRM_LINK.lower() not in html.lower():
        html += f'<p><a href="{CONFIRM_LINK}">Confirm your subscription</a></p>'
    if text.strip() and CONFIRM_LINK.lower() not in text.lower():
        text += f"\n\nConfirm your subscription: {CONFIRM_LINK}\n"
    from_email = (email.from_email if email else "") or list_row.sender_email_address or owner.email_address
    from_name = (email.from_name if email else "") or list_row.sender_name or owner.company_name
    return Content(subject=subject or DEFAULT_SUBJECT, from_email=from_email, from_name=from_name,
                   reply_to_email=email.reply_to_email if email else "",
                   reply_to_name=email.reply_to_name if email else "", html=html, text=text,
                   pre_header=email.pre_header_text if email else "", open_tracking=False, link_tracking=False)


def list_constants(list_row: SubscriberList) -> dict:
    return {"List:ListID": list_row.id, "List:Name": list_row.name, "List:SenderName": list_row.sender_name,
            "List:SenderEmailAddress": list_row.sender_email_address,
            "List:SenderCompany": list_row.sender_company, "List:SenderAddress": list_row.sender_address}


class _Sender:
    def __init__(self, engine, transport):
        self.engine = engine
        self.transport = transport
        self.clock = engine.clock
        self.settings = engine.settings
        self._skeletons: dict[int, tuple[Skeleton | None, str]] = {}   # list id -> (skeleton, why not)

    def run(self, batch_size: int, deadline: float) -> ConfirmationSummary:
        summary = ConfirmationSummary()
        with self.engine.uow() as uow:
            while time.monotonic() < deadline:
                claimed = self._claim(uow.session, batch_size)
                if not claimed:
                    break
                for subscriber_id, lease in claimed:
                    self._send_one(uow, subscriber_id, lease, summary)
        return summary

    def _claim(self, s, batch_size: int) -> list[tuple[int, object]]:
        now = self.clock()
        due = (select(Subscriber.id, Subscriber.confirmation_due_at)
               .where(Subscriber.confirmation_due_at <= now, Subscriber.subscription_status == "Opt-In Pending")
               .order_by(Subscriber.confirmation_due_at, Subscriber.id).limit(batch_size))
        if s.get_bind().dialect.name != "sqlite":
            due = due.with_for_update(skip_locked=True)
        lease = now + LEASE
        mine = []
        for subscriber_id, seen in s.execute(due).all():
            taken = s.execute(update(Subscriber).where(Subscriber.id == subscriber_id,
                                                       Subscriber.confirmation_due_at == seen)
                              .values(confirmation_due_at=lease).execution_options(synchronize_session=False))
            if taken.rowcount == 1:
                mine.append((subscriber_id, lease))
        s.commit()
        return mine

    def _settle(self, s, subscriber_id: int, lease, due_at=None) -> None:
        """Clear (or re-arm) the row, unless a new subscription made it due again meanwhile."""
        s.execute(update(Subscriber).where(Subscriber.id == subscriber_id, Subscriber.confirmation_due_at == lease)
                  .values(confirmation_due_at=due_at).execution_options(synchronize_session=False))
        s.commit()

    def _send_one(self, uow, subscriber_id: int, lease, summary: ConfirmationSummary) -> None:
        s = uow.session
        subscriber = s.get(Subscriber, subscriber_id, populate_existing=True)
        if subscriber is None or subscriber.confirmation_due_at != lease:
            s.commit()
            return   # deleted, confirmed or renewed since the claim
        list_row = s.get(SubscriberList, subscriber.list_id)
        if subscriber.bounce_type == "Hard" or uow.suppression.is_suppressed(
                list_row.owner_user_id, subscriber.email_normalized, list_row.id):
            self._settle(s, subscriber_id, lease)
            summary.skipped += 1
            return
        if uow.email_account.details(list_row.owner_user_id).status != "ACTIVE":
            # No mail for an account that is not ACTIVE: held like a temporary failure, given up alike.
            given_up = self.clock() - subscriber.subscription_date > GIVE_UP_AFTER
            self._settle(s, subscriber_id, lease, None if given_up else self.clock() + RETRY_DELAY)
            summary.skipped += given_up
            summary.retried += not given_up
            return
        owner = s.get(User, list_row.owner_user_id)
        skeleton, problem = self._skeleton(s, list_row, owner, uow)
        message = None
        if skeleton is not None:
            ctx = {**uow.events.context(subscriber), NOW: local_now(owner, self.clock()),
                   LINK_NONCE: subscriber.public_nonce}
            try:
                message = skeleton.render(ctx, self.clock())
            except ValueError as exc:
                problem = str(exc)
        if message is None:
            log.warning("confirmation for subscriber %d not sent: %s", subscriber_id, problem)
            self._settle(s, subscriber_id, lease)
            summary.failed += 1
            return
        s.commit()   # no transaction stays open while the relay talks
        result = self.transport.send(message.envelope_from, message.recipient, message.data)
        if result.status == "sent" or result.maybe_sent:
            self._settle(s, subscriber_id, lease)
            summary.sent += 1
        elif result.status == "permanent" or self.clock() - subscriber.subscription_date > GIVE_UP_AFTER:
            log.warning("confirmation for subscriber %d refused: %s %s", subscriber_id, result.code, result.text)
            self._settle(s, subscriber_id, lease)
            summary.failed += 1
        else:
            self._settle(s, subscriber_id, lease, self.clock() + RETRY_DELAY)
            summary.retried += 1

    def _skeleton(self, s, list_row: SubscriberList, owner: User, uow) -> tuple[Skeleton | None, str]:
        cached = self._skeletons.get(list_row.id)
        if cached is None:
            sending = Sending(signer=self.settings.signer(), base_url=self.settings.base_url,
                              bounce_domain=self.settings.return_path_domain, campaign_id=0, instance_id=0,
                              link_nonce=NO_NONCE,   # each subscriber's own (LINK_NONCE)
                              constants={**owner_constants(owner), **list_constants(list_row)},
                              aliases=uow.events.aliases(owner.id))
            content = confirmation_content(s, list_row, owner)
            try:
                not_allowed = refusal(s, self.settings, owner.id, content.from_email)
                cached = (None, not_allowed) if not_allowed else (build_skeleton(content, sending), "")
            except ValueError as exc:
                cached = (None, f"the confirmation email of list {list_row.id} cannot be built: {exc}")
            self._skeletons[list_row.id] = cached
        return cached


class ConfirmationService:
    """What the confirmation links do (the public pages in protocol/tracking.py)."""

    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def subscriber(self, subscriber_id: int, nonce: str | None) -> tuple[Subscriber, SubscriberList]:
        """The subscriber a link names and its list; SubscriberNotFound when deleted, or when the link
        was not made for this subscriber (its `nonce`, engine/models/link_targets.py)."""
        subscriber = self.s.get(Subscriber, subscriber_id) if subscriber_id else None
        list_row = self.s.get(SubscriberList, subscriber.list_id) if subscriber else None
        if list_row is None or not subscriber.made_for(nonce):
            raise SubscriberNotFound()
        return subscriber, list_row

    def confirm(self, subscriber_id: int, nonce: str | None) -> tuple[Subscriber, str]:
        """Subscribe the person (with the list's opt-in behaviours); the list's confirmed-page URL.

        InvalidConfirmationCode when the subscription is no longer pending (unsubscribed meanwhile).
        """
        subscriber, list_row = self.subscriber(subscriber_id, nonce)
        code = self.uow.subscribers.confirmation_code(subscriber)
        return self.uow.subscribers.opt_in(None, list_row.id, subscriber.id, code)

    def unsubscribe(self, subscriber_id: int, nonce: str | None, ip: str) -> tuple[Subscriber, str]:
        """The unsubscribe link of a confirmation email: out of the list, confirmed or not."""
        subscriber, list_row = self.subscriber(subscriber_id, nonce)
        try:
            return self.uow.subscribers.unsubscribe(list_row.id, ip=ip, subscriber_id=subscriber.id,
                                                    channel="Unsubscription link")
        except AlreadyUnsubscribed:
            return subscriber, list_row.unsubscription_confirmed_page_url

    def reject(self, subscriber_id: int, nonce: str | None) -> tuple[Subscriber, str]:
        """Turn the pending subscription down; the list's unsubscription-confirmed page URL."""
        subscriber, list_row = self.subscriber(subscriber_id, nonce)
        code = self.uow.subscribers.confirmation_code(subscriber)
        return self.uow.subscribers.opt_in(None, list_row.id, subscriber.id, code, reject=True)
