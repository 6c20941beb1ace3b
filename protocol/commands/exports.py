"""Subscribers.Export.Post / .Get (v5.9.4 subscribers.md) and Campaigns.Export.Post / .Get (campaigns.md).

Post stores a job that is ready at once; Get reports on it, or with Download=1 streams the file, made
from the live data in keyset batches (engine/audience/exports.py; README "Reports and exports"). Errors
carry the pages' `Errors: [{Code, Message}]` beside the usual ErrorCode / ErrorText. Codes the pages lack
are Sendmill's additions (README, "Error codes Sendmill adds").
"""
from __future__ import annotations

import json

from marshmallow import ValidationError

from engine.audience.exports import SubscriberExportRequest, subscriber_chunks
from engine.audience.subscriber_search import NAMED_SEGMENTS
from engine.campaigns.exports import DEFAULT_FIELDS, EXPORT_FIELDS, CampaignFilters, campaign_chunks
from engine.errors import (
    ExportExpired, ExportJobNotFound, ExportJobOtherModule, ExportLimitReached, InvalidRules, ListNotFound,
    SegmentUnavailable, UnknownExportField,
)
from engine.models.campaigns import CAMPAIGN_STATUSES
from protocol.command import ERRORS, Command, Context
from protocol.downloads import Download
from protocol.params import Bool, Choice, Id, IdList, LegacyField, LegacySchema, ParamError, Text
from protocol.schedule_params import SendDateField

SCHEDULE_TYPES = ("Not Scheduled", "Immediate", "Future", "Recursive")
OK = {"ErrorText": ""}


class Names(LegacyField):
    """A list of names: an array, or a comma-separated string; blanks dropped."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        items = [str(v).strip() if isinstance(v, (str, int)) else None for v in self._list_items(value)]
        if any(item is None for item in items):
            raise ValidationError("must be a list of names")
        return [item for item in items if item]


class Rules(LegacyField):
    """RulesJSON of an export: an array (or a JSON string of one); [] selects everybody."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except ValueError:
                raise ValidationError("is not valid JSON")
        if not isinstance(value, (list, dict)):
            raise ValidationError("must be a JSON array of rules")
        return value


class Target(LegacyField):
    """A named subscriber group (Active, Suppressed, Unsubscribed, Soft bounced, Hard bounced…) or a segment ID."""

    def _deserialize(self, value, attr, data, **kwargs) -> str | int:
        text = self._scalar_text(value).strip()
        if text.isdigit() and 0 < int(text) < 10**18:
            return int(text)
        named = NAMED_SEGMENTS.get(text.lower().replace(" ", "").replace("-", ""))
        if named is None:
            raise ValidationError("must be Active, Suppressed, Unsubscribed, Soft bounced, Hard bounced or a segment ID")
        return named


def _job_row(job) -> dict:
    options = json.loads(job.options)
    return {"ExportID": job.id, "Module": job.module, "Status": "Completed",
            "ExportOptions": {"Command": options["Command"], "ListID": job.list_id, "FileFormat": job.file_format,
                              "Fields": options["Fields"]},
            "SubmittedAt": job.submitted_at, "FinishedAt": job.finished_at,
            # Made while downloaded (README "Reports and exports"): the size is not known beforehand.
            "DownloadSize": None, "RowCount": job.row_count, "ExpiresAt": job.expires_at}


# --- Subscribers.Export.Post -------------------------------------------------------------------
class SubscriberExportParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=6)
    RulesJSON = Rules(required=True, code=2, invalid_code=7)
    RulesOperator = Choice(("and", "or"), required=True, code=3, invalid_code=8)
    ExportFormat = Choice(("csv", "json"), required=True, code=4, invalid_code=9)
    FieldsToExport = Names(required=True, code=5)
    Target = Target(code=11)


def export_subscribers(ctx: Context, p: dict) -> dict:
    if not p["FieldsToExport"]:
        raise ParamError(5, "FieldsToExport names no field")
    job = ctx.uow.exports.submit_subscribers(ctx.actor, SubscriberExportRequest(
        p["ListID"], p["RulesJSON"], p["RulesOperator"], p["ExportFormat"], p["FieldsToExport"],
        p.get("Target", "All")))
    return {"ExportID": job.id}


