"""Test sends: one email (or a campaign's email) rendered by the delivery pipeline and mailed to one address.

`Email.EmailPreview` and the modern "Send Test" endpoint both land here. A test message is built
exactly like a campaign message (compose.build_skeleton + personalize), with these differences:

* the subject starts with "[Test] ";
* no tracking: links go straight to their targets, no open pixel, nothing is counted, no ledger
  row; tokens carry instance 0, so the unsubscribe link of a test message changes nobody;
* the tags are filled from a real subscriber (`SubscriberID`) or from a preview subscriber whose
  only value is the recipient's address, so every other tag shows its fallback (or nothing);
  `%Subscriber:EmailAddress%` is always the test recipient and `%Subscriber:SubscriberID%` is 0,
  because the links' tokens must name nobody (clicking them in a test changes no subscriber);
* addresses on the account's suppression list are refused (a stolen key must not mail them);
* the account must be ACTIVE, and the From allowed by the From policy (engine/senders/policy.py);
  raw content without a From goes out from the site's own `preview@<sender domain>`;
* rate limit per account: `SENDMILL_TEST_SEND_LIMIT` messages (30) per
  `SENDMILL_TEST_SEND_WINDOW_SECONDS` (3600), counted in the `test_sends` table so the limit holds
  across processes and hosts. The account row is locked while counting, so two requests at once
  cannot both take the last slot. A message the relay refused is not counted.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import delete, func, select

from engine.accounts.auth import Actor
from engine.audience.confirmations import confirmation_content
from engine.delivery.compose import Content, Sending, build_skeleton
from engine.delivery.one_off import SmtpNotConfigured, local_now, open_transport, owner_constants
from engine.delivery.personalize import EMAIL_ADDRESS, NOW, SUBSCRIBER_ID
from engine.errors import (
    CampaignNotFound, DomainError, EmailNotFound, ListNotFound, SubscriberNotFound,
)
from engine.models import Campaign, Email, Subscriber, SubscriberList, Suppression, TestSend, User
from engine.ownership import get_owned
from engine.senders.identity import site_sender_domain
from engine.tracking.tokens import NO_NONCE
from engine.validation import normalize_email

SUBJECT_PREFIX = "[Test] "
DEFAULT_LIMIT, DEFAULT_WINDOW = 30, 3600   # protocol.md §7.4: EMAIL_PREVIEW_RATE_LIMIT per hour
# v5.6.x's default name; its address (preview@preview.com) is a domain nobody here owns, so the local
# part goes with the site's own sender domain.
PREVIEW_FROM_NAME, PREVIEW_FROM_LOCAL = "Preview Email", "preview"


class PreviewContentRequired(DomainError):
    """Email ID is required (or HTMLContent / PlainTextContent)."""


class PreviewRecipientRequired(DomainError):
    """Email address is required."""


class PreviewRecipientInvalid(DomainError):
    """Invalid email address format."""


class PreviewRecipientSuppressed(DomainError):
    """The recipient address is on the account's suppression list."""


class PreviewContentMissing(DomainError):
    """The email has no content: neither HTML nor plain text."""


class PreviewDeliveryFailed(DomainError):
    """The SMTP relay did not accept the test message."""


class PreviewRateLimited(DomainError):
    """Too many test messages; try again later."""

    def __init__(self, retry_after: int, limit: int, window: int):
        super().__init__(f"at most {limit} test messages per {window} seconds; retry in {retry_after} seconds")
        self.retry_after = retry_after
        self.extra = {"RetryAfter": retry_after}   # Email.EmailPreview code 20 carries it (v5.9.4)


@dataclass(frozen=True)
class Overrides:
    """What a preview may say instead of the stored email (or in place of one)."""

    subject: str | None = None
    html: str | None = None
    plain: str | None = None
    from_name: str | None = None
    from_email: str | None = None
    reply_to_name: str | None = None
    reply_to_email: str | None = None
    pre_header: str | None = None


def limits(settings) -> tuple[int, int]:
    """(messages, seconds) of the test-send rate limit."""
    return settings.test_send_limit, settings.test_send_window_seconds


