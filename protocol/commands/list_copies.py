"""CustomFields.Copy and Segments.Copy (the Oempro 4 manual as both generated PHP wrappers carry it; no v5.9.4
page): a list's own custom fields or its segments copied to another list (engine/audience/list_copies.py).
Codes 1–4 are the wrappers' tables; 5 (Segments.Copy: a segment's rules name a custom field the target list
does not have; nothing copied) is Sendmill's. Errors are lists.
"""
from __future__ import annotations

from engine.errors import CopySourceListNotFound, CopyTargetListNotFound, InvalidRules
from protocol.command import Command, Context
from protocol.params import Id, LegacySchema


class Params(LegacySchema):
    SourceListID = Id(required=True, code=1, invalid_code=3)
    TargetListID = Id(required=True, code=2, invalid_code=4)


LIST_ERRORS = {1: "Source subscriber list id is missing", 2: "Target subscriber list id is missing",
               3: "Source subscriber list id is invalid", 4: "Target subscriber list id is invalid"}
LIST_RAISES = {CopySourceListNotFound: 3, CopyTargetListNotFound: 4}


def copy_fields(ctx: Context, p: dict) -> dict:
    return {"TotalCopied": ctx.uow.list_copies.custom_fields(ctx.actor, p["SourceListID"], p["TargetListID"])}


def copy_segments(ctx: Context, p: dict) -> dict:
    return {"TotalCopied": ctx.uow.list_copies.segments(ctx.actor, p["SourceListID"], p["TargetListID"])}


CUSTOM_FIELDS_COPY = Command(
    name="CustomFields.Copy", run=copy_fields, params=Params, permission="CustomField.Create",
    errors=LIST_ERRORS, raises=LIST_RAISES)

SEGMENTS_COPY = Command(
    name="Segments.Copy", run=copy_segments, params=Params, permission="Segment.Create",
    errors={**LIST_ERRORS, 5: "A segment's rules name a custom field the target list does not have (nothing copied)"},
    raises={**LIST_RAISES, InvalidRules: 5})

COMMANDS = (CUSTOM_FIELDS_COPY, SEGMENTS_COPY)
