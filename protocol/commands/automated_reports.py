"""Automated_Reports.Create / Update / Delete / Get / List / Toggle (v5.9.4 reports.md): campaign
summaries mailed daily, weekly or monthly (engine/campaigns/automated_reports.py; the mailing is
engine/campaigns/report_mail.py, run by the tick).

Errors are scalar, as the page shows them; a missing required parameter is answered by its name
(`"ErrorCode": "reportname"`), the page's way, which is why those codes have numbers of 100 and above
inside Sendmill only. Codes the page lacks are Sendmill's additions (README "Automated reports").
"""
from __future__ import annotations

from marshmallow import validates_schema

from engine.errors import InvalidReportEmail, InvalidReportTag, NothingToUpdate, ReportNotFound
from engine.models.reports import REPORT_FILTER_TYPES, REPORT_FREQUENCIES, REPORT_STATUSES
from protocol.command import SCALAR, Command, Context
from protocol.params import Choice, Id, IdList, LegacySchema, ParamError, Text
from protocol.views.automated_reports import report_object

OK = {"ErrorText": ""}
PERMISSION = "Campaigns.Get"
REPORT_ID_MISSING = 100
# Wire parameter → the engine's setting name (engine/campaigns/automated_reports.py SETTINGS).
SETTINGS = {"ReportName": "name", "Frequency": "frequency", "FilterType": "filter_type", "FilterTags": "filter_tags",
            "RecipientEmails": "recipients", "Status": "status"}


def _settings(p: dict) -> dict:
    out = {SETTINGS[key]: value for key, value in p.items() if key in SETTINGS}
    if "recipients" in out:
        out["recipients"] = out["recipients"].split(",")
    return out


def _answer(ctx: Context, reports, *, listed: bool = False):
    names = ctx.uow.automated_reports.tag_names(reports)
    zone = ctx.uow.automated_reports.owner_zone(ctx.actor.id)
    return [report_object(r, names, zone, listed=listed) for r in reports]


class ReportIdParams(LegacySchema):
    ReportID = Id(required=True, code=REPORT_ID_MISSING, invalid_code=2)


ID_ERRORS = {REPORT_ID_MISSING: "Missing required parameter reportid", 2: "Report not found or access denied"}


# --- Automated_Reports.Create ------------------------------------------------------------------
class CreateParams(LegacySchema):
    ReportName = Text(required=True, max_length=255, code=101, invalid_code=9)
    Frequency = Choice(REPORT_FREQUENCIES, required=True, code=102, invalid_code=2)
    FilterType = Choice(REPORT_FILTER_TYPES, required=True, code=103, invalid_code=3)
    FilterTags = IdList(code=5, invalid_code=6)
    RecipientEmails = Text(required=True, max_length=20_000, code=104, invalid_code=4)
    Status = Choice(REPORT_STATUSES, code=8)

    @validates_schema
    def tags_given(self, data, **kwargs):
        if data["FilterType"] == "tags" and "FilterTags" not in data:
            raise ParamError(5, "FilterTags (comma-separated campaign tag IDs) is required when FilterType is tags")


def create(ctx: Context, p: dict) -> dict:
    return {"ReportID": ctx.uow.automated_reports.create(ctx.actor, _settings(p)).id}


AUTOMATED_REPORTS_CREATE = Command(
    name="Automated_Reports.Create", run=create, params=CreateParams, error_shape=SCALAR, success_extra=OK,
    permission=PERMISSION,
    error_keys={101: "reportname", 102: "frequency", 103: "filtertype", 104: "recipientemails"},
    errors={
        101: "Missing required parameter reportname",
        102: "Missing required parameter frequency",
        103: "Missing required parameter filtertype",
        104: "Missing required parameter recipientemails",
        2: "Invalid frequency. Must be daily, weekly, or monthly",
        3: "Invalid filter type. Must be all or tags",
        4: "Invalid email address",
        5: "Tag IDs required when filter type is tags",
        6: "Invalid tag ID (tag not found or does not belong to user)",
        7: "Failed to create report",
        8: "Invalid status. Must be enabled or disabled",
        9: "Invalid ReportName (over 255 characters)",
    },
    raises={InvalidReportEmail: 4, InvalidReportTag: 6},
)


