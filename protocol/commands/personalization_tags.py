"""Email.PersonalizationTags (v5.9.4 emails.md, "Get Personalization Tags"): the tags an email may use.

`Scope` is an array (`Scope[]=Subscriber&Scope[]=User`, JSON) or a comma list; `ListID` one ID or several,
required when the scope includes Subscriber. Codes 1 and 2 are the page's; 3 (a list that is not the
caller's) is the wrappers' own table's, 4 (an unknown scope) Sendmill's.
"""
from __future__ import annotations

from marshmallow import ValidationError, validates_schema

from engine.campaigns.personalization_tags import SCOPES
from engine.errors import ListNotFound
from protocol.command import Command, Context
from protocol.params import IdList, LegacyField, LegacySchema, ParamError, _enum_key


class ScopeList(LegacyField):
    """Scope names, matched case-insensitively, repeats dropped."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        lookup = {_enum_key(s): s for s in SCOPES}
        scopes: dict[str, None] = {}
        for item in self._list_items(value):
            text = str(item).strip()
            if not text:
                continue
            if _enum_key(text) not in lookup:
                raise ValidationError(f"'{text[:40]}' is not one of {', '.join(SCOPES)}")
            scopes[lookup[_enum_key(text)]] = None
        if not scopes:
            raise ValidationError("is missing")
        return list(scopes)


class Params(LegacySchema):
    Scope = ScopeList(required=True, code=1, invalid_code=4)
    ListID = IdList(code=2, invalid_code=3)

    @validates_schema
    def list_for_subscriber_scope(self, data, **kwargs):
        if "Subscriber" in data.get("Scope", ()) and not data.get("ListID"):
            raise ParamError(2, "ListID is required when Scope includes Subscriber")


def personalization_tags(ctx: Context, p: dict) -> dict:
    return {"PersonalizationTags": ctx.uow.personalization_tags.tags(ctx.actor, p["Scope"], p.get("ListID", []))}


EMAIL_PERSONALIZATION_TAGS = Command(
    name="Email.PersonalizationTags", run=personalization_tags, params=Params, permission="", read_only=True,
    errors={1: "Missing required parameter Scope",
            2: "Missing required parameter ListID (when Subscriber scope is included)",
            3: "List ID does not belong to the logged in user",
            4: f"Invalid Scope (one or more of {', '.join(SCOPES)})"},
    raises={ListNotFound: 3},
)

COMMANDS = (EMAIL_PERSONALIZATION_TAGS,)
