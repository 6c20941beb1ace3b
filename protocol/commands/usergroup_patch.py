"""UserGroup.Patch (v5.9.4 users.md): change only the user-group fields the request carries.

Every field the page lists is validated as the page says (codes 19–32, the offending field named in
ErrorField). Sendmill keeps eight of them — the group's name, permissions, four limits and the two
Force… flags — and writes exactly those present; `UpdatedFields` names them. The others describe
settings Sendmill does not have (payment, credit and trial systems, themes, per-group send methods,
headers and footers): a valid value is accepted, written nowhere, and listed in `IgnoredFields` so the
caller can see it had no effect. An error writes nothing (one transaction).
"""
from __future__ import annotations

import json
import re

from marshmallow import ValidationError

from engine.errors import UserGroupNotFound
from protocol.command import ADMIN, SCALAR, Command, Context
from protocol.commands.accounts import PermissionList
from protocol.params import Id, LegacySchema, ParamError, Raw

INT32 = (-(2**31), 2**31 - 1)
INTEGER = re.compile(r"-?\d+")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
# Wire name → column, for the fields Sendmill stores.
STORED = {
    "GroupName": "name", "Permissions": "permissions", "LimitSubscribers": "limit_subscribers",
    "LimitLists": "limit_lists", "LimitCampaignSendPerPeriod": "limit_campaign_send_per_period",
    "LimitEmailSendPerPeriod": "limit_email_send_per_period",
    "ForceUnsubscriptionLink": "force_unsubscription_link", "ForceRejectOptLink": "force_reject_opt_link",
}
ENABLED_DISABLED = ("ForceUnsubscriptionLink", "ForceRejectOptLink", "ForceOptInList", "PaymentSystem", "CreditSystem",
                    "PaymentCampaignsPerRecipient", "PaymentAutoRespondersPerRecipient")
INTEGERS = ("RelThemeID", "LimitSubscribers", "LimitLists", "LimitCampaignSendPerPeriod", "LimitEmailSendPerPeriod",
            "LimitEmailSendPerDay", "LimitEmailSendLifetime", "LimitEmailGatewaySenderDomains", "ThresholdImport",
            "ThresholdEmailSend", "TrialExpireSeconds", "SendMethodSMTPPort", "SendMethodSMTPTimeOut")
NUMBERS = ("PaymentCampaignsPerCampaignCost", "PaymentAutoRespondersChargeAmount", "PaymentDesignPrevChargeAmount",
           "PaymentDesignPrevChargePerReq", "PaymentSystemChargeAmount")
TEXTS = ("GroupName", "SubscriberAreaLogoutURL", "PaymentPricingRange", "PlainEmailHeader", "PlainEmailFooter",
         "HTMLEmailHeader", "HTMLEmailFooter", "XMailer", "SendMethodSaveToDiskDir", "SendMethodPowerMTAVMTA",
         "SendMethodPowerMTADir", "SendMethodLocalMTAPath", "SendMethodSMTPHost", "SendMethodSMTPUsername",
         "SendMethodSMTPPassword", "CustomEmailHeaders", "SubscriptionPlan")
CHOICES = {   # field → (allowed values, lower-case → canonical; code)
    "TrialGroup": ({"yes": "Yes", "no": "No", "enabled": "Yes", "disabled": "No"}, 27),
    "SendMethod": ({m.lower(): m for m in ("System", "SMTP", "LocalMTA", "PHPMail", "PowerMTA", "SaveToDisk")}, 22),
    "SendMethodSMTPSecure": ({"ssl": "ssl", "tls": "tls", "": ""}, 23),
    "SendMethodSMTPAuth": ({"true": "true", "false": "false"}, 24),
}
OBJECTS = {"Options": 28, "DefaultRateLimits": 29}
FIELDS = (*INTEGERS, *NUMBERS, *TEXTS, *ENABLED_DISABLED, *CHOICES, *OBJECTS, "Permissions")


class FieldError(ParamError):
    """A refused field, named in ErrorField (lower-case, as the page shows it)."""

    def __init__(self, code: int, field: str, message: str):
        super().__init__(code, f"{field}: {message}")
        self.extra = {"ErrorField": field.lower()}


