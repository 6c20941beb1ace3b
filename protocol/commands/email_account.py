"""The email-marketing account as /api.php commands (names Sendmill adds; scalar error codes).

`User.EmailAccount.Get`: a user reads their own account (status, monthly quotas, this month's usage);
an administrator names the user with `UserID`. `User.EmailAccount.Update`: an administrator sets a
user's `Status` (ACTIVE, WARNED, SUSPENDED, BANNED, SUSPENDED_AUTOLIFT) and monthly quotas
(-1 = unlimited).
"""
from __future__ import annotations

from engine.errors import InvalidValue, UserNotFound
from engine.models.senders import ACCOUNT_STATUSES
from protocol.command import ADMIN, ANY, SCALAR, Command, Context
from protocol.params import Choice, Id, Int, LegacySchema, ParamError
from protocol.views.senders import legacy_account

QUOTA_RANGE = dict(min_value=-1, max_value=2**31 - 1)


class GetParams(LegacySchema):
    UserID = Id(code=2)


def get(ctx: Context, p: dict) -> dict:
    if ctx.actor.is_admin and "UserID" not in p:
        raise ParamError(1, "an administrator names the user with UserID")
    # A user always reads their own account; a UserID they send is ignored (no other user's data).
    user_id = p["UserID"] if ctx.actor.is_admin else ctx.actor.id
    return legacy_account(ctx.uow.email_account.details(user_id))


USER_EMAIL_ACCOUNT_GET = Command(
    name="User.EmailAccount.Get", run=get, params=GetParams, auth=ANY, error_shape=SCALAR,
    errors={1: "Missing UserID parameter", 2: "User not found"},
    raises={UserNotFound: 2},
)


class UpdateParams(LegacySchema):
    UserID = Id(required=True, code=1, invalid_code=2)
    Status = Choice(ACCOUNT_STATUSES, code=3)
    MonthlyCampaignQuota = Int(code=4, **QUOTA_RANGE)
    MonthlyEmailQuota = Int(code=5, **QUOTA_RANGE)


def update(ctx: Context, p: dict) -> dict:
    changes = {key: p[name] for name, key in (("Status", "status"), ("MonthlyCampaignQuota", "monthly_campaigns"),
                                              ("MonthlyEmailQuota", "monthly_emails")) if name in p}
    return legacy_account(ctx.uow.email_account.update(p["UserID"], changes))


USER_EMAIL_ACCOUNT_UPDATE = Command(
    name="User.EmailAccount.Update", run=update, params=UpdateParams, auth=ADMIN, error_shape=SCALAR,
    errors={1: "Missing UserID parameter", 2: "User not found",
            3: "Invalid Status (ACTIVE, WARNED, SUSPENDED, BANNED or SUSPENDED_AUTOLIFT)",
            4: "MonthlyCampaignQuota must be -1 (unlimited) or a whole number of at least 0",
            5: "MonthlyEmailQuota must be -1 (unlimited) or a whole number of at least 0"},
    raises={UserNotFound: 2, InvalidValue: 3},
)

COMMANDS = (USER_EMAIL_ACCOUNT_GET, USER_EMAIL_ACCOUNT_UPDATE)
