"""Lost passwords: User.PasswordRemind / User.PasswordReset (v5.9.4 users.md) and their administrator
twins Admin.PasswordRemind / Admin.PasswordReset (protocol.md §2.3: "signed, expiring, single-use
tokens"; undocumented beyond that, so they take the user commands' parameters, the token as `AdminID`).

Public: whoever lost their password has no credentials. The reminder answers the same for an address
with or without an account (v5.9.4's code 3 is documented as never answered); the token and link come
back only to an administrator who asks (ReturnParams), and only an administrator may give the link
template (CustomResetLink), since the mail carries a live token to wherever that link points.
"""
from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from marshmallow import ValidationError

from engine.accounts.password_reset import ADMIN, USER
from engine.errors import PasswordResetRefused, TooManyRequests
from engine.validation import normalize_email
from protocol.command import PUBLIC, Command, Context
from protocol.params import Bool, LegacyField, LegacySchema, ParamError, Text

ADMIN_ONLY_CODE, LINK_CODE, RATE_CODE = 4, 5, 429


class EmailAddress(Text):
    """An email address (as Text, and shaped like an address)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if normalize_email(text) is None:
            raise ValidationError(f"'{text[:80]}' is not an email address")
        return text


class ResetLinkTemplate(LegacyField):
    """CustomResetLink: base64 of an http(s) URL (standard or URL-safe alphabet, padding optional)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._scalar_text(value).strip()
        try:
            decoded = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4),
                                       validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ValidationError("is not base64 text") from None
        parts = urlsplit(decoded)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(decoded) > 2000 \
                or any(c.isspace() for c in decoded):
            raise ValidationError("must be the base64 of an http(s) URL")
        return decoded


class RemindParams(LegacySchema):
    EmailAddress = EmailAddress(required=True, max_length=255, code=1, invalid_code=2)
    CustomResetLink = ResetLinkTemplate(code=LINK_CODE)
    ReturnParams = Bool()
    # ResetEmailSubject / ResetEmailContent (custom wording) are accepted and ignored: the message is
    # Sendmill's own (README "Lost passwords").


REMIND_ERRORS = {
    1: "Missing EmailAddress parameter", 2: "Invalid email address format",
    # Sendmill's additions.
    ADMIN_ONLY_CODE: "CustomResetLink and ReturnParams need administrator credentials",
    LINK_CODE: "Invalid CustomResetLink parameter (base64 of an http or https URL)",
    RATE_CODE: "Too many password reminders; retry later",
}


def _remind(kind: str):
    def run(ctx: Context, p: dict) -> dict:
        is_admin = ctx.actor is not None and ctx.actor.is_admin
        if ("CustomResetLink" in p or p.get("ReturnParams")) and not is_admin:
            raise ParamError(ADMIN_ONLY_CODE)
        reminder = ctx.uow.password_recovery.remind(kind, p["EmailAddress"], ip=ctx.ip,
                                                    link_template=p.get("CustomResetLink"))
        shown = is_admin and p.get("ReturnParams")
        return {"PasswordResetToken": reminder.token if shown else "",
                "PasswordResetLink": reminder.link if shown else ""}
    return run


USER_PASSWORD_REMIND = Command(
    name="User.PasswordRemind", run=_remind(USER), params=RemindParams, auth=PUBLIC, permission="",
    errors=REMIND_ERRORS, raises={TooManyRequests: RATE_CODE}, success_extra={"ErrorText": ""},
)
ADMIN_PASSWORD_REMIND = Command(
    name="Admin.PasswordRemind", run=_remind(ADMIN), params=RemindParams, auth=PUBLIC, permission="",
    errors=REMIND_ERRORS, raises={TooManyRequests: RATE_CODE}, success_extra={"ErrorText": ""},
)


class UserResetParams(LegacySchema):
    UserID = Text(required=True, max_length=200, code=1, invalid_code=2)  # the token, as v5.9.4 names it
    NewPassword = Text(strip=False, max_length=1024, code=3)
    # DontSendNewPasswordEmail / ShowPassword are accepted and ignored: a chosen NewPassword is never
    # mailed, a generated one always is (it is the only way its owner learns it).


class AdminResetParams(LegacySchema):
    AdminID = Text(required=True, max_length=200, code=1, invalid_code=2)
    NewPassword = Text(strip=False, max_length=1024, code=3)


def _reset(kind: str, key: str):
    def run(ctx: Context, p: dict) -> dict:
        ctx.uow.password_recovery.reset(kind, p[key], p.get("NewPassword"))
        return {}
    return run


RESET_ERRORS = {1: "Missing UserID parameter", 2: "Invalid reset token or user not found",
                3: "Invalid NewPassword parameter"}  # 3: Sendmill's addition (too long)

USER_PASSWORD_RESET = Command(
    name="User.PasswordReset", run=_reset(USER, "UserID"), params=UserResetParams, auth=PUBLIC, permission="",
    errors=RESET_ERRORS, raises={PasswordResetRefused: 2},
    success_extra={"ErrorText": "", "WoocommerceUserId": False},
)
ADMIN_PASSWORD_RESET = Command(
    name="Admin.PasswordReset", run=_reset(ADMIN, "AdminID"), params=AdminResetParams, auth=PUBLIC,
    permission="", errors={**RESET_ERRORS, 1: "Missing AdminID parameter",
                           2: "Invalid reset token or administrator not found"},
    raises={PasswordResetRefused: 2}, success_extra={"ErrorText": ""},
)

COMMANDS = (USER_PASSWORD_REMIND, USER_PASSWORD_RESET, ADMIN_PASSWORD_REMIND, ADMIN_PASSWORD_RESET)