SUBSCRIBERS_EXPORT_POST = Command(
    name="Subscribers.Export.Post", run=export_subscribers, params=SubscriberExportParams,
    permission="Subscribers.Import", error_shape=ERRORS, error_text_key="ErrorText",
    errors={1: "Missing ListID parameter", 2: "Missing RulesJSON parameter", 3: "Missing RulesOperator parameter",
            4: "Missing ExportFormat parameter", 5: "Missing FieldsToExport parameter", 6: "Invalid ListID parameter",
            7: "Invalid RulesJSON syntax", 8: 'RulesOperator must be either "and" or "or"',
            9: 'ExportFormat must be either "csv" or "json"', 10: "List not found",
            11: "Target must be valid status or segment ID", 12: "Segment not found",
            13: "FieldsToExport contains unknown field(s)",
            14: "Too many exports in the last hour (SENDMILL_EXPORTS_PER_HOUR)"},  # 13, 14: Sendmill's additions
    raises={ListNotFound: 10, InvalidRules: 7, SegmentUnavailable: 12, UnknownExportField: 13,
            ExportLimitReached: 14},
)


# --- Subscribers.Export.Get --------------------------------------------------------------------
class SubscriberExportGetParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=2)
    ExportID = Id(code=3)
    Download = Bool()


def subscriber_export(ctx: Context, p: dict):
    jobs = ctx.uow.exports.jobs(ctx.actor, "SubscriberExport", list_id=p["ListID"], job_id=p.get("ExportID"))
    if "ExportID" not in p:
        return {"ExportJobs": [_job_row(job) for job in jobs]}
    job = jobs[0]
    if not p.get("Download"):
        return {"ExportJob": _job_row(job)}
    ctx.uow.exports.downloadable(job)
    ctx.uow.exports.subscriber_plan(job)   # criteria that no longer apply fail here, not halfway through the file
    owner_id, job_id = ctx.actor.id, job.id
    return Download(f"subscribers-{job.list_id}-{job.id}.{job.file_format}", job.file_format,
                    lambda open_uow: subscriber_chunks(open_uow, owner_id, job_id))


SUBSCRIBERS_EXPORT_GET = Command(
    name="Subscribers.Export.Get", run=subscriber_export, params=SubscriberExportGetParams,
    permission="Subscribers.Import", error_shape=ERRORS,
    errors={1: "Missing ListID parameter", 2: "Invalid ListID parameter", 3: "Invalid ExportID parameter",
            4: "List not found", 5: "Invalid ExportID parameter", 6: "Export job not found",
            7: "Export file has expired and is no longer available for download",
            # 8: Sendmill's addition (the file is made on download, README "Reports and exports").
            8: "The export's criteria no longer apply (a field or segment they name is gone); submit it again"},
    raises={ListNotFound: 4, ExportJobNotFound: 6, ExportJobOtherModule: 6, ExportExpired: 7, InvalidRules: 8,
            SegmentUnavailable: 8},
)


# --- Campaigns.Export.Post ---------------------------------------------------------------------
class CampaignExportParams(LegacySchema):
    ExportFormat = Text(code=1)
    FieldsToExport = Names(code=2, invalid_code=3)
    CampaignStatus = Choice(("All", *CAMPAIGN_STATUSES, "Scheduled"), aliases={"Pending": "Pending Approval"},
                            code=4)
    ScheduleType = Names(code=4)
    SearchKeyword = Text(max_length=255, code=4)
    CampaignIDs = IdList(code=4)
    Tags = IdList(code=4)
    Date_From = SendDateField(code=4)
    Date_To = SendDateField(code=4)
    Include_AutoResend = Bool()
    SplitABTestStatistics = Bool()


