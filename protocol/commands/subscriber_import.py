"""Subscribers.Import (api-reference/subscribers.md): a CSV file or text into a list, through the
streaming importer (engine/audience/importer.py)."""
from __future__ import annotations

import json

from marshmallow import ValidationError, validates_schema

from engine.errors import EmailMappedTwice, EmailNotMapped, ImportFormatError, InvalidFieldMapping, ListNotFound
from engine.audience.importer import ImportOptions
from protocol.command import Command, Context
from protocol.commands.subscriber_params import OK
from protocol.params import MISSING, Bool, Choice, Id, LegacyField, LegacySchema, ParamError, Text
from protocol.views.subscribers import import_report


class CsvSource(LegacyField):
    """CSV text in the parameter, or an uploaded file (multipart) under the same name."""

    def _deserialize(self, value, attr, data, **kwargs):
        if hasattr(value, "stream") or hasattr(value, "read"):
            return getattr(value, "stream", value)
        text = self._scalar_text(value)
        if not text.strip():
            raise ValidationError(MISSING)
        return text


class Mapping(LegacyField):
    """MappedFields: {column: target} (columns by header name or FIELD<n>), a positional list of
    targets, or either of them as a JSON string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):  # RecursionError: nested thousands deep
                raise ValidationError("must be an object or a list (or the same as JSON)")
        if isinstance(value, dict) and all(not isinstance(v, (list, dict)) for v in value.values()):
            return {str(k): str(v) for k, v in value.items()}
        if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
            return [str(v) for v in value]
        raise ValidationError("must be an object or a list of field names")


class ImportParams(LegacySchema):
    ListID = Id(code=1, invalid_code=4)
    SubscriberListID = Id(code=1, invalid_code=4)
    ImportData = CsvSource(code=2)
    ImportFile = CsvSource(code=2)
    ImportType = Choice(("Copy", "File", "MySQL"), code=17)
    MappedFields = Mapping(code=13)
    UpdateDuplicates = Bool()
    UpdateExisting = Bool()
    TriggerAutoResponders = Bool()
    TriggerActions = Bool()
    FieldTerminator = Text(strip=False, max_length=4, code=5)
    FieldEncloser = Text(strip=False, max_length=1, code=5)

    @validates_schema
    def source(self, data, **kwargs):
        if "ListID" not in data and "SubscriberListID" not in data:
            raise ParamError(1, "missing required parameter listid")
        if data.get("ImportType") == "MySQL":
            raise ParamError(17, "importing from a MySQL server is not supported; export a CSV file and "
                                 "import that (Subscribers.Import or `sendmill import`)")
        if "ImportData" not in data and "ImportFile" not in data:
            raise ParamError(2, "send the CSV text in ImportData or upload it as the file ImportFile")


def import_subscribers(ctx: Context, p: dict) -> dict:
    options = ImportOptions(mapping=p.get("MappedFields"), delimiter=p.get("FieldTerminator", ","),
                            quotechar=p.get("FieldEncloser", '"'),
                            update_existing=p.get("UpdateDuplicates", False) or p.get("UpdateExisting", False),
                            trigger_autoresponders=p.get("TriggerAutoResponders", False) or p.get("TriggerActions", False))
    source = p.get("ImportFile", p.get("ImportData"))
    report = ctx.uow.subscribers.import_csv(ctx.actor, p.get("ListID") or p["SubscriberListID"], source, options)
    return import_report(report)


SUBSCRIBERS_IMPORT = Command(
    name="Subscribers.Import", run=import_subscribers, params=ImportParams, success_extra=OK,
    errors={
        1: "Missing ListID parameter",
        2: "Missing ImportData parameter",
        4: "Invalid ListID",
        5: "Failed to parse CSV data",
        7: "EmailAddress field mapped more than once",
        8: "EmailAddress field not mapped",
        13: "Invalid MappedFields parameter",
        17: "Import type not supported",
    },
    raises={ListNotFound: 4, ImportFormatError: 5, EmailMappedTwice: 7, EmailNotMapped: 8, InvalidFieldMapping: 13},
)

COMMANDS = (SUBSCRIBERS_IMPORT,)