class SendTestService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- entry points ------------------------------------------------------------------------
    def send_campaign_test(self, actor: Actor, campaign_id: int, to_address: str,
                           subject: str | None = None) -> TestSend:
        """Mail the campaign's email to `to_address` as a test (modern Send Test)."""
        campaign = get_owned(self.s, Campaign, campaign_id, actor, CampaignNotFound)
        if not campaign.email_id:
            raise PreviewContentMissing("the campaign has no email content yet")
        if not (to_address or "").strip():   # here the address is the only possible recipient
            raise PreviewRecipientInvalid("an email address is required")
        try:
            return self.send_email_preview(actor, campaign.email_id, to_address, campaign_id=campaign.id,
                                           overrides=Overrides(subject=subject))
        except EmailNotFound:   # the campaign points at content that is not the owner's (never written so)
            raise PreviewContentMissing("the campaign's email content is gone") from None

    def send_email_preview(self, actor: Actor, email_id: int | None, to_address: str | None, *,
                           campaign_id: int | None = None, list_id: int | None = None,
                           subscriber_id: int | None = None, opt_in: bool = False,
                           overrides: Overrides = Overrides()) -> TestSend:
        """Mail an email (or raw content) to one address as a test; the record of the send."""
        # Locked first: the account's test sends queue here, so the count below cannot race.
        # (The id alone: User joins its group eagerly, and FOR UPDATE cannot lock an outer join.)
        if self.s.scalar(select(User.id).where(User.id == actor.id).with_for_update()) is None:
            raise EmailNotFound()
        self.uow.email_account.require_active(actor)   # no mail at all for an account that is not ACTIVE
        owner = self.s.get(User, actor.id)
        email = self.uow.emails.get(actor, email_id) if email_id else None
        campaign = get_owned(self.s, Campaign, campaign_id, actor, CampaignNotFound) if campaign_id else None
        list_row = get_owned(self.s, SubscriberList, list_id, actor, ListNotFound) if list_id else None
        raw = bool((overrides.html or "").strip() or (overrides.plain or "").strip())
        # EmailType=optinconfirmation with a ListID and nothing else: the list's own confirmation email.
        list_confirmation = opt_in and email is None and not raw and list_row is not None
        if email is None and not raw and not list_confirmation:
            raise PreviewContentRequired()
        subscriber = self._subscriber(actor, subscriber_id, list_row) if subscriber_id else None
        recipient = (to_address or "").strip() or (subscriber.email_address if subscriber else "")
        if not recipient:
            raise PreviewRecipientRequired()
        normalized = normalize_email(recipient)
        if normalized is None:
            raise PreviewRecipientInvalid(f"{recipient!r} is not a valid email address")
        if self.s.scalar(select(Suppression.id).where(
                Suppression.owner_user_id == owner.id, Suppression.list_id.is_(None),
                Suppression.email_normalized == normalized).limit(1)) is not None:
            raise PreviewRecipientSuppressed()
        if list_confirmation:
            stored = confirmation_content(self.s, list_row, owner)
            content = replace(stored, subject=SUBJECT_PREFIX + (overrides.subject or stored.subject).strip())
        else:
            content = self._content(owner, email, list_row, overrides, self._preview_from())
        if content.from_email.lower() != self._preview_from():
            self.uow.sender_policy.require_allowed(owner.id, content.from_email)
        if not self.uow.settings.smtp_url:
            raise SmtpNotConfigured()
        record = self._reserve(owner, email, campaign, recipient)
        skeleton = self._skeleton(owner, content, campaign, list_row)
        try:
            message = skeleton.render(self._context(owner, subscriber, recipient), self.uow.clock())
        except ValueError as exc:   # an address normalize_email accepts but a header cannot carry
            raise PreviewRecipientInvalid(str(exc)) from None
        self._deliver(message)
        return record

    # --- parts -------------------------------------------------------------------------------
    def _subscriber(self, actor: Actor, subscriber_id: int, list_row: SubscriberList | None) -> Subscriber:
        query = (select(Subscriber).join(SubscriberList, SubscriberList.id == Subscriber.list_id)
                 .where(Subscriber.id == subscriber_id, SubscriberList.owner_user_id == actor.id))
        if list_row is not None:
            query = query.where(Subscriber.list_id == list_row.id)
        subscriber = self.s.scalar(query)
        if subscriber is None:
            raise SubscriberNotFound()
        return subscriber

    def _preview_from(self) -> str:
        return f"{PREVIEW_FROM_LOCAL}@{site_sender_domain(self.uow.settings)}"

    @staticmethod
    def _content(owner: User, email: Email | None, list_row: SubscriberList | None, o: Overrides,
                 preview_from: str) -> Content:
        pick = lambda override, stored: stored if override is None else override  # noqa: E731
        html = pick(o.html, email.html_content if email else "")
        plain = pick(o.plain, email.plain_content if email else "")
        if not (html.strip() or plain.strip()):
            raise PreviewContentMissing()
        if email is not None:
            from_email = email.from_email or (list_row.sender_email_address if list_row else "") \
                or owner.email_address
            from_name = email.from_name or (list_row.sender_name if list_row else "")
        else:   # raw content: the documented preview sender
            from_email, from_name = preview_from, PREVIEW_FROM_NAME
        subject = pick(o.subject, email.subject if email else "") or ""
        return Content(
            subject=SUBJECT_PREFIX + (subject.strip() or "(no subject)"),
            from_email=pick(o.from_email, from_email) or from_email, from_name=pick(o.from_name, from_name),
            reply_to_email=pick(o.reply_to_email, email.reply_to_email if email else ""),
            reply_to_name=pick(o.reply_to_name, email.reply_to_name if email else ""),
            html=html, text=plain, pre_header=pick(o.pre_header, email.pre_header_text if email else ""),
            open_tracking=False, link_tracking=False)

    def _reserve(self, owner: User, email: Email | None, campaign: Campaign | None, recipient: str) -> TestSend:
        """Count the account's recent test sends; PreviewRateLimited when the limit is reached."""
        limit, window = limits(self.uow.settings)
        now = self.uow.clock()
        since = now - timedelta(seconds=window)
        self.s.execute(delete(TestSend).where(TestSend.owner_user_id == owner.id, TestSend.sent_at <= since)
                       .execution_options(synchronize_session=False))
        recent = select(TestSend.sent_at).where(TestSend.owner_user_id == owner.id, TestSend.sent_at > since)
        count = self.s.scalar(select(func.count()).select_from(recent.subquery()))
        if count >= limit:
            # The slot frees when the oldest send that still counts leaves the window.
            oldest = self.s.scalar(recent.order_by(TestSend.sent_at).offset(count - limit).limit(1))
            wait = (oldest + timedelta(seconds=window) - now).total_seconds()
            raise PreviewRateLimited(max(1, int(wait + 0.999)), limit, window)
        record = TestSend(owner_user_id=owner.id, email_id=email.id if email else None,
                          campaign_id=campaign.id if campaign else None, recipient=recipient[:255], sent_at=now)
        self.s.add(record)
        self.s.flush()
        return record

    def _skeleton(self, owner: User, content: Content, campaign: Campaign | None,
                  list_row: SubscriberList | None):
        constants = owner_constants(owner)
        if campaign is not None:
            constants["Campaign:Name"] = campaign.name
        if list_row is not None:
            constants.update({"List:ListID": list_row.id, "List:Name": list_row.name,
                              "List:SenderName": list_row.sender_name,
                              "List:SenderEmailAddress": list_row.sender_email_address,
                              "List:SenderCompany": list_row.sender_company,
                              "List:SenderAddress": list_row.sender_address})
        settings = self.uow.settings
        sending = Sending(signer=settings.signer(), base_url=settings.base_url,
                          bounce_domain=settings.return_path_domain, campaign_id=campaign.id if campaign else 0,
                          instance_id=0, link_nonce=NO_NONCE, constants=constants,
                          aliases=self.uow.events.aliases(owner.id))
        try:
            return build_skeleton(content, sending)
        except ValueError as exc:   # an unusable From or Reply-To address
            raise PreviewDeliveryFailed(f"the message cannot be built: {exc}") from None

    def _context(self, owner: User, subscriber: Subscriber | None, recipient: str) -> dict:
        ctx = self.uow.events.context(subscriber) if subscriber is not None else {}
        # Tokens (unsubscribe, confirm, reject links) name subscriber 0, nobody: a tester who
        # clicks them must not unsubscribe or confirm the subscriber the message imitates.
        ctx[SUBSCRIBER_ID] = 0
        ctx[EMAIL_ADDRESS] = recipient
        ctx[NOW] = local_now(owner, self.uow.clock())
        return ctx

    def _deliver(self, message) -> None:
        transport = open_transport(self.uow.settings)
        try:
            result = transport.send(message.envelope_from, message.recipient, message.data)
        finally:
            transport.close()
        if result.status != "sent":
            reply = f"{result.code or ''} {result.text}".strip()
            raise PreviewDeliveryFailed(f"the relay answered: {reply}" if reply else "no relay could be reached")
