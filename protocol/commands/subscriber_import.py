"""Subscribers.Import (v5.9.4 subscribers.md, "Legacy Multi-Step"): a CSV file or text into a list.

Three ways in: one call with the data (the Oempro one-step form legacy clients send), or the two steps
(`ImportStep=1` stores the upload and answers `ImportID` + `ImportFields`; `ImportStep=2` with `ImportID`
and `MappedFields` starts it). Every upload becomes an import job (engine/audience/import_jobs.py); one of
at most SYNC_BYTES is imported in the request and answered with its totals, a larger one is queued for
the tick / worker and answered with its ImportID (README "Imports")."""
from __future__ import annotations

import json

from marshmallow import ValidationError, validates_schema

from engine.audience.import_jobs import SYNC_BYTES
from engine.audience.import_runner import job_report
from engine.audience.import_uploads import JobOptions
from engine.errors import (
    EmailMappedTwice, EmailNotMapped, ImportAlreadyProcessed, ImportFormatError, ImportJobNotFound, InvalidFieldMapping,
    ListNotFound, UploadTooLarge,
)
from protocol.command import Command, Context
from protocol.commands.subscriber_params import OK
from protocol.params import MISSING, Bool, Choice, Id, Int, LegacyField, LegacySchema, ParamError, Text
from protocol.views.import_jobs import import_fields, queued_report
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
    ImportStep = Int(min_value=1, max_value=2, code=3)
    ImportID = Id(code=13)
    ImportData = CsvSource(code=2)
    ImportFile = CsvSource(code=2)
    ImportFileName = Text(max_length=255, code=9)
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
        step = data.get("ImportStep")
        if step == 2:
            if "ImportID" not in data:
                raise ParamError(13, "step 2 needs the ImportID that step 1 answered")
            return
        if step == 1 and "ImportType" not in data:
            raise ParamError(1, "missing required parameter importtype (Copy or File)")
        if "ListID" not in data and "SubscriberListID" not in data:
            raise ParamError(1, "missing required parameter listid")
        if data.get("ImportType") == "MySQL":
            raise ParamError(17, "importing from a MySQL server is not supported; export a CSV file and "
                                 "import that (Subscribers.Import or `sendmill import`)")
        if data.get("ImportType") == "File" and "ImportFile" not in data:
            if "ImportFileName" not in data:
                raise ParamError(9, "upload the file as ImportFile (multipart), or send its text in ImportData")
            raise ParamError(13, "Sendmill has no server-side imports directory: upload the file as ImportFile "
                                 "(multipart) or send its text in ImportData")
        if "ImportData" not in data and "ImportFile" not in data:
            raise ParamError(2, "send the CSV text in ImportData or upload it as the file ImportFile")


def _options(p: dict) -> JobOptions:
    return JobOptions(mapping=p.get("MappedFields"), delimiter=p.get("FieldTerminator", ","),
                      quotechar=p.get("FieldEncloser", '"'),
                      update_existing=p.get("UpdateDuplicates", False) or p.get("UpdateExisting", False),
                      trigger_actions=p.get("TriggerAutoResponders", False) or p.get("TriggerActions", False))


def import_subscribers(ctx: Context, p: dict) -> dict:
    jobs, step = ctx.uow.import_jobs, p.get("ImportStep")
    if step == 2:
        job = jobs.map_fields(ctx.actor, p["ImportID"], p.get("MappedFields"), _options(p))
    else:
        source = p.get("ImportFile", p.get("ImportData"))
        job, _lines = jobs.upload(ctx.actor, p.get("ListID") or p["SubscriberListID"], source, _options(p),
                                  mapped=step is None)
        if step == 1:
            return import_fields(job)
    if job.upload_bytes > SYNC_BYTES:
        return queued_report(job)
    return {"ImportID": job.id, **import_report(job_report(jobs.run_now(job)))}


SUBSCRIBERS_IMPORT = Command(
    name="Subscribers.Import", run=import_subscribers, params=ImportParams, success_extra=OK,
    errors={
        1: "Missing ImportType parameter (step 1) or ListID parameter",
        2: "Missing ImportData parameter",
        3: "Invalid ImportStep",
        4: "Invalid ListID",
        5: "Failed to parse CSV data",
        6: "Import record already processed",
        7: "EmailAddress field mapped more than once",
        8: "EmailAddress field not mapped",
        9: "Missing ImportFileName parameter",
        13: "Invalid MappedFields parameter, or import file (ImportID) does not exist",
        17: "Import type not supported",
        18: "File size exceeds maximum allowed size",
    },
    raises={ListNotFound: 4, ImportFormatError: 5, ImportAlreadyProcessed: 6, EmailMappedTwice: 7, EmailNotMapped: 8,
            InvalidFieldMapping: 13, ImportJobNotFound: 13, UploadTooLarge: 18},
)

COMMANDS = (SUBSCRIBERS_IMPORT,)
