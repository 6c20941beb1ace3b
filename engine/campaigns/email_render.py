"""Email.Render and Email.Smtp.Render: an email as one subscriber sees it, without sending anything.

Email.Render is the web version (subject and HTML), personalised for the subscriber; with a ledger row
(QueueRowID) and not a preview, its links are the ones that subscriber's message carried, signed for that
send, so following them counts as the message's own links do. Otherwise the links name no send (instance
0): they lead to their targets and count nothing.

Email.Smtp.Render is the message the delivery pipeline would hand to the relay for that subscriber (headers,
MIME body, size), built by the same skeleton the runner uses, with links that name no send. No ledger row,
no test-send record, no activity: only reading.
"""
from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from engine.accounts.auth import Actor
from engine.delivery.compose import Content, Sending, build_skeleton
from engine.delivery.one_off import local_now, owner_constants
from engine.delivery.personalize import EMAIL_ADDRESS, NOW, SUBSCRIBER_ID, TEXT, compile_template
from engine.errors import DomainError
from engine.models import (
    AutoResponder, Campaign, CampaignRecipient, Delivery, Email, SendInstance, Subscriber, SubscriberList, User,
)
from engine.tracking.tokens import NO_NONCE


class RenderTargetInvalid(DomainError):
    """Base: a named object does not exist or is not the account's."""


class RenderUserInvalid(RenderTargetInvalid):
    """Invalid UserID parameter."""


class RenderListInvalid(RenderTargetInvalid):
    """Invalid ListID parameter."""


class RenderSubscriberInvalid(RenderTargetInvalid):
    """Invalid SubscriberID parameter."""


class RenderCampaignInvalid(RenderTargetInvalid):
    """Invalid CampaignID parameter."""


class RenderAutoResponderInvalid(RenderTargetInvalid):
    """Invalid AutoResponderID parameter."""


class RenderEmailInvalid(RenderTargetInvalid):
    """Invalid EmailID parameter."""


class RenderQueueRowInvalid(RenderTargetInvalid):
    """Invalid QueueRowID parameter."""


@dataclass(frozen=True)
class BrowserView:
    subject: str
    html: str


@dataclass(frozen=True)
class SmtpView:
    content: Content
    subject: str
    html: str
    plain: str
    headers: str
    body: str
    size: int
    bounce_domain: str
    tracking_domain: str


