"""Logging in and out: User.Login, Admin.Login, User.Logout, Admin.Logout."""
from __future__ import annotations

from marshmallow import validates_schema

from engine.errors import AccountDisabled, InvalidLogin, TwoFactorCodeInvalid, TwoFactorRequired
from protocol.command import ADMIN, ANY, PUBLIC, Command, Context
from protocol.params import Bool, LegacySchema, ParamError, Text
from protocol.views.accounts import admin_info, user_info


class LoginParams(LegacySchema):
    Username = Text(code=1)
    Password = Text(strip=False, code=2)
    APIKey = Text(code=3)
    PasswordEncrypted = Bool()
    TFACode = Text(max_length=16, code=6)
    # DisableCaptcha, Captcha and RememberMe are accepted and ignored (legacy clients send them), and so
    # are TFARecoveryCode (Sendmill has no recovery codes: an administrator turns two-factor login off)
    # and Disable2FA / Disable2FAToken (never honoured: there is no SCRTY_SALT to derive the token from).

    @validates_schema
    def credentials(self, data, **kwargs):
        if "APIKey" in data:
            return
        if "Username" not in data:
            raise ParamError(1, "Username is required")
        if "Password" not in data:
            raise ParamError(2, "Password is required")


LOGIN_ERRORS = {1: "Username is required", 2: "Password is required", 3: "Invalid login information"}


def user_login(ctx: Context, p: dict) -> dict:
    if "APIKey" in p and "Username" not in p:
        session_id, user = ctx.uow.auth.login_user_with_api_key(p["APIKey"], ip=ctx.ip)
    else:
        session_id, user = ctx.uow.auth.login_user(
            p["Username"], p["Password"], pre_hashed=p.get("PasswordEncrypted", False), ip=ctx.ip,
            tfa_code=p.get("TFACode"))
    return {"SessionID": session_id, "UserInfo": user_info(user)}


USER_LOGIN = Command(
    name="User.Login", run=user_login, params=LoginParams, auth=PUBLIC, permission="",
    errors={**LOGIN_ERRORS, 6: "Invalid 2FA code or recovery code", 101: "2FA required"},
    raises={InvalidLogin: 3, AccountDisabled: 3, TwoFactorCodeInvalid: 6, TwoFactorRequired: 101},
    success_extra={"ErrorText": ""},
)


class AdminLoginParams(LoginParams):
    APIKey = Text(code=3, data_key="AdminAPIKey")
    TFACode = Text(lenient=True)  # accepted and ignored: administrators have no two-factor login (yet)


def admin_login(ctx: Context, p: dict) -> dict:
    if "APIKey" in p and "Username" not in p:
        session_id, admin = ctx.uow.auth.login_admin_with_api_key(p["APIKey"], ip=ctx.ip)
    else:
        session_id, admin = ctx.uow.auth.login_admin(p["Username"], p["Password"], ip=ctx.ip)
    return {"SessionID": session_id, "AdminInfo": admin_info(admin)}


ADMIN_LOGIN = Command(
    name="Admin.Login", run=admin_login, params=AdminLoginParams, auth=PUBLIC, permission="",
    errors=LOGIN_ERRORS, raises={InvalidLogin: 3}, success_extra={"ErrorText": ""},
)


def logout(ctx: Context, p: dict) -> dict:
    ctx.uow.auth.logout(ctx.actor)
    return {}


USER_LOGOUT = Command(name="User.Logout", run=logout, auth=ANY, permission="")
ADMIN_LOGOUT = Command(name="Admin.Logout", run=logout, auth=ADMIN, permission="")

COMMANDS = (USER_LOGIN, ADMIN_LOGIN, USER_LOGOUT, ADMIN_LOGOUT)
