"""Recording what happens after a message left: opens, clicks, web views, opt-outs, bounces, complaints.

Every entry point takes ids from a signed token (engine/tracking/tokens.py) or an event parsed from a
returned message (engine/bounces.py) and writes, in the caller's transaction, the subscriber's
state, a `subscriber_activity` row (what audience rules and unique counters read) and the
campaign's counters. Counters are bumped with `UPDATE … SET n = n + 1`, so two requests at once
never lose a count.

Decisions:
* Click targets are recomputed from the campaign's Email row exactly as compose.py's Skeleton
  computes them (`content_links`), not stored per send: link indexes are deterministic for a given
  content, and a sent campaign's email is not edited in the normal flow. An index that is not in
  the content answers None (the endpoint says 404): the redirect only ever goes to a stored URL.
* "Unique" means once per subscriber per campaign (all instances of a recurring campaign), known
  from earlier activity rows. A click or a web view implies the message was opened (the legacy
  docs count a click without a tracked open as an open too, images being often blocked).
* A web view is recorded as an open whose `link_url` is `WEB_VIEW` (there is no activity kind of
  its own); that row is what makes a later view not unique.
* Bounce and complaint activity rows carry the report's Message-ID in `link_url`, so a report
  delivered twice (MTA retry, two MX hosts) is counted once.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import timezone

from sqlalchemy import select, update

from engine.automation import enqueue as autoresponders
from engine.events import outbox
from engine.bounces.events import BounceEvent, ComplaintEvent
from engine.bounces.origin import verp_decoder
from engine.bounces import parse
from engine.delivery.html_text import email_sources
from engine.delivery.links import TrackedContent, click_target, track, tracking_slots
from engine.delivery.personalize import HTML, TEXT, compile_template
from engine.delivery.recipients import subscriber_context
from engine.errors import AlreadyUnsubscribed, BadToken, NotFound
from engine.models import Campaign, CustomField, Email, Subscriber, SubscriberFieldValue, SubscriberList, User
from engine.models.activity import SubscriberActivity
from engine.models.sending import Delivery, SendInstance
from engine.tracking.public_html import public_page
from engine.tracking.tokens import Kind, Signer, autoresponder_of, journey_action_of
from engine.automation.journeys import hooks as journey_hooks

# protocol.md §6.2 (bounce-processing.md): soft bounces escalate to hard after the soft-to-hard
# threshold, 3 by default. Lower would drop people over one full mailbox week; higher keeps
# mailing dead addresses, which mailbox providers read as a spammer's list hygiene.
SOFT_BOUNCE_LIMIT = 3
WEB_VIEW = "(web view)"
MAX_REPORT_ID = 998   # a Message-ID header cannot be longer


class TrackingTargetGone(NotFound):
    """The campaign, send or subscriber this link was made for no longer exists."""


@dataclass(frozen=True)
class Target:
    instance: SendInstance
    campaign: Campaign
    subscriber: Subscriber
    email_id: int | None = None   # the email this subscriber was sent: an A/B variation, or the campaign's


def _tracked(email: Email | None) -> TrackedContent:
    """The email's bodies with link markers, the same steps (and so the same indexes) as compose.Skeleton."""
    if email is None:
        return TrackedContent("", "", ())
    html_source, text_source = email_sources(email.html_content, email.plain_content, email.pre_header_text)
    return track(html_source, text_source, clicks=email.link_tracking, opens=False)


def content_links(email: Email | None) -> tuple[str, ...]:
    """The tracked URLs of an email, in click-token index order."""
    return _tracked(email).urls


