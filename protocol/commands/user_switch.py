"""User.Switch (v5.9.4 users.md, "Switch to User Account"): an administrator gets a session as a user.

The session acts with the user's own group permissions whatever `PrivilegeType` says: Sendmill has no
elevated "Full" mode, so both values give the same session (README "Legacy PHP wrappers"). A disabled
account cannot be switched to (code 4, Sendmill's), as it cannot log in.
"""
from __future__ import annotations

from engine.errors import AccountDisabled, UserNotFound
from protocol.command import ADMIN, Command, Context
from protocol.params import Choice, Id, LegacySchema


class Params(LegacySchema):
    UserID = Id(required=True, code=1, invalid_code=2)
    PrivilegeType = Choice(("Default", "Full"), code=3)


def switch(ctx: Context, p: dict) -> dict:
    session_id, user = ctx.uow.auth.switch_to_user(ctx.actor, p["UserID"], ctx.ip)
    return {"SessionID": session_id, "UserInfo": {"UserID": user.id, "Username": user.username}}


USER_SWITCH = Command(
    name="User.Switch", run=switch, params=Params, auth=ADMIN, success_extra={"ErrorText": ""},
    errors={1: "Missing UserID parameter", 2: "User not found",
            3: "Invalid privilege type (must be 'Default' or 'Full')", 4: "The user account is disabled"},
    raises={UserNotFound: 2, AccountDisabled: 4},
)

COMMANDS = (USER_SWITCH,)
