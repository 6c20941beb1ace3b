"""subscribers.import.post / .get / .prepare (v5.9.4 subscribers.md, "Modern Single-Step"): a CSV import
as a background job, its status and per-row report, and the third-party preparation step.

Post stores the upload as an import job (engine/audience/import_jobs.py): a file of at most SYNC_ROWS
rows is imported in the request (`"ImportType": "sync"`), a larger one by the tick / worker
(`"async"`); Get reports its progress. Sendmill fetches nothing from elsewhere: `ImportFrom.CSV.URL`
and the Mailchimp, ActiveCampaign and Drip sources answer their documented failure codes, saying so.
"""
from __future__ import annotations

import json

from marshmallow import ValidationError, validates_schema

from engine.audience.import_jobs import SYNC_ROWS
from engine.audience.subscriber_tags import clean_name
from engine.audience.import_uploads import JobOptions
from engine.errors import (
    DomainError, EmailMappedTwice, EmailNotMapped, ImportFormatError, ImportJobNotFound, InvalidFieldMapping, ListNotFound,
    UploadTooLarge,
)
from protocol.command import SCALAR, Command, Context
from protocol.commands.subscriber_import import Mapping
from protocol.params import Id, LegacyField, LegacySchema, ParamError
from protocol.views.import_jobs import import_job

OK = {"ErrorText": ""}
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}
THIRD_PARTY = ("Mailchimp", "ActiveCampaign", "Drip")


class StrictBool(LegacyField):
    """true/false (1/0, yes/no, on/off); anything else is an invalid value, not false."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if isinstance(value, bool):
            return value
        text = self._scalar_text(value).strip().lower()
        if text not in TRUE | FALSE:
            raise ValidationError("must be true or false")
        return text in TRUE


class JsonObject(LegacyField):
    """An object (a JSON body's object, a PHP-style `Name[Key]` map, or the same as a JSON string)."""

    def _deserialize(self, value, attr, data, **kwargs) -> dict:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise ValidationError("must be an object (or the same as JSON)")
        if not isinstance(value, dict):
            raise ValidationError("must be an object")
        return value


class TagNames(LegacyField):
    """Tags: an array of names, its JSON, or a comma list; an empty array is allowed. Each name is cleaned
    as Subscriber.Tags.Create cleans it, so a bad one refuses the request instead of failing every row."""

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[str, ...]:
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise ValidationError("must be an array of tag names")
        items = self._list_items(value) if value != "" else []
        if any(isinstance(item, (list, dict)) for item in items):
            raise ValidationError("must be an array of tag names")
        try:
            return tuple(dict.fromkeys(clean_name(str(item)) for item in items if str(item).strip()))
        except DomainError as exc:   # EmptyTagName, InvalidTagName
            raise ValidationError(f"{str(exc.message)}") from None


# --- subscribers.import.post ---------------------------------------------------------------------
class PostParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=20)
    AddToGlobalSuppressionList = StrictBool(required=True, code=4, invalid_code=9)
    AddToSuppressionList = StrictBool(required=True, code=5, invalid_code=10)
    UpdateDuplicates = StrictBool(required=True, code=6, invalid_code=11)
    TriggerActions = StrictBool(required=True, code=7, invalid_code=12)
    Tags = TagNames(required=True, code=21, invalid_code=22)
    ImportFrom = JsonObject(required=True, code=14)

    @validates_schema
    def csv_source(self, data, **kwargs):
        source = data["ImportFrom"]
        csv = source.get("CSV") if isinstance(source.get("CSV"), dict) else None
        if csv is None:
            if any(name in source for name in THIRD_PARTY):
                raise ParamError(14, "Mailchimp, ActiveCampaign and Drip imports are not supported; export "
                                     "the audience as CSV and send it in ImportFrom.CSV.Data")
            raise ParamError(14, "send the file in ImportFrom.CSV.Data")
        if "Data" not in csv and "URL" in csv:
            raise ParamError(18, "Sendmill does not fetch remote files; send the file itself in ImportFrom.CSV.Data")
        if not isinstance(csv.get("Data"), str) or not csv["Data"].strip():
            raise ParamError(14, "ImportFrom.CSV.Data is missing or empty")
        if not csv.get("FieldTerminator"):
            raise ParamError(2, "missing ImportFrom.CSV.FieldTerminator")
        if "EscapedBy" not in csv:
            raise ParamError(16, "missing ImportFrom.CSV.EscapedBy")
        if "MappedFields" not in csv:
            raise ParamError(8, "missing ImportFrom.CSV.MappedFields")
        try:
            data["_mapping"] = Mapping().deserialize(csv["MappedFields"])
        except ValidationError as exc:
            raise ParamError(13, f"ImportFrom.CSV.MappedFields {exc.messages[0]}") from None
        if not data["_mapping"]:
            raise ParamError(15, "ImportFrom.CSV.MappedFields maps no column")


