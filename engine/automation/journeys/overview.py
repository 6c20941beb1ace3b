"""Journey.Get's and Journey.List's `JourneyStats` (journeys.md): how many are in the journey, what its
mail did over all time (AggregatedEmailActions) and per local day of the stats window
(AggregatedDaysEmailActions), its revenue, and the optional activity counters.

Journey.List builds the block for a whole page of journeys with a fixed number of grouped statements
(enrollment counts, all-time figures, per-day figures; two more for the activity counters), never one per
journey. Sendmill observes no revenue (the RevenueHit and EmailConversion triggers are refused, there is no
conversion pixel): TotalRevenue and every Revenue are 0.0 and DaysRevenue is the window's days, each with
Amount 0.0, in the documented shapes, so a client charting them gets a continuous, empty axis.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from engine.automation.journeys import engagement as E
from engine.automation.journeys.days import Days, local_days, owner_zone
from engine.models import JourneyEnrollment, JourneyStep

DAY_FIGURES = (("SendCount", "Sent"), ("DeliveryCount", "Delivered"), ("OpenCount", "Opened"),
               ("ClickCount", "Clicked"), ("BounceCount", "Bounced"), ("UnsubscribeCount", "Unsubscribed"),
               ("SpamComplaintCount", "Complained"))


class JourneyOverview:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def days(self, owner_id: int, start: date, end: date) -> Days:
        return local_days(start, end, owner_zone(self.s, owner_id))

    def journey_stats(self, owner_id: int, journey_ids: list[int], start: date, end: date, *,
                      activity: bool = False, action_id: int | None = None, isp: str | None = None) -> dict[int, dict]:
        """journey ID → its JourneyStats block (`action_id` / `isp` narrow the mail figures: Journey.Get)."""
        days = self.days(owner_id, start, end)
        counts = self.uow.journeys.enrollment_counts(journey_ids)
        if action_id is None and isp is None:
            lifetime = {j: aggregated(f) for j, f in E.lifetime_by_journey(self.s, journey_ids).items()}
        else:
            lifetime = {j: aggregated(E.lifetime(self.s, j, action_id, isp)) for j in journey_ids}
        per_day = E.per_journey_day(self.s, journey_ids, days, action_id=action_id, isp=isp)
        counters = self.activity_counters(journey_ids) if activity else {}
        out = {}
        for j in journey_ids:
            active, total = counts[j]
            out[j] = {"ActiveSubscribers": active, "TotalSubscribers": total, **counters.get(j, {}),
                      "AggregatedEmailActions": lifetime[j],
                      "AggregatedDaysEmailActions": daily(days, per_day.get(j, {})),
                      "TotalRevenue": 0.0, "DaysRevenue": days_revenue(days)}
        return out

    def activity_counters(self, journey_ids: list[int]) -> dict[int, dict]:
        """LastTriggeredAt, LastActivityAt, TotalEnrolledLifetime (journeys.md, IncludeActivityCounters): two
        grouped statements for any number of journeys."""
        if not journey_ids:
            return {}
        entered = {j: (last, distinct) for j, last, distinct in self.s.execute(
            select(JourneyEnrollment.journey_id, func.max(JourneyEnrollment.created_at),
                   func.count(func.distinct(JourneyEnrollment.subscriber_id)))
            .where(JourneyEnrollment.journey_id.in_(journey_ids)).group_by(JourneyEnrollment.journey_id))}
        stepped = dict(self.s.execute(select(JourneyStep.journey_id, func.max(JourneyStep.created_at))
                                      .where(JourneyStep.journey_id.in_(journey_ids))
                                      .group_by(JourneyStep.journey_id)).all())
        out = {}
        for j in journey_ids:
            last, distinct = entered.get(j, (None, 0))
            out[j] = {"LastTriggeredAt": _when(last), "LastActivityAt": _when(stepped.get(j)),
                      "TotalEnrolledLifetime": int(distinct or 0)}
        return out


def aggregated(f: dict) -> dict:
    """AggregatedEmailActions' eleven keys. No conversions, forwards or revenue are recorded: those are 0."""
    return {"SendCount": f["Sent"], "DeliveryCount": f["Delivered"], "OpenCount": f["Opened"],
            "ClickCount": f["Clicked"], "BounceCount": f["Bounced"], "UnsubscribeCount": f["Unsubscribed"],
            "SpamComplaintCount": f["Complained"], "TotalRevenue": 0.0, "ConversionCount": 0,
            "BrowserViewCount": f["BrowserViews"], "ForwardCount": 0}


def daily(days: Days, per_day: dict[str, dict]) -> list[dict]:
    """One entry per day of the window, zero-filled, ascending."""
    return [{"Date": d, **{wire: per_day.get(d, E.EMPTY)[name] for wire, name in DAY_FIGURES}, "TotalRevenue": 0.0}
            for d in days.names]


def days_revenue(days: Days) -> list[dict]:
    return [{"Date": d, "Amount": 0.0} for d in days.names]


def _when(value):
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else None
