"""Opens, clicks, opt-outs, bounces and complaints of autoresponder messages, attributed back to the
ledger row (`autoresponder_sends`) and the autoresponder's lifetime counters.

An autoresponder message's tokens name the autoresponder (engine/tracking/tokens.autoresponder_instance)
and the subscriber row, signed with the subscriber's public_nonce; EventService
(engine/tracking/activity.py) hands such tokens here. The row credited is the subscriber's latest
sent (or unknown) send of the autoresponder. "Unique" is per ledger row: a row's first open counts in
unique_opens, its first click in unique_clicks (a click without a tracked open counts as an open, as
for campaigns). A web-browser view shows the message as the subscriber was sent it and counts as an open.

The subscriber side of a bounce or complaint is the campaign rule: soft bounces escalate to hard after
SOFT_BOUNCE_LIMIT, a hard bounce marks the address on every list of the account and suppresses it, a
complaint suppresses it at once. A report is counted once per ledger row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone

from sqlalchemy import func, literal, select, update

from engine.errors import AlreadyUnsubscribed
from engine.events import outbox
from engine.models import AutoResponder, Email, Subscriber, SubscriberList
from engine.models.automation import AutoResponderSend
from engine.tracking.activity import SOFT_BOUNCE_LIMIT, TrackingTargetGone, content_links
from engine.delivery.links import click_target
from engine.tracking.tokens import Kind, autoresponder_of


@dataclass
class ArTarget:
    responder: AutoResponder
    subscriber: Subscriber
    send: AutoResponderSend

    @property
    def owner_user_id(self) -> int:
        return self.responder.owner_user_id


class AutoResponderTracking:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- loading ---------------------------------------------------------------------------------
    def target(self, instance_id: int, subscriber_id: int, nonce: str | None, *, lock: bool = False) -> ArTarget:
        """What an autoresponder token names; TrackingTargetGone when any part is gone or does not match."""
        responder_id = autoresponder_of(instance_id)
        responder = self.s.get(AutoResponder, responder_id) if responder_id else None
        subscriber = self.s.get(Subscriber, subscriber_id, with_for_update=lock) if subscriber_id else None
        if responder is None or subscriber is None or subscriber.list_id != responder.list_id \
                or nonce is None or not subscriber.made_for(nonce):
            raise TrackingTargetGone()
        send = self.s.scalar(select(AutoResponderSend).where(
            AutoResponderSend.autoresponder_id == responder.id, AutoResponderSend.subscriber_id == subscriber.id,
            AutoResponderSend.state.in_(("sent", "unknown"))).order_by(
            AutoResponderSend.sent_at.desc(), AutoResponderSend.id.desc()).limit(1))
        if send is None:
            raise TrackingTargetGone()
        return ArTarget(responder, subscriber, send)

    def _bump(self, t: ArTarget, *columns: str, by: int = 1) -> None:
        self.s.execute(update(AutoResponder).where(AutoResponder.id == t.responder.id).values(
            {name: getattr(AutoResponder, name) + by for name in columns}),
            execution_options={"synchronize_session": False})

    def _event(self, t: ArTarget, activity_type: str, detail_key: str, detail: dict) -> None:
        """The modern `email_activity_updated` event, as for a campaign message, with the autoresponder's id."""
        now = self.uow.clock().astimezone(timezone.utc)
        self.uow.outbox.record(owner_user_id=t.owner_user_id, entity_fqdn=outbox.EMAIL_ACTIVITY,
                               slug="email_activity_updated", entity_id=t.responder.id, body={
                                   "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   "recipientEmailAddress": t.subscriber.email_address,
                                   "activityType": activity_type, detail_key: detail,
                                   "contactId": str(t.subscriber.id), "autoResponderId": str(t.responder.id)})

    # --- opens, clicks, opt-outs -----------------------------------------------------------------
    def record_open(self, instance_id: int, subscriber_id: int, *, nonce: str | None) -> None:
        self._open(self.target(instance_id, subscriber_id, nonce, lock=True))

    def _credit(self, t: ArTarget, counter: str, first_at: str, *, only_first: bool = False) -> bool | None:
        """Add 1 to the ledger row's `counter` in SQL, and say whether it was the row's first (its
        `first_at` moment is set then). Two hits of one message in two requests both count and exactly
        one is the first: each statement reads the row's committed value, not the value this transaction
        read earlier (which on MariaDB's repeatable read is its snapshot, older than the other's commit).
        `only_first`: count it only when it is the first (None when it was not)."""
        S = AutoResponderSend
        self.s.flush()
        column, moment = getattr(S, counter), getattr(S, first_at)
        first = self.s.execute(update(S).where(S.id == t.send.id, column == 0).values(
            {counter: 1, first_at: func.coalesce(moment, literal(self.uow.clock(), moment.type))}),
            execution_options={"synchronize_session": False}).rowcount == 1
        if not first and not only_first:
            self.s.execute(update(S).where(S.id == t.send.id).values({counter: column + 1}),
                           execution_options={"synchronize_session": False})
        self.s.expire(t.send)
        return first if first or not only_first else None

    def _open(self, t: ArTarget, *, unless_opened: bool = False) -> None:
        """One open of the message (with `unless_opened`, only when it has none yet: a click's)."""
        first = self._credit(t, "opens", "first_opened_at", only_first=unless_opened)
        if first is None:
            return
        self._bump(t, "total_opens", *(("unique_opens",) if first else ()))
        self._event(t, "OPEN", "open", {})
        self.s.flush()

    def web_view(self, instance_id: int, subscriber_id: int, *, nonce: str | None) -> str:
        """The autoresponder's message as this subscriber was sent it (its web version); counted as an open.
        The links are signed with the subscriber's nonce, as the mailed copy's are."""
        t = self.target(instance_id, subscriber_id, nonce, lock=True)
        email = self.s.get(Email, t.responder.email_id) if t.responder.email_id else None
        if email is None:
            raise TrackingTargetGone()
        self._open(t)
        return self.uow.events.message_page(email, t.subscriber, t.owner_user_id, instance_id, nonce,
                                            {"Campaign:Name": t.responder.name, "AutoResponder:Name": t.responder.name})

    def record_click(self, instance_id: int, subscriber_id: int, link_index: int, *,
                     nonce: str | None) -> str | None:
        """The URL to redirect to (personalised), or None when the index is not one of the email's links."""
        t = self.target(instance_id, subscriber_id, nonce, lock=True)
        email = self.s.get(Email, t.responder.email_id) if t.responder.email_id else None
        events = self.uow.events
        url = click_target(content_links(email), link_index, events.context(t.subscriber),
                           events.aliases(t.owner_user_id))
        if url is None:
            return None
        self._open(t, unless_opened=True)
        first = self._credit(t, "clicks", "first_clicked_at")
        self._bump(t, "total_clicks", *(("unique_clicks",) if first else ()))
        self._event(t, "CLICK", "click", {"url": url})
        self.s.flush()
        return url

    def unsubscribe(self, instance_id: int, subscriber_id: int, ip: str, *, nonce: str | None) -> bool:
        """Opt the subscriber out of the autoresponder's list; False when already out."""
        t = self.target(instance_id, subscriber_id, nonce)
        if not unsubscribe_by_link(self.uow, t.subscriber, ip):
            return False
        t.send.unsubscribed_at = t.send.unsubscribed_at or self.uow.clock()
        self._bump(t, "total_unsubscriptions")
        self._event(t, "UNSUBSCRIBE", "unsubscribe", {})
        self.s.flush()
        return True

    # --- bounces and complaints ------------------------------------------------------------------
    def event_target(self, event) -> ArTarget | None:
        """The autoresponder message a parsed report is about, when its token or Message-ID names one."""
        token = event.token
        if token is not None and getattr(token, "kind", None) in (Kind.BOUNCE, Kind.UNSUBSCRIBE):
            if autoresponder_of(token.instance_id) is None:
                return None
            try:
                return self.target(token.instance_id, token.subscriber_id, token.nonce, lock=True)
            except TrackingTargetGone:
                return None
        ref = event.message_ref
        if event.email is None or ref is None or autoresponder_of(ref[0]) is None:
            return None
        # An unsigned Message-ID: act only when it names this very address.
        subscriber = self.s.get(Subscriber, ref[1])
        if subscriber is None or subscriber.email_normalized != event.email:
            return None
        try:
            return self.target(ref[0], ref[1], subscriber.public_nonce, lock=True)
        except TrackingTargetGone:
            return None

    def record_bounce(self, t: ArTarget, event) -> bool:
        if t.send.bounce_type:
            return False   # this message's bounce is already counted (a report delivered twice)
        hard = event.kind == "hard"
        t.send.bounce_type, t.send.bounced_at = ("Hard" if hard else "Soft"), self.uow.clock()
        t.send.last_error = f"{event.kind} bounce {event.status or ''} {event.reason}: {event.diagnostic}"[:1000]
        self._bump(t, "total_hard_bounces" if hard else "total_soft_bounces")
        self._bump(t, "total_delivered", by=-1)
        self._event(t, "HARD_BOUNCE" if hard else "SOFT_BOUNCE", "hardBounce" if hard else "softBounce", {})
        bounce_subscriber(self.uow, t.owner_user_id, t.subscriber, event)
        self.s.flush()
        return True

    def record_complaint(self, t: ArTarget, event) -> bool:
        if t.subscriber.complained_at is not None:
            return False
        self._event(t, "SPAM_COMPLAINT", "spamComplaint", {})
        complain_subscriber(self.uow, t.owner_user_id, t.subscriber, event)
        self.s.flush()
        return True


