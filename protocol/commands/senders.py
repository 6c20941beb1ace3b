"""Sender emails, sender details and Identify Sender Address as /api.php commands (names Sendmill adds,
legacy style, scalar error codes; the REST twins are in protocol/rest/senders.py).

Every command needs an ACTIVE email-marketing account (its own "account not active" code).
"""
from __future__ import annotations

from engine.errors import (
    AccountNotActive, InvalidEmailAddress, InvalidValue, InvalidVerificationCode, SenderEmailAlreadyVerified,
    SenderEmailExists, SenderEmailNotFound, SenderEmailNotVerified, VerificationEmailNotSent,
    VerificationRateLimited,
)
from protocol.command import SCALAR, Command, Context
from protocol.params import Id, Int, LegacySchema, Text
from protocol.views import senders as views

NOT_FOUND = "Sender email does not exist or does not belong to the user"
NOT_ACTIVE = "The email marketing account is not ACTIVE"


# --- SenderEmail.Create / SenderEmail.GetOrCreate -------------------------------------------------
class AddressParams(LegacySchema):
    EmailAddress = Text(required=True, max_length=254, code=1, invalid_code=2)


def create(ctx: Context, p: dict) -> dict:
    return {"SenderEmail": views.legacy_sender_email(ctx.uow.sender_emails.create(ctx.actor, p["EmailAddress"]))}


def get_or_create(ctx: Context, p: dict) -> dict:
    row, created = ctx.uow.sender_emails.get_or_create(ctx.actor, p["EmailAddress"])
    return {"SenderEmail": views.legacy_sender_email(row), "Created": created}


SENDER_EMAIL_CREATE = Command(
    name="SenderEmail.Create", run=create, params=AddressParams, error_shape=SCALAR,
    errors={1: "Missing required parameter: EmailAddress", 2: "Invalid email address",
            3: "A sender email with this address already exists", 4: NOT_ACTIVE},
    raises={InvalidEmailAddress: 2, SenderEmailExists: 3, AccountNotActive: 4},
)

SENDER_EMAIL_GET_OR_CREATE = Command(
    name="SenderEmail.GetOrCreate", run=get_or_create, params=AddressParams, error_shape=SCALAR,
    permission="SenderEmail.Create",
    errors={1: "Missing required parameter: EmailAddress", 2: "Invalid email address", 3: NOT_ACTIVE},
    raises={InvalidEmailAddress: 2, AccountNotActive: 3},
)


# --- SenderEmail.Get / SenderEmail.Delete -------------------------------------------------------
class IdParams(LegacySchema):
    SenderEmailID = Id(required=True, code=1, invalid_code=2)


def get(ctx: Context, p: dict) -> dict:
    return {"SenderEmail": views.legacy_sender_email(ctx.uow.sender_emails.get(ctx.actor, p["SenderEmailID"]))}


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.sender_emails.delete(ctx.actor, p["SenderEmailID"])
    return {}


SENDER_EMAIL_GET = Command(
    name="SenderEmail.Get", run=get, params=IdParams, error_shape=SCALAR,
    errors={1: "Missing required parameter: SenderEmailID", 2: NOT_FOUND, 3: NOT_ACTIVE},
    raises={SenderEmailNotFound: 2, AccountNotActive: 3},
)

SENDER_EMAIL_DELETE = Command(
    name="SenderEmail.Delete", run=delete, params=IdParams, error_shape=SCALAR,
    errors={1: "Missing required parameter: SenderEmailID", 2: NOT_FOUND, 3: NOT_ACTIVE},
    raises={SenderEmailNotFound: 2, AccountNotActive: 3},
)


# --- SenderEmails.Get ----------------------------------------------------------------------------
class ListParams(LegacySchema):
    Limit = Int(min_value=1, max_value=100, code=1)
    Cursor = Text(max_length=1000, code=2)
    EmailAddress = Text(max_length=254, code=3)


def list_(ctx: Context, p: dict) -> dict:
    page = ctx.uow.sender_emails.list(ctx.actor, email_address=p.get("EmailAddress"), limit=p.get("Limit", 50),
                                      cursor=p.get("Cursor"))
    return views.legacy_sender_email_page(page)


SENDER_EMAILS_GET = Command(
    name="SenderEmails.Get", run=list_, params=ListParams, error_shape=SCALAR, permission="SenderEmail.Get",
    errors={1: "Limit must be a whole number from 1 to 100", 2: "Invalid Cursor", 3: "Invalid EmailAddress",
            4: NOT_ACTIVE},
    raises={InvalidValue: 2, AccountNotActive: 4},
)


