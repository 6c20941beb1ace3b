"""Journey.Export.Submit and Journey.Export.Get (v5.9.4 journeys.md): a CSV of the caller's journeys, made
by the tick. `download=1` on a Completed job answers the CSV itself (text/csv, as an attachment)."""
from __future__ import annotations

import json

from engine.automation.journeys import exports
from engine.automation.journeys.exports import ExportNotFound
from protocol.command import V1, Command, Context
from protocol.commands.journey_params import StrictDate, window
from protocol.params import Bool, Choice, Id, LegacySchema, ParamError
from protocol.downloads import Download
from protocol.views.journeys import when

PERMISSION = "Campaign.Create"


class SubmitParams(LegacySchema):
    StatsStartDate = StrictDate(code=1)
    StatsEndDate = StrictDate(code=2)
    Status = Choice(("Enabled", "Disabled", "all"), code=4)
    IncludeActions = Bool()


def submit(ctx: Context, p: dict) -> dict:
    start, end = window(p, ctx.uow.journey_stats.today(ctx.actor, ctx.now), "StatsStartDate", "StatsEndDate", 3)
    job = exports.submit(ctx.uow, ctx.actor, start, end, p.get("Status", "all"), p.get("IncludeActions", False))
    return {"ExportID": job.id}


JOURNEY_EXPORT_SUBMIT = Command(
    name="Journey.Export.Submit", run=submit, params=SubmitParams, permission=PERMISSION, error_shape=V1,
    errors={1: "Invalid StatsStartDate format", 2: "Invalid StatsEndDate format",
            3: "StatsStartDate must not be after StatsEndDate",
            4: "Invalid Status value (expected: Enabled, Disabled, or all)"},
)


class GetParams(LegacySchema):
    ExportID = Id(required=True, code=1, invalid_code=2)
    Download = Bool()


def get(ctx: Context, p: dict) -> dict | Download:
    job = exports.get(ctx.uow, ctx.actor, p["ExportID"])
    if p.get("Download"):
        if job.status != "Completed":
            raise ParamError(5, f"the job is {job.status}")
        content = job.content.encode("utf-8")
        return Download(f"journey-export-{job.id}.csv", "csv", lambda _uow: iter((content,)))
    return {"ExportJob": {"ExportID": job.id, "Module": "JourneyExport", "Status": job.status,
                          "ExportOptions": json.loads(job.options), "SubmittedAt": when(job.submitted_at),
                          "StartedAt": when(job.started_at), "UpdatedAt": when(job.updated_at),
                          "FinishedAt": when(job.finished_at), "ExpiresAt": when(job.expires_at),
                          "DownloadSize": job.download_size}}


JOURNEY_EXPORT_GET = Command(
    name="Journey.Export.Get", run=get, params=GetParams, permission=PERMISSION, error_shape=V1, read_only=True,
    errors={1: "Missing ExportID parameter", 2: "Invalid ExportID parameter", 3: "Export job not found (HTTP 404)",
            4: "Wrong module (job exists but is not a JourneyExport, HTTP 404)",
            5: "Download requested but Status is not Completed (HTTP 409)"},
    raises={ExportNotFound: 3},
)

COMMANDS = (JOURNEY_EXPORT_SUBMIT, JOURNEY_EXPORT_GET)
