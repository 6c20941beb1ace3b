"""User.Stats, User.Usage.Get and Users.Usage.Get (v5.9.4 users.md). Codes the pages lack are Sendmill's
additions (README, "Error codes Sendmill adds")."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from marshmallow import ValidationError

from engine.accounts.email_account import month_window
from engine.accounts.usage import AGGREGATIONS, period_key
from engine.errors import UserNotFound
from protocol.command import ADMIN, ERRORS, LIST, SCALAR, Command, Context
from protocol.commands.list_reports import weighted_rates
from protocol.params import Choice, Id, IdList, LegacyField, LegacySchema, ParamError, Text

MAX_DAYS = 5 * 366
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?")
SOURCE = "subscribers (live count)"
DEFINITION = "SubscribedNotHardBounced,ArchivedExcluded"


class Day(LegacyField):
    """A day as YYYY-MM-DD (a time after it, as YYYY-MM-DD HH:MM:SS, is accepted and ignored)."""

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        text = self._scalar_text(value).strip()
        try:
            if not _DAY.fullmatch(text):
                raise ValueError(text)
            return date.fromisoformat(text[:10])
        except ValueError:
            raise ValidationError("must be YYYY-MM-DD")


def _window(p: dict, invalid: int) -> tuple[datetime, datetime]:
    """[first instant of StartDate, first instant after EndDate) in UTC."""
    start, end = p["StartDate"], p["EndDate"]
    if end < start or (end - start).days >= MAX_DAYS:
        raise ParamError(invalid, f"EndDate must not be before StartDate, and the range at most {MAX_DAYS} days")
    utc = lambda d: datetime(d.year, d.month, d.day, tzinfo=timezone.utc)  # noqa: E731
    return utc(start), utc(end) + timedelta(days=1)


def _periods(start: datetime, end: datetime, aggregation: str) -> list[str]:
    keys = (period_key(str((start + timedelta(days=n)).date()), aggregation) for n in range((end - start).days))
    return list(dict.fromkeys(keys))


# --- User.Stats --------------------------------------------------------------------------------
class StatsParams(LegacySchema):
    StartDate = Day(required=True, code=1, invalid_code=5)
    EndDate = Day(required=True, code=2, invalid_code=5)
    Aggregation = Choice(("daily", "weekly", "monthly"), required=True, code=3, invalid_code=4)


def user_stats(ctx: Context, p: dict) -> dict:
    start, end = _window(p, 5)
    usage, aggregation = ctx.uow.usage, p["Aggregation"]
    lists, active, segments = usage.totals(ctx.actor)
    recent = ctx.uow.list_analytics.stats(ctx.actor, 30)
    rates = weighted_rates(recent)
    answer = {"NumberOfLists": lists, "TotalActiveLists": lists, "TotalActiveSubscribers": active,
              "TotalSegments": segments, "AvgOpenRate30dWeighted": rates["WeightedAvgOpenRate"],
              "AvgClickRate30dWeighted": rates["WeightedAvgClickRate"], "AvgCTOR30dWeighted": rates["WeightedAvgCTOR"],
              "AvgForwardRate30dWeighted": rates["WeightedAvgForwardRate"],
              "AvgBrowserViewRate30dWeighted": rates["WeightedAvgBrowserViewRate"]}
    for title, days in usage.series(ctx.actor, start, end).items():
        folded = dict.fromkeys(_periods(start, end, aggregation), 0)   # every period, for a chart
        for day, n in days.items():
            folded[period_key(day, aggregation)] += n
        answer[title] = folded
    return answer


USER_STATS = Command(
    name="User.Stats", run=user_stats, params=StatsParams, permission="", error_shape=ERRORS, read_only=True,
    errors={1: "Missing StartDate parameter", 2: "Missing EndDate parameter", 3: "Missing Aggregation parameter",
            4: "Invalid Aggregation value (must be 'daily', 'weekly', or 'monthly')",
            5: f"Invalid StartDate/EndDate (YYYY-MM-DD, EndDate not before StartDate, at most {MAX_DAYS} days)",
            6: "Statistics retrieval error"},
)


# --- User.Usage.Get ----------------------------------------------------------------------------
class UsageParams(LegacySchema):
    UserID = Id(required=True, code=1, invalid_code=2)


def user_usage(ctx: Context, p: dict) -> dict:
    usage = ctx.uow.usage
    user = usage.user(p["UserID"])
    account = ctx.uow.email_account.details(user.id)
    start, end, _ = month_window(ctx.now)
    last = (end - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    f = usage.features(user.id)
    in_use = lambda n, **more: {"InUse": n > 0, "Count": n, **more}  # noqa: E731
    return {
        "UserID": user.id,
        "Periods": {"EmailSend": {"Type": "CalendarMonth", "Start": start, "End": last},
                    # Sendmill keeps no payment log: both allowances run on the calendar month.
                    "CampaignSend": {"Type": "CalendarMonth", "Start": start, "End": last}},
        "Usage": {
            "ActiveSubscribers": {"Value": usage.active_subscribers([user.id]).get(user.id, 0), "Source": SOURCE,
                                  "AsOf": None, "MaxStalenessSeconds": 0, "Definition": DEFINITION},
            "EmailsSentInPeriod": {"Value": account.emails_used, "Source": "email_marketing_accounts.emails_used",
                                   "MaxStalenessSeconds": 0, "Period": "EmailSend"},
            "CampaignsSentInPeriod": {"Value": account.campaigns_used,
                                      "Source": "email_marketing_accounts.campaigns_used", "MaxStalenessSeconds": 0,
                                      "Period": "CampaignSend"}},
        "Features": {"Campaigns": in_use(f.campaigns), "Journeys": in_use(0, ActiveCount=0),
                     "SendingDomains": in_use(f.sending_domains), "EmailGatewayAPIKeys": in_use(0),
                     "UserAPIKeys": in_use(f.api_keys), "AutoResponders": in_use(f.autoresponders),
                     "Lists": in_use(f.lists), "Segments": in_use(f.segments)}}


USER_USAGE_GET = Command(
    name="User.Usage.Get", run=user_usage, params=UsageParams, auth=ADMIN, error_shape=LIST, read_only=True,
    errors={1: "Missing UserID parameter", 2: "Invalid UserID (must be a positive integer)", 3: "User not found",
            4: "A feature-usage count query failed (usage temporarily unavailable — do not treat missing counts "
               "as zero)"},
    raises={UserNotFound: 3},
)


# --- Users.Usage.Get ---------------------------------------------------------------------------
class BulkUsageParams(LegacySchema):
    StartDate = Day(required=True, code=1, invalid_code=5)
    EndDate = Day(required=True, code=2, invalid_code=5)
    UserIDs = IdList(code=6)
    Aggregation = Choice(AGGREGATIONS, code=3)
    Metrics = Text(code=4)


def users_usage(ctx: Context, p: dict) -> dict:
    metrics = [m.strip().lower() for m in p.get("Metrics", "sent_emails").split(",") if m.strip()]
    if any(m != "sent_emails" for m in metrics):
        raise ParamError(4, "Unsupported metric; supported: sent_emails")
    start, end = _window(p, 5)
    aggregation, requested = p.get("Aggregation", "daily"), p.get("UserIDs")
    usage = ctx.uow.usage
    sent = usage.emails_sent_by_day(start, end, requested)
    active = usage.active_subscribers(requested)
    users = {}
    for user_id in requested if requested is not None else sorted(set(sent) | {u for u, n in active.items() if n}):
        series: dict[str, int] = {}
        for day, n in sorted(sent.get(user_id, {}).items()):
            key = period_key(day, aggregation)
            series[key] = series.get(key, 0) + n
        users[str(user_id)] = {
            "UserID": user_id, "Metrics": {"sent_emails": series} if series else {},
            "TotalSentEmails": sum(series.values()),
            "TotalActiveSubscribers": {"Value": active.get(user_id, 0), "Source": SOURCE, "Definition": DEFINITION,
                                       "MaxStalenessSeconds": 0}}
    return {"Aggregation": aggregation, "StartDate": start, "EndDate": end - timedelta(seconds=1),
            "Metrics": ["sent_emails"], "UserCount": len(users), "Users": users}


USERS_USAGE_GET = Command(
    name="Users.Usage.Get", run=users_usage, params=BulkUsageParams, auth=ADMIN, error_shape=SCALAR,
    error_text_key="ErrorMessage", read_only=True,
    errors={1: "Missing StartDate parameter", 2: "Missing EndDate parameter",
            3: "Unsupported aggregation; supported: daily, weekly, monthly, yearly",
            4: "Unsupported metric value", 5: "Invalid StartDate/EndDate format",
            6: "UserIDs must be a comma-separated list of user IDs"},  # 6: Sendmill's addition
)

COMMANDS = (USER_STATS, USER_USAGE_GET, USERS_USAGE_GET)
