"""Scheduling commands: the next-runs preview and the modern publish / reschedule / pause-scheduling
operations (modern-campaign-api.txt), spoken in the legacy /api.php style.

The modern API's one documented failure is "428 Failed Precondition"; here each precondition gets
its own code, and the 30-minute notice rule ("no less than 30 minutes until the sending time") has
one too. Times are ISO 8601 (`2026-11-24T14:43:00Z`, an offset, or no offset = UTC).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from marshmallow import ValidationError

from engine.errors import (
    AccountNotActive, CampaignAlreadyPublished, CampaignNotFound, CampaignNotScheduled, InvalidCampaignStatus,
    ScheduleError, SenderNotAllowed, SendTimeTooSoon, UnknownPersonalizationTags,
)
from protocol.command import SCALAR, Command, Context
from protocol.commands.campaigns import ACCOUNT_NOT_ACTIVE, FROM_NOT_ALLOWED
from protocol.params import Bool, Id, Int, LegacyField, LegacySchema, ParamError
from protocol.views.scheduling import next_runs, schedule_state
from scheduler.tick import display_zone, upcoming_sends


class Instant(LegacyField):
    """An ISO 8601 date and time, returned as an aware UTC datetime (no offset = UTC)."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        text = self._scalar_text(value).strip()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", text,
                            flags=re.IGNORECASE):
            raise ValidationError(f"'{text}' is not an ISO 8601 date and time such as 2026-11-24T14:43:00Z")
        try:
            moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"'{text}' is not a valid date and time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)


# --- Campaign.Schedule.Preview ---------------------------------------------------------------
class PreviewParams(LegacySchema):
    CampaignID = Id(required=True, code=1, invalid_code=2)
    Count = Int(min_value=1, max_value=100, code=3)


def preview(ctx: Context, p: dict) -> dict:
    campaign = ctx.uow.campaigns.get(ctx.actor, p["CampaignID"])
    try:
        zone_name, zone = display_zone(campaign)
        runs = upcoming_sends(campaign, ctx.now, p.get("Count", 10))
    except ValueError as exc:  # a stored schedule the evaluator cannot read
        raise ParamError(4, str(exc)) from None
    return next_runs(zone_name, zone, runs)


CAMPAIGN_SCHEDULE_PREVIEW = Command(
    name="Campaign.Schedule.Preview", run=preview, params=PreviewParams, permission="Campaign.Get",
    error_shape=SCALAR,
    errors={
        1: "Missing required parameter: CampaignID",
        2: "Campaign does not belong to the user or does not exist",
        3: "Count must be a whole number from 1 to 100",
        4: "The campaign's schedule is invalid",
    },
    raises={CampaignNotFound: 2},
)


# --- Campaign.Publish ------------------------------------------------------------------------
class PublishParams(LegacySchema):
    CampaignID = Id(required=True, code=1, invalid_code=2)
    ScheduledAt = Instant(code=3)
    IgnoreUnknownTags = Bool()   # arm even though the content has tags nobody can fill in (code 7)


def publish(ctx: Context, p: dict) -> dict:
    campaign = ctx.uow.scheduling.publish(ctx.actor, p["CampaignID"], p.get("ScheduledAt"),
                                          allow_unknown_tags=p.get("IgnoreUnknownTags", False))
    return schedule_state(campaign)


CAMPAIGN_PUBLISH = Command(
    name="Campaign.Publish", run=publish, params=PublishParams, permission="Campaign.Update",
    error_shape=SCALAR,
    errors={
        1: "Missing required parameter: CampaignID",
        2: "Campaign does not belong to the user or does not exist",
        3: "ScheduledAt is not a valid ISO 8601 date and time",
        4: "The send time must be at least 30 minutes in the future",
        5: "Only Draft campaigns can be published",
        6: "The campaign is not ready to be sent (email content, recipients or schedule missing)",
        7: ACCOUNT_NOT_ACTIVE,
        8: FROM_NOT_ALLOWED,
        9: "The email content has personalisation tags that cannot be filled in (named in the text and in "
           "UnknownTags); correct them, or pass IgnoreUnknownTags=true to send them as empty text",
    },
    raises={CampaignNotFound: 2, SendTimeTooSoon: 4, CampaignAlreadyPublished: 5,
            InvalidCampaignStatus: 6, ScheduleError: 6, AccountNotActive: 7, SenderNotAllowed: 8,
            UnknownPersonalizationTags: 9},
    requires_active_account=True,
)


# --- Campaign.Reschedule ---------------------------------------------------------------------
class RescheduleParams(LegacySchema):
    CampaignID = Id(required=True, code=1, invalid_code=2)
    SendAt = Instant(required=True, code=3, invalid_code=4)


def reschedule(ctx: Context, p: dict) -> dict:
    campaign = ctx.uow.scheduling.reschedule(ctx.actor, p["CampaignID"], p["SendAt"])
    return schedule_state(campaign)


CAMPAIGN_RESCHEDULE = Command(
    name="Campaign.Reschedule", run=reschedule, params=RescheduleParams, permission="Campaign.Update",
    error_shape=SCALAR,
    errors={
        1: "Missing required parameter: CampaignID",
        2: "Campaign does not belong to the user or does not exist",
        3: "Missing required parameter: SendAt",
        4: "SendAt is not a valid ISO 8601 date and time",
        5: "The send time must be at least 30 minutes in the future",
        6: "Only a scheduled campaign (Ready or Pending Approval, ScheduleType Future) can be rescheduled",
        7: ACCOUNT_NOT_ACTIVE,
    },
    raises={CampaignNotFound: 2, SendTimeTooSoon: 5, CampaignNotScheduled: 6, ScheduleError: 6,
            AccountNotActive: 7},
    requires_active_account=True,
)


# --- Campaign.PauseScheduling ----------------------------------------------------------------
class PauseSchedulingParams(LegacySchema):
    CampaignID = Id(required=True, code=1, invalid_code=2)


def pause_scheduling(ctx: Context, p: dict) -> dict:
    campaign = ctx.uow.scheduling.pause_scheduling(ctx.actor, p["CampaignID"])
    return schedule_state(campaign)


CAMPAIGN_PAUSE_SCHEDULING = Command(
    name="Campaign.PauseScheduling", run=pause_scheduling, params=PauseSchedulingParams,
    permission="Campaign.Update", error_shape=SCALAR,
    errors={
        1: "Missing required parameter: CampaignID",
        2: "Campaign does not belong to the user or does not exist",
        3: "Only a Ready or Pending Approval campaign can have its scheduling paused",
        4: ACCOUNT_NOT_ACTIVE,
    },
    raises={CampaignNotFound: 2, CampaignNotScheduled: 3, AccountNotActive: 4},
    requires_active_account=True,
)

COMMANDS = (CAMPAIGN_PUBLISH, CAMPAIGN_PAUSE_SCHEDULING, CAMPAIGN_RESCHEDULE, CAMPAIGN_SCHEDULE_PREVIEW)
