"""Sender emails (modern-sender-emails-api.txt), sender details and Identify Sender Address
(modern-campaign-api.txt) over REST. The /api.php twins are in protocol/commands/senders.py.

The spec names no error codes, only statuses; Sendmill's application codes are in the README. Every
endpoint needs an ACTIVE email-marketing account: otherwise 428 ACCOUNT_NOT_ACTIVE.
"""
from __future__ import annotations

from marshmallow import fields, validate

from engine.errors import (
    AccountNotActive, InvalidEmailAddress, InvalidValue, InvalidVerificationCode, SenderEmailAlreadyVerified,
    SenderEmailExists, SenderEmailNotVerified, VerificationEmailNotSent, VerificationRateLimited,
)
from protocol.rest.core import Endpoint, RestSchema
from protocol.views import senders as views

TAG = "Sender emails"
NOT_ACTIVE = {AccountNotActive: (428, "ACCOUNT_NOT_ACTIVE")}
BAD_ADDRESS = {InvalidEmailAddress: (400, "INVALID_EMAIL_ADDRESS")}
ALREADY_VERIFIED = {SenderEmailAlreadyVerified: (409, "SENDER_EMAIL_ALREADY_VERIFIED")}
Address = lambda **kw: fields.String(validate=validate.Length(min=6, max=254), **kw)  # noqa: E731


# --- schemas (request bodies, query, and responses for /openapi.json) -------------------------------
class SenderEmailIn(RestSchema):
    emailAddress = Address(required=True)


class CreateBody(RestSchema):
    senderEmail = fields.Nested(SenderEmailIn, required=True)


class AddressBody(RestSchema):
    emailAddress = Address(required=True)


class ListQuery(RestSchema):
    limit = fields.Integer(data_key="paging.limit", validate=validate.Range(min=0, max=100), load_default=0)
    cursor = fields.String(data_key="paging.cursor", validate=validate.Length(max=1000), load_default=None)
    emailAddress = fields.String(validate=validate.Length(max=254), load_default=None)


class VerifyBody(RestSchema):
    verificationCode = fields.String(required=True, validate=validate.Length(min=3, max=10))


class SenderEmailOut(RestSchema):
    id = fields.String()
    createdDate = fields.String()
    updatedDate = fields.String()
    emailAddress = fields.String()
    verified = fields.Boolean()


class SenderEmailResponse(RestSchema):
    senderEmail = fields.Nested(SenderEmailOut)


class Cursors(RestSchema):
    next = fields.String()


class PagingMetadata(RestSchema):
    count = fields.Integer()
    cursors = fields.Nested(Cursors)
    hasNext = fields.Boolean()


class ListResponse(RestSchema):
    pagingMetadata = fields.Nested(PagingMetadata)
    senderEmails = fields.List(fields.Nested(SenderEmailOut))


class DetailsIn(RestSchema):
    fromName = fields.String(validate=validate.Length(min=1, max=100))
    fromEmail = fields.String(validate=validate.Length(min=6, max=254))


class DetailsBody(RestSchema):
    senderDetails = fields.Nested(DetailsIn, required=True)


class DetailsOut(RestSchema):
    fromName = fields.String()
    fromEmail = fields.String()
    dateVerified = fields.String(allow_none=True)


class DetailsResponse(RestSchema):
    senderDetails = fields.Nested(DetailsOut)
    verificationNeeded = fields.Boolean()


class SenderAddressResponse(RestSchema):
    senderAddress = fields.String()


# --- sender emails -------------------------------------------------------------------------------------
def create(ctx):
    return views.sender_email(ctx.uow.sender_emails.create(ctx.actor, ctx.body["senderEmail"]["emailAddress"]))


def get(ctx):
    return views.sender_email(ctx.uow.sender_emails.get(ctx.actor, ctx.path["senderEmailId"]))


def list_(ctx):
    return views.sender_email_page(ctx.uow.sender_emails.list(
        ctx.actor, email_address=ctx.args.get("emailAddress"), limit=ctx.args.get("limit", 0),
        cursor=ctx.args.get("cursor")))


def delete(ctx):
    ctx.uow.sender_emails.delete(ctx.actor, ctx.path["senderEmailId"])
    return {}


