"""The list analytics commands of v5.9.4 lists.md: Lists.Stats, List.GetActivitySeries, List.GetBounceTrend,
List.GetSubscriberStatusBreakdown, List.GetEngagementTiers, List.GetSendTimeHeatmap, List.GetESPBreakdown,
List.GetTenureDistribution, List.GetCTRRetentionMatrix, List.GetSourceBreakdown. (Lists.Overview is in
list_overview.py.)

A list that is missing, not numeric or not the caller's answers 99997, as the pages document it; the
pages whose validator reports a missing ListID as [1] get list-shaped codes. Lookback windows are clamped,
and out-of-range or unreadable values take the default, as the pages say (Window fields).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from marshmallow.utils import missing

from engine.audience.list_engagement import TierCutoffs
from engine.errors import ListNotFound
from protocol.command import LIST, SCALAR, Command, Context
from protocol.params import Choice, Id, IdList, Int, LegacySchema

NOT_OWNED = "Subscriber list does not exist or is not owned by the authenticated user"
OK = {"ErrorText": ""}


class Window(Int):
    """A lookback or size: clamped to [1, high]; missing, unreadable or not positive → the default."""

    def __init__(self, default: int, high: int, **kwargs):
        super().__init__(lenient=True, load_default=default, **kwargs)
        self.default, self.high = default, high

    def deserialize(self, value, attr=None, data=None, **kwargs):
        number = super().deserialize(value, attr, data, **kwargs)
        if number is missing or number is None or number < 1:
            return self.default
        return min(number, self.high)


def _rate(part: int, whole: int, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def _as_of(ctx: Context) -> str:
    return ctx.now.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def weighted_rates(figures) -> dict:
    """The subscriber-weighted averages of Lists.Stats (and User.Stats' 30-day ones)."""
    sent = sum(f.active * f.sent for f in figures)
    opened = sum(f.active * f.unique_opens for f in figures)
    return {"WeightedAvgOpenRate": _rate(opened, sent),
            "WeightedAvgClickRate": _rate(sum(f.active * f.unique_clicks for f in figures), sent),
            "WeightedAvgCTOR": _rate(sum(f.active * f.unique_clicks for f in figures if f.unique_opens), opened),
            # Forwards and browser views are not tracked per person: 0 of what was sent.
            "WeightedAvgForwardRate": _rate(0, sent), "WeightedAvgBrowserViewRate": _rate(0, sent)}


# --- Lists.Stats -------------------------------------------------------------------------------
class StatsParams(LegacySchema):
    Days = Window(30, 365)
    ListIDs = IdList(lenient=True)


def lists_stats(ctx: Context, p: dict) -> dict:
    figures = ctx.uow.list_analytics.stats(ctx.actor, p["Days"], p.get("ListIDs"))
    rows = [{"ListID": f.list_id, "Name": f.name, "ActiveSubscriberCount": f.active, "SegmentCount": f.segments,
             "LastActivityAt": f.last_activity_at, "UniqueOpens": f.unique_opens, "UniqueClicks": f.unique_clicks,
             "UniqueForwards": 0, "UniqueBrowserViews": 0, "TotalSent": f.sent, "NetGrowth": f.net_growth,
             "OpenRate": _rate(f.unique_opens, f.sent), "ClickRate": _rate(f.unique_clicks, f.sent),
             "ForwardRate": _rate(0, f.sent), "BrowserViewRate": _rate(0, f.sent),
             "CTOR": _rate(f.unique_clicks, f.unique_opens)} for f in figures]
    return {"Days": p["Days"], "TotalListCount": len(rows), **weighted_rates(figures), "Lists": rows}


LISTS_STATS = Command(name="Lists.Stats", run=lists_stats, params=StatsParams, permission="Lists.Get",
                      success_extra=OK, read_only=True)


# --- single-list reports -----------------------------------------------------------------------
def one_list(**windows):
    """Parameters of a report on one list: ListID (99997 when missing or unreadable) and its windows."""
    return LegacySchema.from_dict({"ListID": Id(required=True, code=99997), **windows})


def one_list_counted(**fields):
    """The same, for the pages whose validator answers a missing ListID as [1]."""
    return LegacySchema.from_dict({"ListID": Id(required=True, code=1, invalid_code=99997), **fields})


def report(name: str, run, params, *, errors: dict | None = None, shape: str = SCALAR) -> Command:
    return Command(name=name, run=run, params=params, permission="List.Get", error_shape=shape, success_extra=OK,
                   read_only=True, errors={**(errors or {}), 99997: NOT_OWNED}, raises={ListNotFound: 99997})


def activity_series(ctx: Context, p: dict) -> dict:
    first = ctx.now.date() - timedelta(days=p["Days"] - 1)
    days = ctx.uow.list_analytics.daily(ctx.actor, p["ListID"], first)
    return {"ListID": p["ListID"], "Days": p["Days"], "Series": [
        {"Date": day, "Subscriptions": d.subscriptions, "Unsubscriptions": d.unsubscriptions, "Imports": d.imports,
         "SoftBounces": d.soft_bounces, "HardBounces": d.hard_bounces,
         "NetGrowth": d.subscriptions + d.imports - d.unsubscriptions - d.hard_bounces} for day, d in days.items()]}


def bounce_trend(ctx: Context, p: dict) -> dict:
    today = ctx.now.date()
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=p["Weeks"] - 1)
    weeks: dict[str, dict] = {str(first + timedelta(weeks=n)): dict.fromkeys(
        ("TotalSent", "HardBounces", "SoftBounces", "Complaints"), 0) for n in range(p["Weeks"])}
    for day, d in ctx.uow.list_analytics.daily(ctx.actor, p["ListID"], first, with_sends=True).items():
        moment = datetime.strptime(day, "%Y-%m-%d").date()
        week = weeks[str(moment - timedelta(days=moment.weekday()))]
        week["TotalSent"] += d.sent
        week["HardBounces"] += d.hard_bounces
        week["SoftBounces"] += d.soft_bounces
        week["Complaints"] += d.complaints
    pct = lambda n, sent: round(n * 100 / sent, 2) if sent else None  # noqa: E731
    return {"ListID": p["ListID"], "Weeks": p["Weeks"], "Series": [
        {"WeekStart": start, **w, "HardBouncePct": pct(w["HardBounces"], w["TotalSent"]),
         "SoftBouncePct": pct(w["SoftBounces"], w["TotalSent"]), "ComplaintPct": pct(w["Complaints"], w["TotalSent"])}
        for start, w in weeks.items()]}


