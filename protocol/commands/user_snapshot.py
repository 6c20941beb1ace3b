"""User.Snapshot (v5.9.4 users.md): an account's figures for one month. A user gets their own; an
administrator names the account by UserID or EmailAddress."""
from __future__ import annotations

import re

from marshmallow import ValidationError

from engine.errors import UserNotFound
from protocol.command import ANY, Command, Context
from protocol.params import Id, LegacyField, LegacySchema, ParamError, Text

MONTH = re.compile(r"(\d{4})-(\d{2})")


class MonthText(LegacyField):
    """"YYYY-MM" → (year, month)."""

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[int, int]:
        found = MONTH.fullmatch(self._scalar_text(value).strip())
        # Up to 9998: the month's end (its first instant after) must still be a date Python can hold.
        if not found or not (1 <= int(found.group(2)) <= 12) or not (1970 <= int(found.group(1)) <= 9998):
            raise ValidationError("must be YYYY-MM, e.g. 2024-12")
        return int(found.group(1)), int(found.group(2))


class SnapshotParams(LegacySchema):
    UserID = Id(code=5)
    EmailAddress = Text(max_length=255, code=5)
    Month = MonthText(required=True, code=3, invalid_code=4)


def snapshot(ctx: Context, p: dict) -> dict:
    if ctx.actor.is_admin and "UserID" not in p and "EmailAddress" not in p:
        raise ParamError(1, "an administrator names the account by EmailAddress or UserID",
                         also=((2, "or by UserID"),))
    figures = ctx.uow.snapshots.month(ctx.actor, *p["Month"], user_id=p.get("UserID"), email=p.get("EmailAddress"))
    return {"CampaignsSent": figures.campaigns_sent, "EmailsSent": figures.emails_sent,
            "Subscribers": figures.subscribers, "Lists": figures.lists}


USER_SNAPSHOT = Command(
    name="User.Snapshot", run=snapshot, params=SnapshotParams, auth=ANY, permission="", read_only=True,
    errors={
        1: "Missing EmailAddress parameter",
        2: "Missing UserID parameter",
        3: "Missing Month parameter",
        4: "Invalid month format",
        5: "User not found",
    },
    raises={UserNotFound: 5},
)

COMMANDS = (USER_SNAPSHOT,)