PatchParams = LegacySchema.from_dict(
    {"UserGroupID": Id(required=True, code=20, invalid_code=21), **{name: Raw() for name in dict.fromkeys(FIELDS)}},
    name="PatchParams")


def _scalar(name: str, value) -> str:
    if isinstance(value, (dict, list)):
        raise FieldError(31, name, "must be a single value")
    return "1" if value is True else "0" if value is False else str(value)


def _checked(name: str, value):
    """The value to store (for STORED fields) after the page's check of `name`; FieldError when refused."""
    if name in OBJECTS:
        found = value
        if isinstance(value, str):
            try:
                found = json.loads(value)
            except ValueError:
                found = None
        if not isinstance(found, dict):
            raise FieldError(OBJECTS[name], name, "must be an object, or a JSON string decoding to one")
        return found
    if name == "Permissions":
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise FieldError(30, name, "every element of the array must be a string")
        if isinstance(value, dict):
            raise FieldError(30, name, "must be a comma-separated string or an array of strings")
        try:
            return PermissionList().deserialize(value)
        except ValidationError as exc:
            raise FieldError(30, name, "; ".join(exc.messages)) from None
    text = _scalar(name, value).strip()
    if name in INTEGERS:
        if not INTEGER.fullmatch(text) or not INT32[0] <= int(text) <= INT32[1]:
            raise FieldError(32, name, "must be a base-10 integer from -2147483648 to 2147483647")
        if name == "RelThemeID":
            raise FieldError(19, name, "Sendmill has no themes, so no theme ID exists")
        return int(text)
    if name in NUMBERS:
        if not NUMBER.fullmatch(text):
            raise FieldError(32, name, "must be a decimal number")
        return text
    if name in ENABLED_DISABLED:
        if text.lower() not in ("enabled", "disabled"):
            raise FieldError(26, name, "must be Enabled or Disabled")
        return text.lower() == "enabled"
    if name in CHOICES:
        allowed, code = CHOICES[name]
        if text.lower() not in allowed:
            raise FieldError(code, name, f"must be one of {', '.join(repr(v) for v in dict.fromkeys(allowed.values()))}")
        return allowed[text.lower()]
    if name == "GroupName" and (not text or len(text) > 255):
        raise FieldError(31, name, "must be 1 to 255 characters")
    return text


def patch(ctx: Context, p: dict) -> dict:
    changes, ignored = {}, []
    for name in FIELDS:          # the page's order, so the first refused field is the same on every call
        if name in p and p[name] is not None:
            value = _checked(name, p[name])
            if name in STORED:
                changes[STORED[name]] = value
            else:
                ignored.append(name)
    ctx.uow.accounts.update_group(p["UserGroupID"], changes)
    written = [name for name in FIELDS if name in STORED and STORED[name] in changes]
    return {"UserGroupID": str(p["UserGroupID"]), "UpdatedFields": written, "IgnoredFields": ignored}


USERGROUP_PATCH = Command(
    name="UserGroup.Patch", run=patch, params=PatchParams, auth=ADMIN, error_shape=SCALAR,
    errors={
        19: "Invalid theme ID (RelThemeID)",
        20: "Missing UserGroupID parameter",
        21: "User group not found",
        22: "Invalid send method",
        23: "Invalid SendMethodSMTPSecure — must be 'ssl', 'tls' or ''",
        24: "Invalid SendMethodSMTPAuth — must be 'true' or 'false'",
        26: "Invalid Enabled/Disabled value",
        27: "Invalid TrialGroup value — must be 'Yes' or 'No' (or the 'Enabled'/'Disabled' aliases)",
        28: "Invalid Options payload — must be an object, or a JSON string decoding to one",
        29: "Invalid DefaultRateLimits payload — must be an object, or a JSON string decoding to one",
        30: "Invalid Permissions payload — must be a comma-separated string, or an array whose every element is a string",
        31: "Non-scalar value supplied for a scalar field",
        32: "Invalid integer value",
    },
    raises={UserGroupNotFound: 21},
)

COMMANDS = (USERGROUP_PATCH,)