def status_breakdown(ctx: Context, p: dict) -> dict:
    counts = ctx.uow.list_analytics.status_breakdown(ctx.actor, p["ListID"])
    return {"ListID": p["ListID"], "Counts": counts, "Total": sum(counts.values())}


TIER_WINDOWS = {"ChampionDays": (14, 365), "EngagedDays": (30, 365), "PassiveEndDays": (60, 730),
                "LapsedEndDays": (120, 1825), "NeverEngagedJoinedDays": (30, 365)}


def engagement_tiers(ctx: Context, p: dict) -> dict:
    chosen = {name: p[name] for name in TIER_WINDOWS}
    order = [chosen[n] for n in ("ChampionDays", "EngagedDays", "PassiveEndDays", "LapsedEndDays")]
    if order != sorted(order):  # overlapping or inverted tiers: every override goes back to its default
        chosen = {name: default for name, (default, _) in TIER_WINDOWS.items()}
    tiers = ctx.uow.list_engagement.tiers(ctx.actor, p["ListID"], TierCutoffs(*chosen.values()))
    return {"ListID": p["ListID"], "AsOf": _as_of(ctx), "Overrides": chosen, "Tiers": tiers,
            "Total": sum(tiers.values())}


def heatmap(ctx: Context, p: dict) -> dict:
    event = p.get("Event", "open")
    grid = ctx.uow.list_engagement.heatmap(ctx.actor, p["ListID"], p["Days"], event)
    return {"ListID": p["ListID"], "Days": p["Days"], "Event": event, "AsOf": _as_of(ctx), "Grid": grid}


def esp_breakdown(ctx: Context, p: dict) -> dict:
    ranked = ctx.uow.list_engagement.domains(ctx.actor, p["ListID"], p["Event"])
    total = sum(n for _, n in ranked)
    kept = ranked[:p["Top"]]
    rest = total - sum(n for _, n in kept)
    if rest:
        kept.append(("Other", rest))
    return {"ListID": p["ListID"], "Event": p["Event"], "Top": p["Top"], "AsOf": _as_of(ctx), "Total": total,
            "Domains": [{"Domain": d, "Count": n, "Pct": round(n * 100 / total, 2) if total else None}
                        for d, n in kept]}