def export_campaigns(ctx: Context, p: dict) -> dict:
    if p.get("ExportFormat", "csv").lower() != "csv":
        raise ParamError(1, 'only "csv" is currently supported')
    fields = p.get("FieldsToExport", list(DEFAULT_FIELDS))
    if not fields:
        raise ParamError(2, "FieldsToExport is empty")
    known = {f.lower(): f for f in EXPORT_FIELDS}
    unknown = [f for f in fields if f.lower() not in known]
    if unknown:
        raise ParamError(3, ", ".join(unknown)[:200])
    schedule_types = {t.lower(): t for t in SCHEDULE_TYPES}
    if any(t.lower() not in schedule_types for t in p.get("ScheduleType", [])):
        raise ParamError(4, f"ScheduleType must be among {', '.join(SCHEDULE_TYPES)}")
    filters = CampaignFilters(
        status=p.get("CampaignStatus", "All"), schedule_types=[schedule_types[t.lower()] for t in p.get("ScheduleType", [])],
        keyword=p.get("SearchKeyword"), campaign_ids=p.get("CampaignIDs", []), tag_ids=p.get("Tags", []),
        date_from=p["Date_From"].isoformat() if p.get("Date_From") else None,
        date_to=p["Date_To"].isoformat() if p.get("Date_To") else None)
    job = ctx.uow.campaign_exports.submit(ctx.actor, filters, list(dict.fromkeys(known[f.lower()] for f in fields)))
    return {"JobID": job.id, "ExportID": job.id, "EstimatedRows": job.row_count}


CAMPAIGNS_EXPORT_POST = Command(
    name="Campaigns.Export.Post", run=export_campaigns, params=CampaignExportParams, permission="Campaigns.Get",
    error_shape=ERRORS, success_extra=OK,
    errors={1: 'Invalid ExportFormat (only "csv" is currently supported)',
            2: "FieldsToExport must be a non-empty array", 3: "FieldsToExport contains unknown field(s)",
            4: "Invalid filter (CampaignStatus, ScheduleType, SearchKeyword, CampaignIDs, Tags, "
               "Date_From or Date_To)",
            5: "Too many exports in the last hour (SENDMILL_EXPORTS_PER_HOUR)"},  # 4, 5: Sendmill's additions
    raises={ExportLimitReached: 5},
)


# --- Campaigns.Export.Get ----------------------------------------------------------------------
class CampaignExportGetParams(LegacySchema):
    JobID = Id(code=1, invalid_code=2)
    ExportID = Id(code=1, invalid_code=2)
    Download = Bool()


def campaign_export(ctx: Context, p: dict):
    job_id = p.get("JobID") or p.get("ExportID")
    if job_id is None:
        raise ParamError(1, "missing required parameter jobid")
    [job] = ctx.uow.exports.jobs(ctx.actor, "CampaignExport", job_id=job_id)
    if p.get("Download"):
        ctx.uow.exports.downloadable(job)
        return Download(f"campaigns-{job.id}.csv", "csv", lambda open_uow: campaign_chunks(open_uow, job_id))
    return {"JobID": job.id, "Status": "Finished", "Progress": 100, "RowCount": job.row_count,
            "DownloadURL": f"api.php?Command=campaigns.export.get&jobid={job.id}&download=1",
            "DownloadSize": None, "ExpiresAt": job.expires_at}


CAMPAIGNS_EXPORT_GET = Command(
    name="Campaigns.Export.Get", run=campaign_export, params=CampaignExportGetParams, permission="Campaigns.Get",
    error_shape=ERRORS, success_extra=OK,
    errors={1: "Missing JobID parameter", 2: "Invalid JobID parameter (not a positive integer)",
            3: "Export job not found (wrong owner or never existed)",
            4: "Export job not found (job exists but is not a CampaignExport)",
            5: "Download requested but the job is not finished yet",
            6: "Export file has expired and is no longer available for download"},  # 6: Sendmill's addition
    raises={ExportJobNotFound: 3, ExportJobOtherModule: 4, ExportExpired: 6},
)

COMMANDS = (SUBSCRIBERS_EXPORT_POST, SUBSCRIBERS_EXPORT_GET, CAMPAIGNS_EXPORT_POST, CAMPAIGNS_EXPORT_GET)
