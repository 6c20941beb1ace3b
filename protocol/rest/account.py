"""Get Account Details (Wix Account Details API: GET /email-marketing/v1/account-details).

Always readable, whatever the account's status. Quotas are -1 when unlimited; the quota period is the
current calendar month (UTC). Administrators set status and quotas with User.EmailAccount.Update.
"""
from __future__ import annotations

from marshmallow import fields

from protocol.rest.core import Endpoint, RestSchema
from protocol.views.senders import account_details


class Quota(RestSchema):
    campaigns = fields.Integer()
    emails = fields.Integer()


class Package(RestSchema):
    id = fields.String()
    group = fields.String()
    monthlyQuotaAllocation = fields.Nested(Quota)


class QuotaPeriod(RestSchema):
    dateFrom = fields.String()
    dateTo = fields.String()
    quotaUsage = fields.Nested(Quota)


class AccountDetailsOut(RestSchema):
    status = fields.String(metadata={"enum": ["ACTIVE", "WARNED", "SUSPENDED", "BANNED", "SUSPENDED_AUTOLIFT"]})
    package = fields.Nested(Package)
    quotaPeriod = fields.Nested(QuotaPeriod)


class AccountDetailsResponse(RestSchema):
    accountDetails = fields.Nested(AccountDetailsOut)


def get_account_details(ctx):
    return account_details(ctx.uow.email_account.details(ctx.actor))


ENDPOINTS = [
    Endpoint("GET", "/email-marketing/v1/account-details", get_account_details, "Get Account Details",
             "Account details", response=AccountDetailsResponse, permission="User.EmailAccount.Get"),
]