# --- SenderEmail.SendVerificationCode / SenderEmail.Verify ----------------------------------------
def send_code(ctx: Context, p: dict) -> dict:
    ctx.uow.sender_emails.send_verification_code(ctx.actor, p["SenderEmailID"])
    return {}


SENDER_EMAIL_SEND_VERIFICATION_CODE = Command(
    name="SenderEmail.SendVerificationCode", run=send_code, params=IdParams, error_shape=SCALAR,
    permission="SenderEmail.Create",
    errors={1: "Missing required parameter: SenderEmailID", 2: NOT_FOUND, 3: "The sender email is already verified",
            4: "Too many verification codes requested; try again later", 5: "The verification email could not be sent",
            6: NOT_ACTIVE},
    raises={SenderEmailNotFound: 2, SenderEmailAlreadyVerified: 3, VerificationRateLimited: 4,
            VerificationEmailNotSent: 5, AccountNotActive: 6},
)


class VerifyParams(LegacySchema):
    SenderEmailID = Id(required=True, code=1, invalid_code=2)
    VerificationCode = Text(required=True, max_length=10, code=3, invalid_code=4)


def verify(ctx: Context, p: dict) -> dict:
    row = ctx.uow.sender_emails.verify(ctx.actor, p["SenderEmailID"], p["VerificationCode"])
    return {"SenderEmail": views.legacy_sender_email(row)}


SENDER_EMAIL_VERIFY = Command(
    name="SenderEmail.Verify", run=verify, params=VerifyParams, error_shape=SCALAR, permission="SenderEmail.Create",
    errors={1: "Missing required parameter: SenderEmailID", 2: NOT_FOUND,
            3: "Missing required parameter: VerificationCode", 4: "The verification code is wrong or has expired",
            5: "The sender email is already verified", 6: NOT_ACTIVE},
    raises={SenderEmailNotFound: 2, InvalidVerificationCode: 4, SenderEmailAlreadyVerified: 5, AccountNotActive: 6},
)


# --- SenderDetails.Get / SenderDetails.Update ---------------------------------------------------------
def details_get(ctx: Context, p: dict) -> dict:
    return views.legacy_sender_details(*ctx.uow.sender_identity.details(ctx.actor))


class DetailsParams(LegacySchema):
    FromName = Text(max_length=100, code=1)
    FromEmail = Text(max_length=254, code=2)


def details_update(ctx: Context, p: dict) -> dict:
    row, verified_at = ctx.uow.sender_identity.update_details(ctx.actor, from_name=p.get("FromName"),
                                                              from_email=p.get("FromEmail"))
    return views.legacy_sender_details(row, verified_at)


SENDER_DETAILS_GET = Command(
    name="SenderDetails.Get", run=details_get, error_shape=SCALAR,
    errors={1: NOT_ACTIVE}, raises={AccountNotActive: 1},
)

SENDER_DETAILS_UPDATE = Command(
    name="SenderDetails.Update", run=details_update, params=DetailsParams, error_shape=SCALAR,
    errors={1: "FromName must have 1 to 100 characters", 2: "Invalid FromEmail",
            3: "FromEmail is not a verified sender email of the user", 4: NOT_ACTIVE},
    raises={InvalidValue: 1, InvalidEmailAddress: 2, SenderEmailNotVerified: 3, AccountNotActive: 4},
)


# --- SenderAddress.Identify ---------------------------------------------------------------------------
def identify(ctx: Context, p: dict) -> dict:
    return views.legacy_sender_address(ctx.uow.sender_identity.identify(ctx.actor, p["EmailAddress"]))


SENDER_ADDRESS_IDENTIFY = Command(
    name="SenderAddress.Identify", run=identify, params=AddressParams, error_shape=SCALAR,
    permission="SenderDetails.Get",
    errors={1: "Missing required parameter: EmailAddress", 2: "Invalid email address", 3: NOT_ACTIVE},
    raises={InvalidEmailAddress: 2, AccountNotActive: 3},
)

COMMANDS = (
    SENDER_EMAIL_CREATE, SENDER_EMAIL_GET, SENDER_EMAILS_GET, SENDER_EMAIL_DELETE, SENDER_EMAIL_GET_OR_CREATE,
    SENDER_EMAIL_SEND_VERIFICATION_CODE, SENDER_EMAIL_VERIFY, SENDER_DETAILS_GET, SENDER_DETAILS_UPDATE,
    SENDER_ADDRESS_IDENTIFY,
)