class EventService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    @property
    def signer(self) -> Signer:
        return self.uow.settings.signer()

    # --- loading ---------------------------------------------------------------------------------
    def target(self, instance_id: int, subscriber_id: int, *, lock: bool = False) -> Target:
        """What a token names; TrackingTargetGone when any part was deleted or does not match.

        `lock` takes the subscriber's row lock first: two events of one subscriber at once (a
        double-clicked link) then run one after the other, so "is this the first open?" is
        answered once and a unique counter cannot move twice.
        """
        if autoresponder_of(instance_id) is not None or journey_action_of(instance_id) is not None:
            raise TrackingTargetGone()   # an automation's message (engine/automation/tracking.py, journeys/)
        instance = self.s.get(SendInstance, instance_id) if instance_id else None
        campaign = self.s.get(Campaign, instance.campaign_id) if instance else None
        subscriber = self.s.get(Subscriber, subscriber_id, with_for_update=lock) if subscriber_id else None
        list_row = self.s.get(SubscriberList, subscriber.list_id) if subscriber else None
        if campaign is None or list_row is None or list_row.owner_user_id != campaign.owner_user_id:
            raise TrackingTargetGone()
        # An A/B campaign's recipient got the variation of their ledger row: its links, its statistics.
        # Looked up on UNIQUE(instance_id, email_normalized): one index probe per tracked event.
        variation = self.s.scalar(select(Delivery.email_id).where(
            Delivery.instance_id == instance.id, Delivery.email_normalized == subscriber.email_normalized,
            Delivery.subscriber_id == subscriber.id))
        return Target(instance, campaign, subscriber, variation or campaign.email_id)

    def linked(self, instance_id: int, subscriber_id: int, nonce: str | None, *, lock: bool = False) -> Target:
        """What a signed link names, when it was made for that campaign (its `nonce`, engine/tracking/tokens.py);
        TrackingTargetGone otherwise. A link signed before nonces (None) opens only a campaign and a
        subscriber that both existed before them (LinkTarget.legacy_links)."""
        t = self.target(instance_id, subscriber_id, lock=lock)
        if not t.campaign.made_for(nonce) or (nonce is None and not t.subscriber.made_for(None)):
            raise TrackingTargetGone()
        return t

    def linked_subscriber(self, instance_id: int, subscriber_id: int, nonce: str | None) -> Subscriber:
        """The subscriber a signed link of a campaign's or an autoresponder's message names (TrackingTargetGone
        otherwise)."""
        if autoresponder_of(instance_id) is not None:
            return self.uow.autoresponder_tracking.target(instance_id, subscriber_id, nonce).subscriber
        if journey_action_of(instance_id) is not None:
            return self.uow.journey_tracking.target(instance_id, subscriber_id, nonce).subscriber
        return self.linked(instance_id, subscriber_id, nonce).subscriber

    def context(self, subscriber: Subscriber) -> dict:
        """The personalisation context of one subscriber, as delivery builds it."""
        fields = {f"Subscriber:CustomField{field_id}": text for field_id, text in self.s.execute(
            select(SubscriberFieldValue.field_id, SubscriberFieldValue.value_text)
            .where(SubscriberFieldValue.subscriber_id == subscriber.id))}
        list_row = self.s.get(SubscriberList, subscriber.list_id)
        return subscriber_context(subscriber, fields, list_row.name if list_row else "")

    def aliases(self, owner_user_id: int) -> dict[str, int]:
        return {alias.lower(): field_id for field_id, alias in self.s.execute(
            select(CustomField.id, CustomField.merge_tag_alias).where(
                CustomField.owner_user_id == owner_user_id, CustomField.merge_tag_alias != ""))}

    # --- counters and activity ---------------------------------------------------------------------
    def _bump(self, campaign_id: int, *columns: str) -> None:
        values = {name: getattr(Campaign, name) + 1 for name in columns}
        self.s.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values),
                       execution_options={"synchronize_session": False})

    def _seen(self, t: Target, kind: str, link_url: str | None = None) -> bool:
        query = select(SubscriberActivity.id).where(
            SubscriberActivity.subscriber_id == t.subscriber.id, SubscriberActivity.campaign_id == t.campaign.id,
            SubscriberActivity.kind == kind)
        if link_url is not None:
            query = query.where(SubscriberActivity.link_url == link_url)
        return self.s.scalar(query.limit(1)) is not None

    def _activity(self, t: Target, kind: str, link_url: str = "") -> None:
        self.s.add(SubscriberActivity(subscriber_id=t.subscriber.id, campaign_id=t.campaign.id,
                                      email_id=t.email_id, kind=kind, link_url=link_url,
                                      occurred_at=self.uow.clock()))
        self.s.flush()

    def _activity_event(self, t: Target, activity_type: str, detail_key: str, detail: dict) -> None:
        """The modern `email_activity_updated` event (modern-campaign-api.txt), in this transaction."""
        now = self.uow.clock().astimezone(timezone.utc)
        self.uow.outbox.record(owner_user_id=t.campaign.owner_user_id, entity_fqdn=outbox.EMAIL_ACTIVITY,
                               slug="email_activity_updated", entity_id=t.campaign.id, body={
                                   "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   "recipientEmailAddress": t.subscriber.email_address,
                                   "activityType": activity_type, detail_key: detail,
                                   "contactId": str(t.subscriber.id), "campaignId": str(t.campaign.id)})

    def _open(self, t: Target, link_url: str = "") -> None:
        first = not self._seen(t, "open")
        self._activity(t, "open", link_url)
        self._activity_event(t, "OPEN", "open", {})
        journey_hooks.on_opened(self.s, t.subscriber.list_id, t.campaign.email_id, [t.subscriber.id], self.uow.clock())
        self._bump(t.campaign.id, "total_opens", *(("unique_opens",) if first else ()))
        if first:
            self._deliverability(t, "VALID")   # it arrived (engine/audience/email_subscriptions.py)
        autoresponders.on_opened(self.s, t.campaign.id, t.subscriber.id, self.uow.clock())

    def _deliverability(self, t: Target, status: str) -> None:
        self.uow.email_subscriptions.reported(t.campaign.owner_user_id, t.subscriber.email_address,
                                              t.subscriber.email_normalized, status)

    # --- opens, clicks, views ---------------------------------------------------------------------
    def record_open(self, instance_id: int, subscriber_id: int, *, nonce: str | None) -> None:
        if autoresponder_of(instance_id) is not None:
            return self.uow.autoresponder_tracking.record_open(instance_id, subscriber_id, nonce=nonce)
        if journey_action_of(instance_id) is not None:
            return self.uow.journey_tracking.record_open(instance_id, subscriber_id, nonce=nonce)
        self._open(self.linked(instance_id, subscriber_id, nonce, lock=True))

    def record_click(self, instance_id: int, subscriber_id: int, link_index: int, *,
                     nonce: str | None) -> str | None:
        """The URL to redirect to (personalised), or None when the index is not one of the campaign's links."""
        if autoresponder_of(instance_id) is not None:
            return self.uow.autoresponder_tracking.record_click(instance_id, subscriber_id, link_index, nonce=nonce)
        if journey_action_of(instance_id) is not None:
            return self.uow.journey_tracking.record_click(instance_id, subscriber_id, link_index, nonce=nonce)
        t = self.linked(instance_id, subscriber_id, nonce, lock=True)
        email = self.s.get(Email, t.email_id) if t.email_id else None
        urls = content_links(email)
        url = click_target(urls, link_index, self.context(t.subscriber), self.aliases(t.campaign.owner_user_id))
        if url is None:
            return None
        if not self._seen(t, "open"):
            self._open(t)
        first = not self._seen(t, "click")
        self._activity(t, "click", urls[link_index])
        journey_hooks.on_clicked(self.s, t.subscriber.list_id, t.campaign.email_id, [t.subscriber.id], self.uow.clock())
        self._activity_event(t, "CLICK", "click", {"url": url})   # as the recipient followed it
        self._bump(t.campaign.id, "total_clicks", *(("unique_clicks",) if first else ()))
        autoresponders.on_clicked(self.s, t.campaign.id, t.subscriber.id, urls[link_index], self.uow.clock())
        return url

    def record_view(self, instance_id: int, subscriber_id: int, *, nonce: str | None) -> Target:
        """A web-browser view: counted, and an open as well; the target, for rendering the page."""
        t = self.linked(instance_id, subscriber_id, nonce, lock=True)
        first = not self._seen(t, "open", WEB_VIEW)
        self._open(t, WEB_VIEW)
        self._bump(t.campaign.id, "total_views_on_browser", *(("unique_views_on_browser",) if first else ()))
        return t

    def web_view(self, instance_id: int, subscriber_id: int, *, nonce: str | None) -> str:
        """The campaign's HTML as this subscriber received it; the view is recorded."""
        if autoresponder_of(instance_id) is not None:
            return self.uow.autoresponder_tracking.web_view(instance_id, subscriber_id, nonce=nonce)
        if journey_action_of(instance_id) is not None:
            return self.uow.journey_tracking.web_view(instance_id, subscriber_id, nonce=nonce)
        t = self.record_view(instance_id, subscriber_id, nonce=nonce)
        email = self.s.get(Email, t.email_id) if t.email_id else None
        if email is None or not self.uow.approval.content_approved(t.campaign):
            # Nothing to show, or an Untrusted account's content no administrator approved (edited after
            # the send): the caller does not commit the count.
            raise TrackingTargetGone()
        return self.message_page(email, t.subscriber, t.campaign.owner_user_id, t.instance.id,
                                 t.campaign.public_nonce,
                                 {"Campaign:CampaignID": t.campaign.id, "Campaign:Name": t.campaign.name})

    def message_page(self, email: Email, subscriber: Subscriber, owner_user_id: int, instance_id: int,
                     nonce: str, extra: dict) -> str:
        """A mailed message as a public page (its web version): the email personalised for `subscriber`,
        its links signed for `instance_id` with `nonce` as the message's own were."""
        tracked = _tracked(email)
        base = self.uow.settings.base_url.rstrip("/")
        signer = self.signer
        ids = {"instance_id": instance_id, "subscriber_id": subscriber.id, "nonce": nonce}
        slots = tracking_slots(tracked.urls, signer, base, instance_id, nonce)
        aliases = self.aliases(owner_user_id)
        owner = self.s.get(User, owner_user_id)
        ctx = {**self.context(subscriber), **extra,
               "User:UserID": owner.id, "User:FirstName": owner.first_name, "User:LastName": owner.last_name,
               "User:EmailAddress": owner.email_address, "User:CompanyName": owner.company_name,
               "User:TimeZone": owner.time_zone, "Now": self.uow.clock(),
               "Link:Unsubscribe": signer.url(base, Kind.UNSUBSCRIBE, **ids),
               "Link:WebBrowser": signer.url(base, Kind.WEB_VIEW, **ids)}
        if tracked.html.strip():
            page = compile_template(tracked.html, HTML, aliases=aliases, system_slots=slots).render(ctx)
        else:
            text = compile_template(tracked.text, TEXT, aliases=aliases, system_slots=slots).render(ctx)
            page = f"<pre>{html.escape(text)}</pre>"
        # Served on our origin: static markup only (the mailed copy is not touched).
        return public_page(page)

    # --- opting out -----------------------------------------------------------------------------
    def unsubscribe(self, instance_id: int, subscriber_id: int, ip: str, *, nonce: str | None) -> bool:
        """Opt the subscriber out of their list (with its opt-out behaviours); False when already out."""
        if autoresponder_of(instance_id) is not None:
            return self.uow.autoresponder_tracking.unsubscribe(instance_id, subscriber_id, ip, nonce=nonce)
        if journey_action_of(instance_id) is not None:
            return self.uow.journey_tracking.unsubscribe(instance_id, subscriber_id, ip, nonce=nonce)
        t = self.linked(instance_id, subscriber_id, nonce)
        try:
            self.uow.subscribers.unsubscribe(t.subscriber.list_id, ip=ip or "", subscriber_id=t.subscriber.id,
                                             campaign_id=t.campaign.id, email_id=t.email_id,
                                             channel="Unsubscription link")
        except AlreadyUnsubscribed:
            return False
        self._activity_event(t, "UNSUBSCRIBE", "unsubscribe", {})
        return True

    # --- bounces and complaints -----------------------------------------------------------------
    def _event_target(self, event) -> Target | None:
        """Whom a parsed report is about, trusting only what ties it to a message we sent."""
        token = event.token
        if token is not None and getattr(token, "kind", None) in (Kind.BOUNCE, Kind.UNSUBSCRIBE):
            try:
                return self.linked(token.instance_id, token.subscriber_id, token.nonce, lock=True)
            except TrackingTargetGone:
                return None
        if event.email is None:
            return None
        if event.message_ref is not None:
            # An unsigned Message-ID: act only when it names this very address.
            try:
                t = self.target(*event.message_ref, lock=True)
            except TrackingTargetGone:
                return None
            return t if t.subscriber.email_normalized == event.email else None
        # Address only: the most recent message we sent to it.
        row = self.s.execute(select(Delivery.instance_id, Delivery.subscriber_id).where(
            Delivery.email_normalized == event.email, Delivery.state == "sent").order_by(
            Delivery.sent_at.desc(), Delivery.id.desc()).limit(1)).first()
        if row is None:
            return None
        try:
            return self.target(row.instance_id, row.subscriber_id, lock=True)
        except TrackingTargetGone:
            return None

    def _suppress(self, t: Target, source: str, reason: str) -> None:
        self.uow.suppression.add(t.campaign.owner_user_id, t.subscriber.email_address, source=source,
                                 reason=reason)

    def _mark_ledger(self, t: Target, note: str) -> None:
        self.s.execute(update(Delivery).where(
            Delivery.instance_id == t.instance.id, Delivery.subscriber_id == t.subscriber.id).values(
            last_error=note[:1000]), execution_options={"synchronize_session": False})

    def _duplicate(self, t: Target, kind: str, report_id: str | None) -> bool:
        return bool(report_id) and self._seen(t, kind, report_id[:MAX_REPORT_ID])

    def record_bounce(self, event: BounceEvent) -> bool:
        """Apply one bounce; False when it names nobody we mailed or repeats a report already counted."""
        mine = self.uow.autoresponder_tracking.event_target(event)
        if mine is not None:
            return self.uow.autoresponder_tracking.record_bounce(mine, event)
        journey_mail = self.uow.journey_tracking.event_target(event)
        if journey_mail is not None:
            return self.uow.journey_tracking.record_bounce(journey_mail, event)
        t = self._event_target(event)
        if t is None or self._duplicate(t, "bounce", event.report_id):
            return False
        subscriber = t.subscriber
        self._activity(t, "bounce", (event.report_id or "")[:MAX_REPORT_ID])
        hard = event.kind == "hard"
        self._activity_event(t, "HARD_BOUNCE" if hard else "SOFT_BOUNCE", "hardBounce" if hard else "softBounce", {})
        self._mark_ledger(t, f"{event.kind} bounce {event.status or ''} {event.reason}: {event.diagnostic}")
        if event.kind == "hard":
            self._bump(t.campaign.id, "total_hard_bounces")
            self._hard(t, f"{event.status or ''} {event.reason}".strip())
        else:
            self._bump(t.campaign.id, "total_soft_bounces")
            subscriber.soft_bounce_count = (subscriber.soft_bounce_count or 0) + 1
            if subscriber.bounce_type != "Hard":
                subscriber.bounce_type = "Soft"
            if subscriber.soft_bounce_count >= SOFT_BOUNCE_LIMIT:
                self._hard(t, f"{subscriber.soft_bounce_count} soft bounces")
        self.s.flush()
        return True

    def _hard(self, t: Target, reason: str) -> None:
        # The address is dead for the whole account: every list of the owner carrying it is marked.
        owned = select(Subscriber).join(SubscriberList, SubscriberList.id == Subscriber.list_id)
        for row in self.s.scalars(owned.where(
                Subscriber.email_normalized == t.subscriber.email_normalized,
                SubscriberList.owner_user_id == t.campaign.owner_user_id)):
            row.bounce_type = "Hard"
        self._suppress(t, "Hard Bounced", reason[:250])
        self._deliverability(t, "BOUNCED")

    def record_complaint(self, event: ComplaintEvent) -> bool:
        """Apply one spam complaint: the address is suppressed account-wide at once."""
        mine = self.uow.autoresponder_tracking.event_target(event)
        if mine is not None:
            return self.uow.autoresponder_tracking.record_complaint(mine, event)
        journey_mail = self.uow.journey_tracking.event_target(event)
        if journey_mail is not None:
            return self.uow.journey_tracking.record_complaint(journey_mail, event)
        t = self._event_target(event)
        if t is None or self._duplicate(t, "complaint", event.report_id):
            return False
        first = not self._seen(t, "complaint")
        self._activity(t, "complaint", (event.report_id or "")[:MAX_REPORT_ID])
        self._activity_event(t, "SPAM_COMPLAINT", "spamComplaint", {})
        t.subscriber.complained_at = t.subscriber.complained_at or self.uow.clock()
        if first:
            self._bump(t.campaign.id, "total_complaints")
        self._suppress(t, "SPAM complaint", f"{event.feedback_type} report"[:250])
        self._deliverability(t, "SPAM_COMPLAINT")
        self.s.flush()
        return True

    def record_message(self, data: bytes, recipients=(), *, ip: str = "") -> tuple[int, int]:
        """Record one received message: (events found, events recorded).

        Mail to `unsubscribe+<token>@…` (the List-Unsubscribe mailto) is an opt-out request, one
        event; anything else is parsed for bounces and complaints.
        """
        signer = self.signer
        for address in recipients:
            local = (address or "").strip().strip("<>").rpartition("@")[0]
            head, plus, token = local.partition("+")
            if plus and head.lower() == "unsubscribe":
                try:
                    payload = signer.verify_local(token, Kind.UNSUBSCRIBE)
                    return 1, int(self.unsubscribe(payload.instance_id, payload.subscriber_id, ip,
                                                   nonce=payload.nonce))
                except (BadToken, TrackingTargetGone):
                    continue
        events = parse(data, recipients=recipients, decode_verp=verp_decoder(signer))
        recorded = 0
        for event in events:
            if isinstance(event, ComplaintEvent):
                recorded += self.record_complaint(event)
            else:
                recorded += self.record_bounce(event)
        return len(events), recorded