class EmailRenderer:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- Email.Render ------------------------------------------------------------------------------
    def browser(self, actor: Actor, *, user_id: int, list_id: int, subscriber_id: int, campaign_id: int,
                autoresponder_id: int, email_id: int, queue_row_id: int, preview: bool,
                personalize: bool) -> BrowserView:
        owner = self._owner(actor, user_id)
        list_row = self._owned(SubscriberList, list_id, owner, RenderListInvalid)
        subscriber = self._subscriber(list_row, subscriber_id)
        campaign = self._owned(Campaign, campaign_id, owner, RenderCampaignInvalid) if campaign_id else None
        if autoresponder_id:
            self._owned(AutoResponder, autoresponder_id, owner, RenderAutoResponderInvalid)
        mail = self._owned(Email, email_id, owner, RenderEmailInvalid)
        instance_id, nonce = self._send_of(campaign, subscriber, queue_row_id) if not preview else (0, NO_NONCE)
        if not personalize:
            return BrowserView(mail.subject or "", mail.html_content or "")
        extra = {"Campaign:CampaignID": campaign.id, "Campaign:Name": campaign.name} if campaign else {}
        html = self.uow.events.message_page(mail, subscriber, owner.id, instance_id, nonce, extra)
        return BrowserView(self._subject(mail, owner, subscriber, extra), html)

    def _send_of(self, campaign: Campaign | None, subscriber: Subscriber, queue_row_id: int) -> tuple[int, str]:
        """(instance, nonce) of the ledger row named: its links are the ones that message carried."""
        if not queue_row_id:
            return 0, NO_NONCE
        row = self.s.scalar(select(Delivery).join(SendInstance, SendInstance.id == Delivery.instance_id)
                            .where(Delivery.id == queue_row_id,
                                   SendInstance.campaign_id == (campaign.id if campaign else -1),
                                   Delivery.subscriber_id == subscriber.id))
        if row is None:
            raise RenderQueueRowInvalid("the queue row is not this subscriber's message of this campaign")
        return row.instance_id, campaign.public_nonce

    def _subject(self, mail: Email, owner: User, subscriber: Subscriber, extra: dict) -> str:
        ctx = {**self.uow.events.context(subscriber), **owner_constants(owner), **extra,
               NOW: local_now(owner, self.uow.clock())}
        template = compile_template(" ".join((mail.subject or "").split()), TEXT,
                                    aliases=self.uow.events.aliases(owner.id))
        return template.render(ctx)

    # --- Email.Smtp.Render -------------------------------------------------------------------------
    def smtp(self, actor: Actor, *, user_id: int | None, campaign_id: int | None, autoresponder_id: int | None,
             email_id: int | None, list_id: int | None, subscriber_id: int | None, preview: bool) -> SmtpView:
        owner = self._owner(actor, user_id if user_id is not None else (None if actor.is_admin else actor.id))
        campaign = self._owned(Campaign, campaign_id, owner, RenderCampaignInvalid) if campaign_id else None
        responder = self._owned(AutoResponder, autoresponder_id, owner, RenderAutoResponderInvalid) \
            if autoresponder_id else None
        email_id = email_id or (campaign.email_id if campaign else None) or (responder.email_id if responder else None)
        if not email_id:
            raise RenderEmailInvalid("give EmailID, or a CampaignID / AutoResponderID with content")
        mail = self._owned(Email, email_id, owner, RenderEmailInvalid)
        list_id = list_id or (responder.list_id if responder else None) or self._campaign_list(campaign)
        if not list_id:
            raise RenderListInvalid("give ListID, or a CampaignID / AutoResponderID with a target list")
        list_row = self._owned(SubscriberList, list_id, owner, RenderListInvalid)
        subscriber = self._subscriber(list_row, subscriber_id) if subscriber_id else self._first_subscriber(list_row)
        return self._smtp_view(owner, mail, list_row, subscriber, campaign, tracked=not preview)

    def _campaign_list(self, campaign: Campaign | None) -> int | None:
        if campaign is None:
            return None
        return self.s.scalar(select(CampaignRecipient.list_id).where(
            CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.excluded.is_(False))
            .order_by(CampaignRecipient.id).limit(1))

    def _first_subscriber(self, list_row: SubscriberList) -> Subscriber:
        # The page picks one at random; the list's first Subscribed member makes the answer repeatable.
        found = self.s.scalar(select(Subscriber).where(Subscriber.list_id == list_row.id,
                                                       Subscriber.subscription_status == "Subscribed")
                              .order_by(Subscriber.id).limit(1))
        if found is None:
            raise RenderSubscriberInvalid("the list has no subscribed member to render the email for")
        return found

    def _smtp_view(self, owner: User, mail: Email, list_row: SubscriberList, subscriber: Subscriber,
                   campaign: Campaign | None, *, tracked: bool) -> SmtpView:
        settings = self.uow.settings
        content = Content(
            subject=mail.subject or "",
            from_email=mail.from_email or list_row.sender_email_address or owner.email_address,
            from_name=mail.from_name or list_row.sender_name, reply_to_email=mail.reply_to_email or "",
            reply_to_name=mail.reply_to_name or "", html=mail.html_content or "", text=mail.plain_content or "",
            pre_header=mail.pre_header_text or "", open_tracking=tracked and mail.open_tracking,
            link_tracking=tracked and mail.link_tracking)
        constants = owner_constants(owner)
        constants.update({"List:ListID": list_row.id, "List:Name": list_row.name})
        if campaign is not None:
            constants["Campaign:Name"] = campaign.name
        sending = Sending(signer=settings.signer(), base_url=settings.base_url,
                          bounce_domain=settings.return_path_domain, campaign_id=campaign.id if campaign else 0,
                          instance_id=0, link_nonce=NO_NONCE,
                          constants=constants, aliases=self.uow.events.aliases(owner.id))
        try:
            skeleton = build_skeleton(content, sending)
            ctx = {**self.uow.events.context(subscriber), SUBSCRIBER_ID: subscriber.id,
                   EMAIL_ADDRESS: subscriber.email_address, NOW: local_now(owner, self.uow.clock())}
            data = skeleton.render(ctx, self.uow.clock()).data
        except ValueError as exc:   # no content at all, or an address a header cannot carry
            raise RenderEmailInvalid(f"the email cannot be built: {exc}") from None
        head, _, body = data.partition(b"\r\n\r\n")
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        html_part, plain_part = parsed.get_body(("html",)), parsed.get_body(("plain",))
        return SmtpView(
            content=content, subject=str(parsed["Subject"] or ""),
            html=html_part.get_content() if html_part is not None else "",
            plain=plain_part.get_content() if plain_part is not None else "",
            headers=head.decode("ascii", "replace") + "\r\n", body=body.decode("ascii", "replace"), size=len(data),
            bounce_domain=settings.return_path_domain, tracking_domain=urlsplit(settings.base_url).hostname or "")

    # --- owner checks ------------------------------------------------------------------------------
    def _owner(self, actor: Actor, user_id: int | None) -> User:
        """The account rendered for: the caller; an administrator names it."""
        if user_id is None or (not actor.is_admin and user_id != actor.id):
            raise RenderUserInvalid()
        owner = self.s.get(User, user_id)
        if owner is None:
            raise RenderUserInvalid()
        return owner

    def _owned(self, model, object_id: int, owner: User, error: type[DomainError]):
        row = self.s.get(model, object_id)
        if row is None or row.owner_user_id != owner.id:
            raise error()
        return row

    def _subscriber(self, list_row: SubscriberList, subscriber_id: int) -> Subscriber:
        if not subscriber_id:   # 0: nobody in particular (a preview): every tag shows its fallback
            return Subscriber(id=0, list_id=list_row.id, email_address="", email_normalized="",
                              subscription_status="Subscribed", bounce_type="Not Bounced")
        row = self.s.get(Subscriber, subscriber_id)
        if row is None or row.list_id != list_row.id:
            raise RenderSubscriberInvalid()
        return row
