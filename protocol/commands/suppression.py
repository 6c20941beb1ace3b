"""Suppression lists (api-reference/suppression-lists.md, v5.9.4/api-reference/suppression.md; protocol.md §3.8).

ListID 0 or absent means the account-wide list; a non-zero ListID scopes the command to one of
the caller's lists. No permission is documented for these commands beyond being a user.
"""
from __future__ import annotations

import json

from marshmallow import ValidationError, validates_schema

from engine.errors import InvalidEmailAddress, ListNotFound, SuppressionNotFound
from engine.models.subscribers import SUPPRESSION_SOURCES
from protocol.command import Command, Context
from protocol.params import Choice, Int, LegacyField, LegacySchema, ParamError, Text
from protocol.views.subscribers import suppression_rows

MAX_PAGE = 1000
SOURCE_ALIASES = {"Hard Bounce": "Hard Bounced", "Spam": "SPAM complaint", "Complaint": "SPAM complaint",
                  "Admin": "Administrator", "Unsubscribed": "Unsubscribe"}


class Addresses(LegacyField):
    """EmailAddresses: a JSON array of addresses sent as a string (or a real array in a JSON body)."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):  # RecursionError: nested thousands deep
                raise ValidationError("is not a JSON array of email addresses")
        if isinstance(value, dict):
            value = list(value.values())
        if not isinstance(value, list) or any(isinstance(v, (list, dict)) for v in value):
            raise ValidationError("is not a JSON array of email addresses")
        return [str(v) for v in value]


class Sources(LegacyField):
    """A comma-separated list of SuppressionSource values."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        choice = Choice(SUPPRESSION_SOURCES, aliases=SOURCE_ALIASES)
        return [choice.deserialize(str(i).strip()) for i in self._list_items(value) if str(i).strip()]


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# --- Suppression.Browse ------------------------------------------------------------------------
class BrowseParams(LegacySchema):
    SearchPattern = Text(max_length=255, lenient=True)
    SuppressionSource = Sources(code=1)
    ListID = Int(min_value=0, code=4)
    StartFrom = Int(min_value=0, lenient=True)
    RetrieveCount = Int(min_value=0, lenient=True)


def browse(ctx: Context, p: dict) -> dict:
    rows, total = ctx.uow.suppression.browse(
        ctx.actor, pattern=p.get("SearchPattern"), sources=p.get("SuppressionSource"), list_id=p.get("ListID"),
        offset=p.get("StartFrom", 0), limit=min(p.get("RetrieveCount") or 100, MAX_PAGE))
    return {"TotalRecords": total, "SuppressedEmails": suppression_rows(rows)}


SUPPRESSION_BROWSE = Command(
    name="Suppression.Browse", run=browse, params=BrowseParams, permission="",
    errors={1: "Invalid SuppressionSource value",
            4: "Invalid ListID — list does not exist or is not owned by the authenticated user"},
    raises={ListNotFound: 4},
)


# --- Suppression.Import ------------------------------------------------------------------------
class ImportParams(LegacySchema):
    EmailAddresses = Addresses(code=2)
    EmailAddressesBulk = Text(strip=False, code=2)
    SuppressionSource = Choice(SUPPRESSION_SOURCES, aliases=SOURCE_ALIASES, code=3)
    Reason = Text(lenient=True)
    ListID = Int(min_value=0, code=4)

    @validates_schema
    def some_addresses(self, data, **kwargs):
        if "EmailAddresses" not in data and "EmailAddressesBulk" not in data:
            raise ParamError(1, "give EmailAddresses (a JSON array) or EmailAddressesBulk (one per line)")


def import_addresses(ctx: Context, p: dict) -> dict:
    result = ctx.uow.suppression.import_addresses(
        ctx.actor, p.get("EmailAddresses", []) + _lines(p.get("EmailAddressesBulk")), list_id=p.get("ListID"),
        source=p.get("SuppressionSource", "User"), reason=p.get("Reason", "Suppression List Import"))
    return {"TotalImported": result.done, "TotalFailed": len(result.failed), "FailedEmailAddresses": result.failed}


SUPPRESSION_IMPORT = Command(
    name="Suppression.Import", run=import_addresses, params=ImportParams, permission="",
    errors={
        1: "Missing EmailAddresses parameter",
        2: "Missing EmailAddressesBulk parameter or invalid EmailAddresses format",
        3: "Invalid SuppressionSource value",
        4: "Invalid ListID — list does not exist or is not owned by the authenticated user",
    },
    raises={ListNotFound: 4},
)


# --- Suppression.Delete ------------------------------------------------------------------------
class DeleteParams(LegacySchema):
    EmailAddress = Text(max_length=255, code=1, invalid_code=2)
    EmailAddresses = Addresses(code=2)
    EmailAddressesBulk = Text(strip=False, code=2)
    ListID = Int(min_value=0, code=4)

    @validates_schema
    def some_addresses(self, data, **kwargs):
        if not {"EmailAddress", "EmailAddresses", "EmailAddressesBulk"} & set(data):
            raise ParamError(1, "give EmailAddress, EmailAddresses (a JSON array) or EmailAddressesBulk")


def delete(ctx: Context, p: dict) -> dict:
    bulk = "EmailAddresses" in p or "EmailAddressesBulk" in p
    if not bulk:
        ctx.uow.suppression.delete(ctx.actor, [p["EmailAddress"]], list_id=p.get("ListID"), single=True)
        return {}
    addresses = p.get("EmailAddresses", []) + _lines(p.get("EmailAddressesBulk"))
    result = ctx.uow.suppression.delete(ctx.actor, addresses, list_id=p.get("ListID"))
    return {"TotalDeleted": result.done, "TotalFailed": len(result.failed), "FailedEmailAddresses": result.failed}


SUPPRESSION_DELETE = Command(
    name="Suppression.Delete", run=delete, params=DeleteParams, permission="",
    errors={
        1: "Missing input — none of EmailAddress, EmailAddresses, or EmailAddressesBulk was provided",
        2: "Invalid email address, email address not in the suppression list, or invalid JSON in EmailAddresses",
        4: "Invalid ListID — list does not exist or is not owned by the authenticated user",
    },
    raises={InvalidEmailAddress: 2, SuppressionNotFound: 2, ListNotFound: 4},
)

COMMANDS = (SUPPRESSION_BROWSE, SUPPRESSION_DELETE, SUPPRESSION_IMPORT)
