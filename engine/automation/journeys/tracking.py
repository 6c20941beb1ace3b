"""Opens, clicks and opt-outs of journey SendEmail messages (engine/automation/journeys/delivery.py).

A journey message's tokens name the SendEmail action (engine/tracking/tokens.journey_instance) and the
subscriber row, signed with the subscriber's public_nonce; EventService (engine/tracking/activity.py) hands
such tokens here. A token is honoured while the action, its journey and a `sent` (or `unknown`) ledger row
of that subscriber for that action exist, and the subscriber's list belongs to the journey's owner.

The ledger row credited is the subscriber's latest sent (or unknown) row of that action; it counts
what happened to that message (opens, clicks, browser_views; first_ and last_opened_at / _clicked_at;
unsubscribed_at, bounced_at, complained_at), so an action's figures are one grouped query over its rows
(stats.py). "Unique" is per ledger row: a row with opens > 0 is one unique open. A click without a
tracked open counts as an open, and a web-browser view counts as an open too, as for campaigns.

An open fires the owner's `EmailOpen` journeys, a click `EmailLinkClick` (both with the action's EmailID),
on every open and click, as a campaign's do. The web view (`/t/w/…`) shows the action's email as this
subscriber was sent it, its links signed as the mailed copy's were.

A bounce or complaint report naming a journey message (its VERP token, or a Message-ID of ours naming the
very address) applies the campaign rule to the subscriber (engine/automation/tracking.py); a bounce is
applied once per ledger row (noted in its last_error).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select, update

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
        self._open(self.target(instance_id, subscriber_id, nonce, lock=True))

    def _count(self, t: JourneyMail, *counters: str, latest: dict[str, datetime] | None = None,
               **first: datetime) -> None:
        """Add 1 to the row's `counters`, set its still-empty `first` moments and its `latest` ones, in SQL:
        two hits of one message racing in two requests both count (no read-modify-write of a value read
        earlier)."""
        S = JourneySend
        values = {name: getattr(S, name) + 1 for name in counters}
        values.update({name: func.coalesce(getattr(S, name), literal(at, getattr(S, name).type))
                       for name, at in first.items()})
        values.update(latest or {})
        self.s.execute(update(S).where(S.id == t.send.id).values(values),
                       execution_options={"synchronize_session": False})
        self.s.expire(t.send)

    def _open(self, t: JourneyMail) -> None:
        now = self.uow.clock()
        self._count(t, "opens", first_opened_at=now, latest={"last_opened_at": now})
        hooks.on_opened(self.s, t.subscriber.list_id, t.email_id, [t.subscriber.id], now)
        self.s.flush()

    def web_view(self, instance_id: int, subscriber_id: int, *, nonce: str | None) -> str:
        """The action's message as this subscriber was sent it (its web version); a view and an open."""
        t = self.target(instance_id, subscriber_id, nonce, lock=True)
        email = self.s.get(Email, t.email_id) if t.email_id else None
        if email is None or email.owner_user_id != t.journey.owner_user_id:
            raise TrackingTargetGone()
        self._count(t, "browser_views")
        self._open(t)
        return self.uow.events.message_page(email, t.subscriber, t.journey.owner_user_id, instance_id, nonce,
                                            {"Campaign:Name": t.journey.name, "Journey:Name": t.journey.name})

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
        if t.send.opens == 0:
            self._open(t)
        now = self.uow.clock()
        self._count(t, "clicks", first_clicked_at=now, latest={"last_clicked_at": now})
        hooks.on_clicked(self.s, t.subscriber.list_id, t.email_id, [t.subscriber.id], now)
        self.s.flush()
        return url

    def unsubscribe(self, instance_id: int, subscriber_id: int, ip: str, *, nonce: str | None) -> bool:
        """Opt the subscriber out of their list; False when already out."""
        t = self.target(instance_id, subscriber_id, nonce)
        if not unsubscribe_by_link(self.uow, t.subscriber, ip):
            return False
        self._count(t, unsubscribed_at=self.uow.clock())
        return True

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
        t.send.bounced_at = self.uow.clock()
        bounce_subscriber(self.uow, t.journey.owner_user_id, t.subscriber, event)
        self.s.flush()
        return True

    def record_complaint(self, t: JourneyMail, event) -> bool:
        if t.subscriber.complained_at is not None:
            return False
        self._count(t, complained_at=self.uow.clock())
        complain_subscriber(self.uow, t.journey.owner_user_id, t.subscriber, event)
        self.s.flush()
        return True