# --- the subscriber side of automation mail (autoresponders, journeys) -------------------------------------
def unsubscribe_by_link(uow, subscriber: Subscriber, ip: str) -> bool:
    """The unsubscription link of an automation message: the subscriber leaves their list (with its opt-out
    behaviours); False when already out."""
    try:
        uow.subscribers.unsubscribe(subscriber.list_id, ip=ip or "", subscriber_id=subscriber.id,
                                    channel="Unsubscription link")
    except AlreadyUnsubscribed:
        return False
    return True


def bounce_subscriber(uow, owner_user_id: int, subscriber: Subscriber, event) -> None:
    """The campaign rule: a hard bounce (or SOFT_BOUNCE_LIMIT soft ones) marks the address Hard on every
    list of the account and suppresses it."""
    if event.kind == "hard":
        _hard(uow, owner_user_id, subscriber, f"{event.status or ''} {event.reason}".strip())
        return
    subscriber.soft_bounce_count = (subscriber.soft_bounce_count or 0) + 1
    if subscriber.bounce_type != "Hard":
        subscriber.bounce_type = "Soft"
    if subscriber.soft_bounce_count >= SOFT_BOUNCE_LIMIT:
        _hard(uow, owner_user_id, subscriber, f"{subscriber.soft_bounce_count} soft bounces")


def _hard(uow, owner_user_id: int, subscriber: Subscriber, reason: str) -> None:
    owned = select(Subscriber).join(SubscriberList, SubscriberList.id == Subscriber.list_id)
    for row in uow.session.scalars(owned.where(Subscriber.email_normalized == subscriber.email_normalized,
                                               SubscriberList.owner_user_id == owner_user_id)):
        row.bounce_type = "Hard"
    uow.suppression.add(owner_user_id, subscriber.email_address, source="Hard Bounced", reason=reason[:250])
    uow.email_subscriptions.reported(owner_user_id, subscriber.email_address, subscriber.email_normalized, "BOUNCED")


def complain_subscriber(uow, owner_user_id: int, subscriber: Subscriber, event) -> None:
    """A complaint suppresses the address account-wide at once (the caller checks complained_at first)."""
    subscriber.complained_at = uow.clock()
    uow.suppression.add(owner_user_id, subscriber.email_address, source="SPAM complaint",
                        reason=f"{event.feedback_type} report"[:250])
    uow.email_subscriptions.reported(owner_user_id, subscriber.email_address, subscriber.email_normalized,
                                     "SPAM_COMPLAINT")
