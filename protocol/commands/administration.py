"""Admin.Update (protocol.md §2.3, v5.6.x) and Users.Status (v5.9.4 users.md "Get Users Status")."""
from __future__ import annotations

from engine.accounts.administration import STATUS_DAYS
from engine.errors import InvalidValue, NotAccountOwner, UsernameTaken, UsersStatusUnavailable
from protocol.command import ADMIN, SCALAR, Command, Context
from protocol.params import Id, Int, LegacySchema, Text
from protocol.views.accounts import admin_info


# --- Admin.Update -------------------------------------------------------------------------------------
class UpdateAdminParams(LegacySchema):
    AdminID = Id(required=True, code=6)
    Name = Text(required=True, max_length=255, code=1, invalid_code=10)
    Username = Text(required=True, max_length=255, code=2, invalid_code=10)
    EmailAddress = Text(required=True, max_length=255, code=4, invalid_code=7)
    Password = Text(strip=False, max_length=1024, code=10)


def update_admin(ctx: Context, p: dict) -> dict:
    admin = ctx.uow.administration.update_admin(
        ctx.actor, p["AdminID"], name=p["Name"], username=p["Username"], email=p["EmailAddress"],
        password=p.get("Password"))
    return {"AdminInfo": admin_info(admin)}


ADMIN_UPDATE = Command(
    name="Admin.Update", run=update_admin, params=UpdateAdminParams, auth=ADMIN, success_extra={"ErrorText": ""},
    errors={
        1: "Missing Name parameter", 2: "Missing Username parameter", 4: "Missing EmailAddress parameter",
        6: "Invalid AdminID parameter", 7: "Invalid email address format",
        8: "An administrator can only update their own account",
        # Sendmill's additions: the legacy table has no code for these.
        9: "Username already exists", 10: "Invalid parameter value",
    },
    raises={NotAccountOwner: 8, InvalidValue: 7, UsernameTaken: 9},
)


# --- Users.Status -------------------------------------------------------------------------------------
class UsersStatusParams(LegacySchema):
    Duration = Int(min_value=STATUS_DAYS.start, max_value=STATUS_DAYS.stop - 1, code=2)


def users_status(ctx: Context, p: dict) -> dict:
    rows = ctx.uow.administration.users_status(p.get("Duration", 30))
    active = sum(1 for row in rows if row.active)
    return {
        "Users": [{"UserID": row.user_id, "Status": "active" if row.active else "idle",
                   "LastActivity": row.last_activity or ""} for row in rows],
        "Summary": {"ActiveUsers": active, "IdleUsers": len(rows) - active},
    }


USERS_STATUS = Command(
    name="Users.Status", run=users_status, params=UsersStatusParams, auth=ADMIN, error_shape=SCALAR,
    errors={1: "Failed to retrieve users status",
            2: "Invalid Duration parameter (1 to 90 days)"},  # 2: Sendmill's addition
    raises={UsersStatusUnavailable: 1, InvalidValue: 2},
)

COMMANDS = (ADMIN_UPDATE, USERS_STATUS)