def get_or_create(ctx):
    row, _created = ctx.uow.sender_emails.get_or_create(ctx.actor, ctx.body["emailAddress"])
    return views.sender_email(row)


def send_code(ctx):
    ctx.uow.sender_emails.send_verification_code(ctx.actor, ctx.path["senderEmailId"])
    return {}


def verify(ctx):
    ctx.uow.sender_emails.verify(ctx.actor, ctx.path["senderEmailId"], ctx.body["verificationCode"])
    return {}


# --- sender details and the From address -----------------------------------------------------------------
def details_get(ctx):
    return views.sender_details(*ctx.uow.sender_identity.details(ctx.actor))


def details_update(ctx):
    given = ctx.body["senderDetails"]
    row, verified_at = ctx.uow.sender_identity.update_details(ctx.actor, from_name=given.get("fromName"),
                                                              from_email=given.get("fromEmail"))
    # Only verified addresses are accepted, so no verification is ever left pending.
    return {**views.sender_details(row, verified_at), "verificationNeeded": False}


def identify(ctx):
    return views.sender_address(ctx.uow.sender_identity.identify(ctx.actor, ctx.body["emailAddress"]))


BASE = "/sender-emails/v1/sender-emails"
ONE = BASE + "/{senderEmailId}"
ENDPOINTS = [
    Endpoint("POST", BASE, create, "Create Sender Email", TAG, body=CreateBody, response=SenderEmailResponse,
             errors={**BAD_ADDRESS, SenderEmailExists: (409, "SENDER_EMAIL_ALREADY_EXISTS"), **NOT_ACTIVE},
             permission="SenderEmail.Create"),
    Endpoint("GET", BASE, list_, "List Sender Emails", TAG, query_params=ListQuery, response=ListResponse,
             errors={InvalidValue: (400, "INVALID_CURSOR"), **NOT_ACTIVE}, permission="SenderEmail.Get"),
    Endpoint("POST", BASE + "/get-or-create", get_or_create, "Get Or Create Sender Email", TAG, body=AddressBody,
             response=SenderEmailResponse, errors={**BAD_ADDRESS, **NOT_ACTIVE}, permission="SenderEmail.Create"),
    Endpoint("GET", ONE, get, "Get Sender Email", TAG, response=SenderEmailResponse, errors=NOT_ACTIVE,
             permission="SenderEmail.Get"),
    Endpoint("DELETE", ONE, delete, "Delete Sender Email", TAG, errors=NOT_ACTIVE, permission="SenderEmail.Delete"),
    Endpoint("POST", ONE + "/send-verification-code", send_code, "Send Verification Code", TAG,
             errors={**ALREADY_VERIFIED, VerificationEmailNotSent: (428, "VERIFICATION_EMAIL_NOT_SENT"),
                     VerificationRateLimited: (429, "TOO_MANY_VERIFICATION_CODES"), **NOT_ACTIVE},
             permission="SenderEmail.Create"),
    Endpoint("POST", ONE + "/verify", verify, "Verify Sender Email", TAG, body=VerifyBody,
             errors={InvalidVerificationCode: (400, "INVALID_VERIFICATION_CODE"), **ALREADY_VERIFIED, **NOT_ACTIVE},
             permission="SenderEmail.Create"),
    Endpoint("GET", "/email-marketing/v1/sender-details", details_get, "Get Sender Details", "Sender details",
             response=DetailsResponse, errors=NOT_ACTIVE, permission="SenderDetails.Get"),
    Endpoint("PATCH", "/email-marketing/v1/sender-details", details_update, "Update Sender Details",
             "Sender details", body=DetailsBody, response=DetailsResponse,
             errors={InvalidValue: (400, "INVALID_FROM_NAME"), **BAD_ADDRESS,
                     SenderEmailNotVerified: (428, "SENDER_EMAIL_NOT_VERIFIED"), **NOT_ACTIVE},
             permission="SenderDetails.Update"),
    Endpoint("POST", "/email-marketing/v1/identify-sender-address", identify, "Identify Sender Address",
             "Sender details", body=AddressBody, response=SenderAddressResponse,
             errors={**BAD_ADDRESS, **NOT_ACTIVE}, permission="SenderDetails.Get"),
]
