"""AutoResponder.SendTest, AutoResponder.Activity.Get and AutoResponder.Stats.Window.Get
(v5.9.4 autoresponders.md). Codes are lists of numbers, as these pages show them; codes the pages
lack are Sendmill's additions (README, "Error codes Sendmill adds")."""
from __future__ import annotations

from marshmallow import validates_schema

from engine.automation.activity import ACTIVITY_STATUSES, MAX_WINDOW_DAYS
from engine.automation.errors import AllRecipientsFailed, AutoResponderNotFound, SendTestRateLimited
from engine.automation.send_test import MAX_RECIPIENTS, NoAutoResponderEmail
from engine.errors import SubscriberNotFound
from engine.validation import normalize_email
from protocol.command import Command, Context
from protocol.commands.subscriber_params import LegacyDateTime
from protocol.params import Choice, Id, Int, LegacyField, LegacySchema, ParamError
from protocol.views.autoresponders import activity_row, window

OK = {"ErrorText": ""}
DEFAULT_PAGE, MAX_PAGE = 50, 200


# --- AutoResponder.SendTest --------------------------------------------------------------------
class Addresses(LegacyField):
    """Comma-separated addresses (or a list of them), blanks dropped."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        items = value if isinstance(value, list) else self._scalar_text(value).split(",")
        return [text for text in (self._scalar_text(item).strip() for item in items) if text]


class SendTestParams(LegacySchema):
    AutoResponderID = Id(required=True, code=1, invalid_code=3)
    Recipients = Addresses(required=True, code=2, invalid_code=8)
    SubscriberID = Id(code=7)

    @validates_schema
    def addresses(self, data, **kwargs):
        chosen: dict[str, str] = {}
        for address in data["Recipients"]:
            normalized = normalize_email(address)
            if normalized is None:
                raise ParamError(8, f"Invalid recipient email address: {address}"[:300])
            chosen.setdefault(normalized, address)
        if not chosen:
            raise ParamError(9, "no recipients provided")
        if len(chosen) > MAX_RECIPIENTS:
            raise ParamError(10, f"{len(chosen)} recipients; at most {MAX_RECIPIENTS} per call")
        data["Recipients"] = list(chosen.values())


def send_test(ctx: Context, p: dict) -> dict:
    result = ctx.uow.autoresponder_tests.send(ctx.actor, p["AutoResponderID"], p["Recipients"], p.get("SubscriberID"))
    return {"RecipientsAttempted": result.attempted, "RecipientsAccepted": result.accepted,
            "RecipientFailures": [{"Recipient": r, "Error": e} for r, e in result.failures]}


AUTORESPONDER_SEND_TEST = Command(
    name="AutoResponder.SendTest", run=send_test, params=SendTestParams, permission="AutoResponder.Update",
    success_extra=OK,
    errors={
        1: "Missing required parameter autoresponderid",
        2: "Missing required parameter recipients",
        3: "Invalid auto responder id (not found or access denied)",
        4: "Auto responder is not linked to an email",
        5: "Auto responder email not found",
        6: "Auto responder list not found",
        7: "Invalid subscriber id (does not belong to this list)",
        8: "Invalid recipient email address",
        9: "No recipients provided",
        10: "Too many recipients (max 5 per call)",
        11: "All recipients failed delivery",
        99: "NOT AVAILABLE IN DEMO MODE",
        429: "Rate limit exceeded",  # the documented global code (protocol.md §1.7), with RetryAfter
    },
    raises={AutoResponderNotFound: 3, NoAutoResponderEmail: 4, SubscriberNotFound: 7, AllRecipientsFailed: 11,
            SendTestRateLimited: 429},
)


# --- AutoResponder.Activity.Get ----------------------------------------------------------------
class ActivityParams(LegacySchema):
    AutoResponderID = Id(required=True, code=1, invalid_code=2)
    RecordsPerRequest = Int(min_value=1, max_value=MAX_PAGE, code=3)
    RecordsFrom = Int(min_value=0, code=3)
    Since = LegacyDateTime(code=3)
    Status = Choice(ACTIVITY_STATUSES, code=3)


def activity(ctx: Context, p: dict) -> dict:
    rows, total = ctx.uow.autoresponder_activity.activity(
        ctx.actor, p["AutoResponderID"], since=p.get("Since"), status=p.get("Status"),
        offset=p.get("RecordsFrom", 0), limit=p.get("RecordsPerRequest", DEFAULT_PAGE))
    return {"TotalSendCount": total, "Activity": [activity_row(r) for r in rows]}


AUTORESPONDER_ACTIVITY_GET = Command(
    name="AutoResponder.Activity.Get", run=activity, params=ActivityParams, permission="AutoResponder.Get",
    success_extra=OK,
    errors={1: "Missing required parameter autoresponderid",
            2: "Invalid auto responder id (not found or access denied)",
            # Sendmill's addition:
            3: f"Invalid filter (RecordsPerRequest 1-{MAX_PAGE}, RecordsFrom 0 or more, Since Y-m-d[ H:i:s], "
               f"Status one of {', '.join(ACTIVITY_STATUSES)})"},
    raises={AutoResponderNotFound: 2},
)


# --- AutoResponder.Stats.Window.Get ------------------------------------------------------------
class WindowParams(LegacySchema):
    AutoResponderID = Id(required=True, code=1, invalid_code=2)
    WindowDays = Int(min_value=1, max_value=MAX_WINDOW_DAYS, code=3)


def window_stats(ctx: Context, p: dict) -> dict:
    return window(ctx.uow.autoresponder_activity.window_stats(ctx.actor, p["AutoResponderID"],
                                                              p.get("WindowDays", 30)))


AUTORESPONDER_STATS_WINDOW_GET = Command(
    name="AutoResponder.Stats.Window.Get", run=window_stats, params=WindowParams, permission="AutoResponder.Get",
    success_extra=OK,
    errors={1: "Missing required parameter autoresponderid",
            2: "Invalid auto responder id (not found or access denied)",
            3: f"Invalid WindowDays (1 to {MAX_WINDOW_DAYS})"},  # 3: Sendmill's addition
    raises={AutoResponderNotFound: 2},
)

COMMANDS = (AUTORESPONDER_ACTIVITY_GET, AUTORESPONDER_SEND_TEST, AUTORESPONDER_STATS_WINDOW_GET)
