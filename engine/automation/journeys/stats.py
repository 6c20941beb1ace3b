"""What the step log and the send ledger say about journeys: activity counters, per-action figures."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, func, or_, select, union

from engine.errors import JourneyActionNotFound
from engine.models import (
    Email, Journey, JourneyAction, JourneyEnrollment, JourneySend, JourneyStep, Subscriber, Suppression,
)

# Journey mails are not tracked yet (README "Journeys"): these filters match nobody, and the
# engagement counters are 0.
UNTRACKED = {"opened", "clicked", "converted", "browser_viewed", "forwarded"}


class JourneyStats:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def benchmark(self, actor, start, end) -> dict:
        return benchmark(self.s, actor.id, start, end)

    def activity_counters(self, journey_id: int) -> dict:
        """LastTriggeredAt, LastActivityAt, TotalEnrolledLifetime (journeys.md, IncludeActivityCounters)."""
        last_enrolled, distinct = self.s.execute(
            select(func.max(JourneyEnrollment.created_at), func.count(func.distinct(JourneyEnrollment.subscriber_id)))
            .where(JourneyEnrollment.journey_id == journey_id)).one()
        last_step = self.s.scalar(select(func.max(JourneyStep.created_at)).where(JourneyStep.journey_id == journey_id))
        return {"LastTriggeredAt": _when(last_enrolled), "LastActivityAt": _when(last_step),
                "TotalEnrolledLifetime": int(distinct or 0)}

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
        reached = union(select(JourneyStep.subscriber_id.label("sid")).where(JourneyStep.action_id == action_id),
                        select(JourneyEnrollment.subscriber_id.label("sid")).where(
                            JourneyEnrollment.current_action_id == action_id, JourneyEnrollment.state == "active")
                        ).subquery()
        s = Subscriber
        suppressed = select(Suppression.id).where(
            Suppression.owner_user_id == journey.owner_user_id, Suppression.email_normalized == s.email_normalized,
            or_(Suppression.list_id.is_(None), Suppression.list_id == s.list_id)).exists()
        conditions = [self._filter(name, s) for name in filters]
        query = select(s.id, s.email_address, suppressed).join(reached, reached.c.sid == s.id)
        if conditions:
            query = query.where(and_(*conditions) if operator == "AND" else or_(*conditions))
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        column = s.id if order == "SubscriberID" else s.email_address
        rows = self.s.execute(query.order_by(column.desc() if descending else column, s.id).offset(offset).limit(limit))
        return [tuple(r) for r in rows], int(total or 0)

    @staticmethod
    def _filter(name: str, s):
        from sqlalchemy import false
        if name == "unsubscribed":
            return s.subscription_status == "Unsubscribed"
        if name == "bounced":
            return s.bounce_type != "Not Bounced"
        if name == "spam_complaint":
            return s.complained_at.is_not(None)
        return false()  # UNTRACKED

    def by_action(self, actor, journey_id: int, start: date, end: date, *, action_id: int | None, isp: str | None):
        journey = self.uow.journeys.get(actor, journey_id)
        actions = [a for a in self.uow.journeys.actions(journey.id) if a.action == "SendEmail"]
        if action_id is not None:
            actions = [a for a in actions if a.id == action_id]
            if not actions:
                raise JourneyActionNotFound("EmailID must be the ActionID of a SendEmail action of this journey")
        since = datetime.combine(start, time(), tzinfo=timezone.utc)
        until = datetime.combine(end + timedelta(days=1), time(), tzinfo=timezone.utc)
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        out = []
        for action in sorted(actions, key=lambda a: (a.order_no, a.id)):
            email_id = int(json.loads(action.parameters or "{}").get("EmailID", 0))
            email = self.s.get(Email, email_id) if email_id else None
            query = (select(func.date(JourneySend.due_at), func.count(),
                            func.sum(func.cast(JourneySend.state == "sent", JourneySend.attempts.type)))
                     .where(JourneySend.action_id == action.id, JourneySend.state != "skipped",
                            JourneySend.due_at >= since, JourneySend.due_at < until)
                     .group_by(func.date(JourneySend.due_at)))
            if isp:
                query = query.where(func.lower(JourneySend.email_address).like(f"%@{isp.lower()}"))
            per_day = {str(d)[:10]: (int(n), int(sent or 0)) for d, n, sent in self.s.execute(query)}
            sends = sum(n for n, _ in per_day.values())
            delivered = sum(sent for _, sent in per_day.values())
            out.append({
                "ActionID": action.id, "Action": "SendEmail", "EmailID": email_id,
                "EmailName": email.email_name if email else "", "OrderNo": action.order_no,
                "Stats": {"SendCount": sends, "DeliveryCount": delivered, "OpenCount": 0, "ClickCount": 0,
                          "BounceCount": 0, "UnsubscribeCount": 0, "SpamComplaintCount": 0, "TotalRevenue": 0.0},
                "DailyStats": [{"Date": d.isoformat(), "SendCount": per_day.get(d.isoformat(), (0, 0))[0],
                                "OpenCount": 0, "ClickCount": 0, "TotalRevenue": 0.0} for d in days],
            })
        return out

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


def _when(value):
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else None


def benchmark(session, owner_id: int, start, end) -> dict:
    """Account.Journey.Benchmark: send-weighted rates over every journey of the owner, ledger rows due in
    [start, end). Opens, clicks, bounces, complaints and revenue are 0 until journey mail is sent and tracked."""
    sent, journeys = session.execute(
        select(func.count(), func.count(func.distinct(JourneySend.journey_id)))
        .join(Journey, Journey.id == JourneySend.journey_id)
        .where(Journey.owner_user_id == owner_id, JourneySend.state != "skipped",
               JourneySend.due_at >= start, JourneySend.due_at < end)).one()
    return {"OpenRate": 0.0, "ClickRate": 0.0, "ClickToOpenRate": 0.0, "BounceRate": 0.0, "UnsubscribeRate": 0.0,
            "ComplaintRate": 0.0, "RevenuePerSubscriber": 0.0, "JourneyCount": int(journeys or 0),
            "TotalSent": int(sent or 0)}


def send_counts(session, journey: Journey, start: datetime, end: datetime) -> list[dict]:
    """Per SendEmail action of the journey: ledger rows due in [start, end) (not skipped) and those sent."""
    rows = dict(((a, (n, sent)) for a, n, sent in session.execute(
        select(JourneySend.action_id, func.count(), func.sum(func.cast(JourneySend.state == "sent", JourneySend.attempts.type)))
        .where(JourneySend.journey_id == journey.id, JourneySend.state != "skipped", JourneySend.due_at >= start,
               JourneySend.due_at < end).group_by(JourneySend.action_id))))
    out = []
    for action in session.scalars(select(JourneyAction).where(JourneyAction.journey_id == journey.id,
                                                              JourneyAction.action == "SendEmail")
                                  .order_by(JourneyAction.order_no, JourneyAction.id)):
        email_id = int(json.loads(action.parameters or "{}").get("EmailID", 0))
        email = session.get(Email, email_id) if email_id else None
        n, sent = rows.get(action.id, (0, 0))
        out.append({"ActionID": action.id, "EmailName": email.email_name if email else "",
                    "SendCount": int(n), "DeliveryCount": int(sent or 0)})
    return out