def tenure(ctx: Context, p: dict) -> dict:
    buckets = ctx.uow.list_analytics.tenure(ctx.actor, p["ListID"])
    return {"ListID": p["ListID"], "AsOf": _as_of(ctx), "Buckets": buckets, "Total": sum(buckets.values())}


def ctr_retention(ctx: Context, p: dict) -> dict:
    rows = ctx.uow.list_engagement.ctr_retention(ctx.actor, p["ListID"], p["LastNCampaigns"], p["CohortDepth"])
    return {"ListID": p["ListID"], "LastNCampaigns": p["LastNCampaigns"], "CohortDepth": p["CohortDepth"],
            "AsOf": _as_of(ctx), "Campaigns": [
                {"CampaignID": r.campaign_id, "CampaignName": r.name, "SentAt": r.sent_at,
                 "BaseClickers": r.base_clickers, "Retention": r.retention} for r in rows]}


def source_breakdown(ctx: Context, p: dict) -> dict:
    buckets, series, refs = ctx.uow.list_analytics.sources(ctx.actor, p["ListID"])
    return {"ListID": p["ListID"], "AsOf": _as_of(ctx), "Buckets": buckets, "Total": sum(buckets.values()),
            "Series": [{"Month": m, "SubscriptionSource": s, "Count": n} for m, s, n in series],
            "OtherRefs": [{"Ref": ref, "Count": n} for ref, n in refs] if buckets["Other"] else []}


LIST_ACTIVITY_SERIES = report("List.GetActivitySeries", activity_series, one_list(Days=Window(30, 365)))
LIST_BOUNCE_TREND = report("List.GetBounceTrend", bounce_trend, one_list(Weeks=Window(6, 26)))
LIST_STATUS_BREAKDOWN = report("List.GetSubscriberStatusBreakdown", status_breakdown, one_list())
LIST_ENGAGEMENT_TIERS = report("List.GetEngagementTiers", engagement_tiers, one_list(
    **{name: Window(default, high) for name, (default, high) in TIER_WINDOWS.items()}))
LIST_SEND_TIME_HEATMAP = report(
    "List.GetSendTimeHeatmap", heatmap,
    one_list_counted(Days=Window(90, 365), Event=Choice(("open", "click"), code=2)), shape=LIST,
    errors={1: "ListID is missing", 2: "Unsupported Event value. Allowed values: open, click"})
LIST_ESP_BREAKDOWN = report(
    "List.GetESPBreakdown", esp_breakdown,
    one_list_counted(Event=Choice(("subscribers", "opens", "clicks", "unsubscriptions"), required=True, code=2),
                     Top=Window(30, 1000)), shape=LIST,
    errors={1: "ListID is missing",
            2: "Unsupported Event value. Allowed values: subscribers, opens, clicks, unsubscriptions"})
LIST_TENURE_DISTRIBUTION = report("List.GetTenureDistribution", tenure, one_list_counted(), shape=LIST,
                                  errors={1: "Missing subscriber list ID"})
LIST_CTR_RETENTION_MATRIX = report(
    "List.GetCTRRetentionMatrix", ctr_retention,
    one_list_counted(LastNCampaigns=Window(10, 50), CohortDepth=Window(7, 50)), shape=LIST,
    errors={1: "ListID is missing"})
LIST_SOURCE_BREAKDOWN = report("List.GetSourceBreakdown", source_breakdown, one_list_counted(), shape=LIST,
                               errors={1: "ListID is missing"})

COMMANDS = (LISTS_STATS, LIST_ACTIVITY_SERIES, LIST_BOUNCE_TREND, LIST_STATUS_BREAKDOWN, LIST_ENGAGEMENT_TIERS,
            LIST_SEND_TIME_HEATMAP, LIST_ESP_BREAKDOWN, LIST_TENURE_DISTRIBUTION, LIST_CTR_RETENTION_MATRIX,
            LIST_SOURCE_BREAKDOWN)
COMMANDS_BY_NAME = {command.name: command for command in COMMANDS}
