"""What the step log and the send ledger say about journeys: the subscribers that reached an action (with
the engagement filters), per-action and per-ISP figures, the account benchmark (Journey.Get's and
Journey.List's JourneyStats are overview.py's). The ledger's aggregates are engagement.py's grouped
queries; their days are the account's local days (days.py)."""
from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import and_, false, func, or_, select, union

from engine.automation.journeys import engagement as E
from engine.automation.journeys.days import local_days, local_today, owner_zone
from engine.errors import JourneyActionNotFound
from engine.models import (
    Email, Journey, JourneyAction, JourneyEnrollment, JourneySend, JourneyStep, Subscriber, Suppression,
)

# Events Sendmill cannot observe (no conversion pixel, no forward-to-a-friend page): these filters
# match nobody (README "Journeys").
UNOBSERVED = {"converted", "forwarded"}
# Filters answered from the action's ledger rows: a message of this action to the subscriber with …
LEDGER_FILTERS = {"opened": JourneySend.opens > 0, "clicked": JourneySend.clicks > 0,
                  "browser_viewed": JourneySend.browser_views > 0}


class JourneyStats:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def today(self, actor, now: datetime) -> date:
        """The account's current local day: where omitted stats windows end."""
        return local_today(now, owner_zone(self.s, actor.id))

    def benchmark(self, actor, start: date, end: date) -> dict:
        days = local_days(start, end, owner_zone(self.s, actor.id))
        return benchmark(self.s, actor.id, days.since, days.until)

    def action_counts(self, journey_id: int) -> dict[int, tuple[int, int]]:
        """action ID → (steps taken there, enrollments waiting there now): two grouped queries, for the
        console's drawing of the journey's tree."""
        taken = dict(self.s.execute(select(JourneyStep.action_id, func.count()).where(
            JourneyStep.journey_id == journey_id).group_by(JourneyStep.action_id)).all())
        waiting = dict(self.s.execute(select(JourneyEnrollment.current_action_id, func.count()).where(
            JourneyEnrollment.journey_id == journey_id, JourneyEnrollment.state == "active")
            .group_by(JourneyEnrollment.current_action_id)).all())
        return {action_id: (int(taken.get(action_id, 0)), int(waiting.get(action_id, 0)))
                for action_id in set(taken) | set(waiting)}

    def action_subscribers(self, actor, journey_id: int, action_id: int, *, filters: list[str], operator: str,
                           limit: int, offset: int, order: str, descending: bool):
        """The subscribers that reached the action (a step logged at it, or waiting at it): rows of
        (id, address, suppressed) and the total."""
        journey = self.uow.journeys.get(actor, journey_id)
        action = self.s.get(JourneyAction, action_id)
        if action is None or action.journey_id != journey.id:
            raise JourneyActionNotFound()
        reached = union(select(JourneyStep.subscriber_id.label("sid")).where(JourneyStep.journey_id == journey.id,
                                                                             JourneyStep.action_id == action_id),
                        select(JourneyEnrollment.subscriber_id.label("sid")).where(
                            JourneyEnrollment.current_action_id == action_id, JourneyEnrollment.state == "active")
                        ).subquery()
        s = Subscriber
        suppressed = select(Suppression.id).where(
            Suppression.owner_user_id == journey.owner_user_id, Suppression.email_normalized == s.email_normalized,
            or_(Suppression.list_id.is_(None), Suppression.list_id == s.list_id)).exists()
        conditions = [self._filter(name, s, action_id) for name in filters]
        query = select(s.id, s.email_address, suppressed).join(reached, reached.c.sid == s.id)
        if conditions:
            query = query.where(and_(*conditions) if operator == "AND" else or_(*conditions))
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        column = s.id if order == "SubscriberID" else s.email_address
        rows = self.s.execute(query.order_by(column.desc() if descending else column, s.id).offset(offset).limit(limit))
        return [tuple(r) for r in rows], int(total or 0)

    @staticmethod
    def _filter(name: str, s, action_id: int):
        if name in LEDGER_FILTERS:
            return select(JourneySend.id).where(JourneySend.action_id == action_id, JourneySend.subscriber_id == s.id,
                                                LEDGER_FILTERS[name]).exists()
        if name == "unsubscribed":
            return s.subscription_status == "Unsubscribed"
        if name == "bounced":
            return s.bounce_type != "Not Bounced"
        if name == "spam_complaint":
            return s.complained_at.is_not(None)
        return false()  # UNOBSERVED

    def _send_actions(self, actor, journey_id: int, action_id: int | None) -> tuple[Journey, list[JourneyAction]]:
        """The journey and its SendEmail actions (just `action_id`'s when given: JourneyActionNotFound when
        that is not a SendEmail action of the journey), in OrderNo order."""
        journey = self.uow.journeys.get(actor, journey_id)
        actions = [a for a in self.uow.journeys.actions(journey.id) if a.action == "SendEmail"]
        if action_id is not None:
            actions = [a for a in actions if a.id == action_id]
            if not actions:
                raise JourneyActionNotFound("EmailID must be the ActionID of a SendEmail action of this journey")
        return journey, sorted(actions, key=lambda a: (a.order_no, a.id))

    def by_action(self, actor, journey_id: int, start: date, end: date, *, action_id: int | None, isp: str | None):
        journey, actions = self._send_actions(actor, journey_id, action_id)
        window = local_days(start, end, owner_zone(self.s, journey.owner_user_id))
        figures = E.per_action_day(self.s, journey.id, [a.id for a in actions], window, isp)
        days = window.names
        out = []
        for action in actions:
            email_id = _email_id(action)
            email = self.s.get(Email, email_id) if email_id else None
            per_day = figures.get(action.id, {})
            total = {name: sum(f[name] for f in per_day.values()) for name in E.FIGURES}
            out.append({
                "ActionID": action.id, "Action": "SendEmail", "EmailID": email_id,
                "EmailName": email.email_name if email and email.owner_user_id == journey.owner_user_id else "",
                "OrderNo": action.order_no,
                "Stats": {"SendCount": total["Sent"], "DeliveryCount": total["Delivered"],
                          "OpenCount": total["Opened"], "ClickCount": total["Clicked"],
                          "BounceCount": total["Bounced"], "UnsubscribeCount": total["Unsubscribed"],
                          "SpamComplaintCount": total["Complained"], "TotalRevenue": 0.0,
                          # Sendmill's additions: every open and click, and web-version views.
                          "TotalOpenCount": total["TotalOpens"], "TotalClickCount": total["TotalClicks"],
                          "BrowserViewCount": total["BrowserViews"]},
                "DailyStats": [{"Date": d, "SendCount": per_day.get(d, E.EMPTY)["Sent"],
                                "OpenCount": per_day.get(d, E.EMPTY)["Opened"],
                                "ClickCount": per_day.get(d, E.EMPTY)["Clicked"], "TotalRevenue": 0.0}
                               for d in days],
            })
        return out

    def by_isp(self, actor, journey_id: int, start: date, end: date, *, action_id: int | None) -> list[dict]:
        """Journey.Stats.ByISP: the figures per recipient domain (of one SendEmail action, or all)."""
        journey, _ = self._send_actions(actor, journey_id, action_id)
        window = local_days(start, end, owner_zone(self.s, journey.owner_user_id))
        return [{"Domain": row["Domain"], "Sent": row["Sent"], "Delivered": row["Delivered"],
                 "Opened": row["Opened"], "Clicked": row["Clicked"], "Bounced": row["Bounced"],
                 "Unsubscribed": row["Unsubscribed"], "Complained": row["Complained"]}
                for row in E.per_domain(self.s, journey.id, action_id, window)]

    def send_email_actions(self, actor, *, journey_id: int | None, include_disabled: bool,
                           include_unpublished: bool) -> list[dict]:
        query = (select(JourneyAction, Journey).join(Journey, Journey.id == JourneyAction.journey_id)
                 .where(Journey.owner_user_id == actor.id, JourneyAction.action == "SendEmail")
                 .order_by(Journey.id, JourneyAction.order_no, JourneyAction.id))
        if journey_id is not None:
            query = query.where(Journey.id == journey_id)
        if not include_disabled:
            query = query.where(Journey.status == "Enabled")
        if not include_unpublished:
            query = query.where(JourneyAction.published.is_(True))
        out = []
        for action, journey in self.s.execute(query):
            email_id = int(json.loads(action.parameters or "{}").get("EmailID", 0))
            email = self.s.get(Email, email_id) if email_id else None
            if email is not None and email.owner_user_id != actor.id:
                email = None
            out.append({"ActionID": action.id, "JourneyID": journey.id, "JourneyName": journey.name,
                        "EmailName": email.email_name if email else "", "Subject": email.subject if email else "",
                        "OrderNo": action.order_no, "Published": bool(action.published)})
        return out


def _email_id(action: JourneyAction) -> int:
    try:
        return int(json.loads(action.parameters or "{}").get("EmailID") or 0)
    except (ValueError, TypeError, AttributeError):
        return 0


def benchmark(session, owner_id: int, start, end) -> dict:
    """Account.Journey.Benchmark: rates over every journey of the owner, ledger rows due in [start, end).
    Each rate is the owner's total over the total sent, which is the send-weighted mean of the journeys'
    rates. No revenue is tracked: RevenuePerSubscriber is 0."""
    f, journeys = E.account_totals(session, owner_id, start, end)
    sent = f["Sent"]
    return {"OpenRate": E.rate(f["Opened"], sent), "ClickRate": E.rate(f["Clicked"], sent),
            "ClickToOpenRate": E.rate(f["Clicked"], f["Opened"]), "BounceRate": E.rate(f["Bounced"], sent),
            "UnsubscribeRate": E.rate(f["Unsubscribed"], sent), "ComplaintRate": E.rate(f["Complained"], sent),
            "RevenuePerSubscriber": 0.0, "JourneyCount": journeys, "TotalSent": sent}