# --- Automated_Reports.Update ------------------------------------------------------------------
class UpdateParams(ReportIdParams):
    ReportName = Text(max_length=255, code=10)
    Frequency = Choice(REPORT_FREQUENCIES, code=3)
    FilterType = Choice(REPORT_FILTER_TYPES, code=4)
    FilterTags = IdList(code=5)
    RecipientEmails = Text(max_length=20_000, code=6)
    Status = Choice(REPORT_STATUSES, code=7)


def update(ctx: Context, p: dict) -> dict:
    return {"ReportID": ctx.uow.automated_reports.update(ctx.actor, p["ReportID"], _settings(p)).id}


AUTOMATED_REPORTS_UPDATE = Command(
    name="Automated_Reports.Update", run=update, params=UpdateParams, error_shape=SCALAR, success_extra=OK,
    permission=PERMISSION, error_keys={REPORT_ID_MISSING: "reportid"},
    errors={
        **ID_ERRORS,
        3: "Invalid frequency. Must be daily, weekly, or monthly",
        4: "Invalid filter type. Must be all or tags",
        5: "Invalid tag ID (tag not found or does not belong to user)",
        6: "Invalid email address",
        7: "Invalid status. Must be enabled or disabled",
        8: "No data to update",
        9: "Failed to update report",
        10: "Invalid ReportName (over 255 characters)",
    },
    raises={ReportNotFound: 2, InvalidReportTag: 5, InvalidReportEmail: 6, NothingToUpdate: 8},
)


# --- Automated_Reports.Delete / Get / Toggle ---------------------------------------------------
def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.automated_reports.delete(ctx.actor, p["ReportID"])
    return {"Message": "Report deleted successfully"}


def get(ctx: Context, p: dict) -> dict:
    return {"Report": _answer(ctx, [ctx.uow.automated_reports.get(ctx.actor, p["ReportID"])])[0]}


def toggle(ctx: Context, p: dict) -> dict:
    report = ctx.uow.automated_reports.toggle(ctx.actor, p["ReportID"])
    return {"ReportID": report.id, "NewStatus": report.status, "Message": f"Report status updated to {report.status}"}


def _by_id(name: str, run, **extra) -> Command:
    return Command(name=name, run=run, params=ReportIdParams, error_shape=SCALAR, success_extra=OK,
                   permission=PERMISSION, error_keys={REPORT_ID_MISSING: "reportid"}, errors=ID_ERRORS,
                   raises={ReportNotFound: 2}, **extra)


AUTOMATED_REPORTS_DELETE = _by_id("Automated_Reports.Delete", delete)
AUTOMATED_REPORTS_GET = _by_id("Automated_Reports.Get", get, read_only=True)
AUTOMATED_REPORTS_TOGGLE = _by_id("Automated_Reports.Toggle", toggle)


# --- Automated_Reports.List ----------------------------------------------------------------------
class ListParams(LegacySchema):
    Status = Choice(REPORT_STATUSES, code=1)
    Frequency = Choice(REPORT_FREQUENCIES, code=2)


def list_reports(ctx: Context, p: dict) -> dict:
    reports = ctx.uow.automated_reports.search(ctx.actor, p.get("Status"), p.get("Frequency"))
    return {"Reports": _answer(ctx, reports, listed=True), "TotalReports": len(reports)}


AUTOMATED_REPORTS_LIST = Command(
    name="Automated_Reports.List", run=list_reports, params=ListParams, error_shape=SCALAR, success_extra=OK,
    permission=PERMISSION, read_only=True,
    errors={1: "Invalid status filter. Must be enabled or disabled",
            2: "Invalid frequency filter. Must be daily, weekly, or monthly"},
)

COMMANDS = (AUTOMATED_REPORTS_CREATE, AUTOMATED_REPORTS_UPDATE, AUTOMATED_REPORTS_DELETE, AUTOMATED_REPORTS_GET,
            AUTOMATED_REPORTS_LIST, AUTOMATED_REPORTS_TOGGLE)