def post(ctx: Context, p: dict) -> dict:
    csv = p["ImportFrom"]["CSV"]
    options = JobOptions(mapping=p["_mapping"], update_existing=p["UpdateDuplicates"],
                         delimiter=str(csv["FieldTerminator"]), quotechar=str(csv.get("FieldEncloser") or ""),
                         tags=p["Tags"], trigger_actions=p["TriggerActions"])
    jobs = ctx.uow.import_jobs
    job, lines = jobs.upload(ctx.actor, p["ListID"], csv["Data"], options, mapped=True)
    if lines - 1 > SYNC_ROWS:
        return {"ImportID": job.id, "ImportType": "async"}
    jobs.run_now(job)
    return {"ImportID": job.id, "ImportType": "sync"}


SUBSCRIBERS_IMPORT_POST = Command(
    name="subscribers.import.post", run=post, params=PostParams, error_shape=SCALAR, success_extra=OK,
    permission="Subscribers.Import",
    errors={
        1: "Missing ListID parameter",
        2: "Missing FieldTerminator parameter",
        4: "Missing AddToGlobalSuppressionList parameter",
        5: "Missing AddToSuppressionList parameter",
        6: "Missing UpdateDuplicates parameter",
        7: "Missing TriggerActions parameter",
        8: "Missing MappedFields parameter",
        9: "Invalid AddToGlobalSuppressionList parameter",
        10: "Invalid AddToSuppressionList parameter",
        11: "Invalid UpdateDuplicates parameter",
        12: "Invalid TriggerActions parameter",
        13: "Invalid MappedFields parameter",
        14: "ImportFrom source must be provided",
        15: "Fields are not mapped",
        16: "Missing EscapedBy parameter",
        17: "Field mapping is invalid",
        18: "ImportFrom.CSV.URL remote data fetch failure",
        19: "List not found",
        20: "Invalid ListID parameter / Failed to create import record",
        21: "Missing Tags parameter",
        22: "Invalid Tags parameter (a tag name that is too long or has characters tags cannot have)",
    },
    raises={ListNotFound: 19, ImportFormatError: 20, UploadTooLarge: 20, EmailNotMapped: 15, EmailMappedTwice: 17,
            InvalidFieldMapping: 17},
)


# --- subscribers.import.get ----------------------------------------------------------------------
class GetParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=3)
    ImportID = Id(required=True, code=2, invalid_code=4)


def get(ctx: Context, p: dict) -> dict:
    return import_job(ctx.uow.import_jobs.get(ctx.actor, p["ImportID"], list_id=p["ListID"]))


SUBSCRIBERS_IMPORT_GET = Command(
    name="subscribers.import.get", run=get, params=GetParams, error_shape=SCALAR, success_extra=OK,
    permission="Subscribers.Import", read_only=True,
    errors={
        1: "Missing ListID parameter",
        2: "Missing ImportID parameter",
        3: "Invalid ListID parameter",
        4: "Invalid ImportID parameter",
        5: "List not found",
        6: "Invalid ImportID parameter",
        7: "Import job not found",
    },
    raises={ListNotFound: 5, ImportJobNotFound: 7},
)


# --- subscribers.import.prepare ------------------------------------------------------------------
class PrepareParams(LegacySchema):
    ImportFrom = JsonObject(required=True, code=1, invalid_code=2)

    @validates_schema
    def third_party(self, data, **kwargs):
        source = data["ImportFrom"]
        given = [name for name in THIRD_PARTY if isinstance(source.get(name), dict)]
        if not given:
            raise ParamError(2, "ImportFrom must name Mailchimp, ActiveCampaign or Drip")
        settings = source[given[0]]
        missing = {"Mailchimp": (("APIKey", 7), ("Server", 8)), "ActiveCampaign": (("APIKey", 3), ("AccountName", 4)),
                   "Drip": (("APIKey", 9),)}[given[0]]
        for key, code in missing:
            if not str(settings.get(key) or "").strip():
                raise ParamError(code, f"missing ImportFrom.{given[0]}.{key}")
        # Nothing is fetched: Sendmill does not hold third-party credentials or call their APIs.
        raise ParamError(5 if given[0] == "ActiveCampaign" else 9,
                         f"Sendmill does not connect to {given[0]}; export the audience there as CSV and import it "
                         "with subscribers.import.post (ImportFrom.CSV.Data)")


def prepare(ctx: Context, p: dict) -> dict:
    return {}   # unreachable: every source is refused by the schema (see PrepareParams.third_party)


SUBSCRIBERS_IMPORT_PREPARE = Command(
    name="subscribers.import.prepare", run=prepare, params=PrepareParams, error_shape=SCALAR, success_extra=OK,
    permission="Subscribers.Import", read_only=True,
    errors={
        1: "ImportFrom source must be provided",
        2: "Invalid ImportFrom source",
        3: "ActiveCampaign API key is missing",
        4: "ActiveCampaign account name is missing",
        5: "ActiveCampaign Error",
        7: "Mailchimp API key is missing",
        8: "Mailchimp server is missing",
        9: "Mailchimp Error / Drip Error",
    },
)

COMMANDS = (SUBSCRIBERS_IMPORT_POST, SUBSCRIBERS_IMPORT_GET, SUBSCRIBERS_IMPORT_PREPARE)
