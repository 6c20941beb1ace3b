"""Opens, clicks and opt-outs of journey SendEmail messages (engine/automation/journeys/delivery.py).

A journey message's tokens name the SendEmail action (engine/tracking/tokens.journey_instance) and the
subscriber row, signed with the subscriber's public_nonce; EventService (engine/tracking/activity.py) hands
such tokens here. A token is honoured while the action, its journey and a `sent` (or `unknown`) ledger row
of that subscriber for that action exist, and the subscriber's list belongs to the journey's owner.

An open fires the owner's `EmailOpen` journeys, a click `EmailLinkClick` (both with the action's EmailID;
a click without a tracked open fires `EmailOpen` as well, as a campaign's does). The ledger has no
engagement counters (README "Journeys"). A web-browser view is not served (the link answers 404).

A bounce or complaint report naming a journey message (its VERP token, or a Message-ID of ours naming the
very address) applies the campaign rule to the subscriber (engine/automation/tracking.py); a bounce is
applied once per ledger row (noted in its last_error).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from engine.automation.journeys import hooks
from engine.automation.tracking import bounce_subscriber, complain_subscriber, unsubscribe_by_link
from engine.delivery.links import click_target
from engine.models import Email, Journey, JourneyAction, JourneySend, Subscriber, SubscriberList
from engine.tracking.activity import TrackingTargetGone, content_links
from engine.tracking.tokens import Kind, journey_action_of


BOUNCED = ("hard bounce", "soft bounce")   # how a ledger row's last_error starts once a bounce was applied


@dataclass
class JourneyMail:
    journey: Journey
    email_id: int
    subscriber: Subscriber
    send: JourneySend


class JourneyTracking:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def target(self, instance_id: int, subscriber_id: int, nonce: str | None, *, lock: bool = False) -> JourneyMail:
        """What a journey token names; TrackingTargetGone when any part is gone or does not match."""
        action_id = journey_action_of(instance_id)
        action = self.s.get(JourneyAction, action_id) if action_id and action_id < 2 ** 31 else None
        journey = self.s.get(Journey, action.journey_id) if action is not None else None
        subscriber = self.s.get(Subscriber, subscriber_id, with_for_update=lock) \
            if journey is not None and 0 < subscriber_id < 2 ** 31 else None
        if subscriber is None or nonce is None or not subscriber.made_for(nonce) or \
                self.s.scalar(select(SubscriberList.owner_user_id).where(
                    SubscriberList.id == subscriber.list_id)) != journey.owner_user_id:
            raise TrackingTargetGone()
        sent = self.s.scalar(select(JourneySend).where(
            JourneySend.action_id == action.id, JourneySend.subscriber_id == subscriber.id,
            JourneySend.state.in_(("sent", "unknown"))).order_by(JourneySend.id.desc()).limit(1))
        if sent is None:
            raise TrackingTargetGone()
        try:
            email_id = int(json.loads(action.parameters or "{}").get("EmailID") or 0)
        except (ValueError, TypeError, AttributeError):
            email_id = 0
        return JourneyMail(journey, email_id, subscriber, sent)

    def record_open(self, instance_id: int, subscriber_id: int, *, nonce: str | None) -> None:
        t = self.target(instance_id, subscriber_id, nonce, lock=True)
        hooks.on_opened(self.s, t.subscriber.list_id, t.email_id, [t.subscriber.id], self.uow.clock())
        self.s.flush()

    def record_click(self, instance_id: int, subscriber_id: int, link_index: int, *,
                     nonce: str | None) -> str | None:
        """The URL to redirect to (personalised), or None when the index is not one of the email's links."""
        t = self.target(instance_id, subscriber_id, nonce, lock=True)
        email = self.s.get(Email, t.email_id) if t.email_id else None
        events = self.uow.events
        url = click_target(content_links(email), link_index, events.context(t.subscriber),
                           events.aliases(t.journey.owner_user_id))
        if url is None:
            return None
        now = self.uow.clock()
        hooks.on_opened(self.s, t.subscriber.list_id, t.email_id, [t.subscriber.id], now)
        hooks.on_clicked(self.s, t.subscriber.list_id, t.email_id, [t.subscriber.id], now)
        self.s.flush()
        return url

    def unsubscribe(self, instance_id: int, subscriber_id: int, ip: str, *, nonce: str | None) -> bool:
        """Opt the subscriber out of their list; False when already out."""
        return unsubscribe_by_link(self.uow, self.target(instance_id, subscriber_id, nonce).subscriber, ip)

    # --- bounces and complaints ------------------------------------------------------------------
    def event_target(self, event) -> JourneyMail | None:
        """The journey message a parsed report is about, when its token or Message-ID names one."""
        token = event.token
        if token is not None and getattr(token, "kind", None) in (Kind.BOUNCE, Kind.UNSUBSCRIBE):
            instance_id, subscriber_id, nonce = token.instance_id, token.subscriber_id, token.nonce
        elif event.email is not None and event.message_ref is not None:
            instance_id, subscriber_id = event.message_ref
            # An unsigned Message-ID: act only when it names this very address.
            subscriber = self.s.get(Subscriber, subscriber_id) if 0 < subscriber_id < 2 ** 31 else None
            if subscriber is None or subscriber.email_normalized != event.email:
                return None
            nonce = subscriber.public_nonce
        else:
            return None
        if journey_action_of(instance_id) is None:
            return None
        try:
            return self.target(instance_id, subscriber_id, nonce, lock=True)
        except TrackingTargetGone:
            return None

    def record_bounce(self, t: JourneyMail, event) -> bool:
        if t.send.last_error.startswith(BOUNCED):
            return False   # this message's bounce is already applied (a report delivered twice)
        t.send.last_error = f"{event.kind} bounce {event.status or ''} {event.reason}: {event.diagnostic}"[:1000]
        bounce_subscriber(self.uow, t.journey.owner_user_id, t.subscriber, event)
        self.s.flush()
        return True

    def record_complaint(self, t: JourneyMail, event) -> bool:
        if t.subscriber.complained_at is not None:
            return False
        complain_subscriber(self.uow, t.journey.owner_user_id, t.subscriber, event)
        self.s.flush()
        return True
