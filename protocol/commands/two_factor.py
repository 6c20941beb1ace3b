"""Two-factor login of users (Sendmill's commands: v5.9.4 documents TFACode on User.Login and
`2FA_Enabled` / `MFA_QRCode` / `MFA_SecretKey` in User.Current, but sets 2FA up only in its UI).

User.TwoFactor.Setup makes a secret and shows it once; User.TwoFactor.Enable turns it on with a code
from the authenticator app; User.TwoFactor.Disable turns it off with a current code, or, called by an
administrator for a UserID, without one (a lost device)."""
from __future__ import annotations

from engine.errors import NotAccountOwner, TwoFactorCodeInvalid, TwoFactorState
from protocol.command import ANY, USER, Command, Context
from protocol.params import Id, LegacySchema, ParamError, Text


def setup(ctx: Context, p: dict) -> dict:
    secret, uri = ctx.uow.two_factor.set_up(ctx.actor)
    return {"MFA_SecretKey": secret, "MFA_QRCode": uri}


USER_TFA_SETUP = Command(
    name="User.TwoFactor.Setup", run=setup, auth=USER, permission="",
    errors={1: "Two-factor login is already on; turn it off first"}, raises={TwoFactorState: 1},
)


class CodeParams(LegacySchema):
    TFACode = Text(required=True, max_length=16, code=1, invalid_code=2)


def enable(ctx: Context, p: dict) -> dict:
    ctx.uow.two_factor.enable(ctx.actor, p["TFACode"])
    return {}


USER_TFA_ENABLE = Command(
    name="User.TwoFactor.Enable", run=enable, params=CodeParams, auth=USER, permission="",
    errors={1: "Missing TFACode parameter", 2: "Invalid 2FA code",
            3: "Two-factor login is not set up, or already on"},
    raises={TwoFactorCodeInvalid: 2, TwoFactorState: 3},
)


class DisableParams(LegacySchema):
    TFACode = Text(max_length=16, code=1, invalid_code=2)
    UserID = Id(code=4)


def disable(ctx: Context, p: dict) -> dict:
    if ctx.actor.is_admin and "UserID" not in p:
        raise ParamError(4, "an administrator names the user (UserID)")
    if not ctx.actor.is_admin and "TFACode" not in p:
        raise ParamError(1)
    ctx.uow.two_factor.disable(ctx.actor, p.get("UserID", ctx.actor.id), p.get("TFACode"))
    return {}


USER_TFA_DISABLE = Command(
    name="User.TwoFactor.Disable", run=disable, params=DisableParams, auth=ANY, permission="",
    errors={1: "Missing TFACode parameter", 2: "Invalid 2FA code", 3: "Two-factor login is not on",
            4: "Missing or unknown UserID (a user can only turn off their own)"},
    raises={TwoFactorCodeInvalid: 2, TwoFactorState: 3, NotAccountOwner: 4},
)

COMMANDS = (USER_TFA_SETUP, USER_TFA_ENABLE, USER_TFA_DISABLE)
