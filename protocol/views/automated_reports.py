"""How an automated report looks on the wire (reports.md): dates in the owner's time zone, each also
formatted for display ("Nov 10, 2025 2:30 PM")."""
from __future__ import annotations

from datetime import datetime

from engine.models.reports import AutomatedReport


def _stamp(moment: datetime | None, zone) -> str | None:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if moment is not None else None


def _formatted(moment: datetime | None, zone, with_time: bool = True) -> str | None:
    if moment is None:
        return None
    local = moment.astimezone(zone)
    text = f"{local:%b} {local.day}, {local.year}"
    if with_time:
        text += f" {(local.hour % 12) or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
    return text


def report_object(report: AutomatedReport, tag_names: dict[int, str], zone, *, listed: bool = False) -> dict:
    tags = [int(t) for t in report.filter_tags.split(",") if t]
    row = {
        "ReportID": report.id, "ReportName": report.name, "FilterType": report.filter_type,
        "FilterTags": report.filter_tags or None,
    }
    if report.filter_type == "tags":
        row["FilterTagNames"] = [tag_names[t] for t in tags if t in tag_names]
    row.update({
        "Frequency": report.frequency, "RecipientEmails": report.recipient_emails, "Status": report.status,
        "LastRunDate": _stamp(report.last_run_at, zone), "LastRunDateFormatted": _formatted(report.last_run_at, zone),
        "NextRunDate": _stamp(report.next_run_at, zone), "NextRunDateFormatted": _formatted(report.next_run_at, zone),
    })
    if listed:
        row["CreatedDate"] = report.created_at.astimezone(zone).strftime("%Y-%m-%d")
        row["CreatedDateFormatted"] = _formatted(report.created_at, zone, with_time=False)
    else:
        row["CreatedDate"] = _stamp(report.created_at, zone)
    return row
