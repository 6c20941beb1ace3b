"""Journey.CopyToUser (administrators) and Account.Journey.Benchmark (v5.9.4 journeys.md)."""
from __future__ import annotations

from engine.automation.journeys.copying import SourceUserNotFound, TargetUserNotFound
from engine.errors import JourneyNotFound
from protocol.command import ADMIN, V1, Command, Context
from protocol.commands.journey_params import StrictDate, window
from protocol.params import Id, LegacySchema, Text


class CopyParams(LegacySchema):
    JourneyID = Id(required=True, code=1, invalid_code=4)
    SourceUserID = Id(required=True, code=2, invalid_code=5)
    TargetUserID = Id(required=True, code=3, invalid_code=6)
    NewJourneyName = Text(max_length=255, code=11)


def copy_to_user(ctx: Context, p: dict) -> dict:
    from engine.automation.journeys.copying import copy_to_user as copy

    return copy(ctx.uow, p["JourneyID"], p["SourceUserID"], p["TargetUserID"], p.get("NewJourneyName"))


JOURNEY_COPY_TO_USER = Command(
    name="Journey.CopyToUser", run=copy_to_user, params=CopyParams, auth=ADMIN, error_shape=V1,
    errors={1: "Missing JourneyID parameter", 2: "Missing SourceUserID parameter", 3: "Missing TargetUserID parameter",
            4: "Invalid JourneyID (non-numeric)", 5: "Invalid SourceUserID (non-numeric)",
            6: "Invalid TargetUserID (non-numeric)", 7: "Source user not found", 8: "Target user not found",
            9: "Journey not found for source user", 10: "Failed to create journey",
            11: "Invalid NewJourneyName (at most 255 characters)"},  # 11: Sendmill's addition
    raises={SourceUserNotFound: 7, TargetUserNotFound: 8, JourneyNotFound: 9},
)


class BenchmarkParams(LegacySchema):
    StartDate = StrictDate(code=1)
    EndDate = StrictDate(code=2)


def benchmark(ctx: Context, p: dict) -> dict:
    first, last = window(p, ctx.uow.journey_stats.today(ctx.actor, ctx.now), "StartDate", "EndDate", 3)
    return {"StartDate": first.isoformat(), "EndDate": last.isoformat(),
            "Benchmark": ctx.uow.journey_stats.benchmark(ctx.actor, first, last)}


ACCOUNT_JOURNEY_BENCHMARK = Command(
    name="Account.Journey.Benchmark", run=benchmark, params=BenchmarkParams, permission="Campaign.Create",
    error_shape=V1, read_only=True,
    errors={1: "Invalid StartDate format", 2: "Invalid EndDate format", 3: "StartDate must not be after EndDate"},
)

COMMANDS = (JOURNEY_COPY_TO_USER, ACCOUNT_JOURNEY_BENCHMARK)
