"""Automated reports (reports.md): their settings, owner checks, and the periods they cover.

A report covers whole periods in the owner's time zone (User.time_zone, UTC when unknown): a day, an
ISO week (Monday to Sunday) or a calendar month. It is mailed once the period is over, at the owner's
midnight that ends it (`next_run_at`), by engine/campaigns/report_mail.py; the first period mailed is
the one in which the report was created. A scheduler that was down for several periods mails only the
most recent one (like a recurring campaign, never one mail per missed period).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.accounts.auth import Actor
from engine.errors import InvalidReportEmail, InvalidReportTag, NothingToUpdate, ReportNotFound
from engine.models import Tag, User
from engine.models.reports import AutomatedReport
from engine.validation import normalize_email

MAX_RECIPIENTS = 50
SETTINGS = ("name", "frequency", "filter_type", "filter_tags", "recipients", "status")


@dataclass(frozen=True)
class Period:
    start: date   # first day covered
    end: date     # the day after the last one covered


def zone_of(owner: User | None):
    try:
        return ZoneInfo(owner.time_zone) if owner is not None and owner.time_zone else timezone.utc
    except (ValueError, KeyError, OSError):
        return timezone.utc


def period_containing(frequency: str, day: date) -> Period:
    if frequency == "daily":
        return Period(day, day + timedelta(days=1))
    if frequency == "weekly":
        monday = day - timedelta(days=day.weekday())
        return Period(monday, monday + timedelta(days=7))
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following)


def local_midnight(day: date, zone) -> datetime:
    """The UTC instant at which `day` starts in `zone`."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)


def last_complete_period(frequency: str, now: datetime, zone) -> Period:
    """The most recent period that is over at `now`."""
    current = period_containing(frequency, now.astimezone(zone).date())
    return period_containing(frequency, current.start - timedelta(days=1))


def next_run(frequency: str, after: datetime, zone) -> datetime:
    """When the period running at `after` is over: the moment its report is due."""
    return local_midnight(period_containing(frequency, after.astimezone(zone).date()).end, zone)


def clean_recipients(addresses: list[str]) -> str:
    """The recipients as stored (comma-separated, each once); InvalidReportEmail names a bad one."""
    kept: dict[str, str] = {}
    for address in addresses:
        address = address.strip()
        if not address:
            continue
        normalized = normalize_email(address)
        if normalized is None or len(address) > 255:
            raise InvalidReportEmail(f"Invalid email address: {address[:255]}")
        kept.setdefault(normalized, address)
    if not kept:
        raise InvalidReportEmail("Invalid email address: no recipient given")
    if len(kept) > MAX_RECIPIENTS:
        raise InvalidReportEmail(f"Invalid email address: at most {MAX_RECIPIENTS} recipients")
    return ",".join(kept.values())


class AutomatedReports:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def create(self, actor: Actor, settings: dict) -> AutomatedReport:
        """A new report of the caller (`settings`: SETTINGS keys)."""
        now = self.uow.clock()
        report = AutomatedReport(owner_user_id=actor.id, name=settings["name"], frequency=settings["frequency"],
                                 filter_type=settings["filter_type"], status=settings.get("status", "enabled"),
                                 created_at=now)
        self._apply(actor, report, settings)
        report.next_run_at = next_run(report.frequency, now, self.owner_zone(actor.id))
        self.s.add(report)
        self.s.flush()
        return report

    def update(self, actor: Actor, report_id: int, settings: dict) -> AutomatedReport:
        report = self.get(actor, report_id, for_update=True)
        if not settings:
            raise NothingToUpdate()
        for key in ("name", "frequency", "filter_type", "status"):
            if key in settings:
                setattr(report, key, settings[key])
        self._apply(actor, report, settings)
        if "frequency" in settings:
            # The new period starts now; one already mailed is not mailed again (ledger key).
            report.next_run_at = next_run(report.frequency, self.uow.clock(), self.owner_zone(actor.id))
        return report

    def toggle(self, actor: Actor, report_id: int) -> AutomatedReport:
        report = self.get(actor, report_id, for_update=True)
        report.status = "disabled" if report.status == "enabled" else "enabled"
        if report.status == "enabled":
            # Periods that ended while it was off are not mailed afterwards.
            report.next_run_at = next_run(report.frequency, self.uow.clock(), self.owner_zone(actor.id))
        return report

    def delete(self, actor: Actor, report_id: int) -> None:
        self.s.delete(self.get(actor, report_id, for_update=True))
        self.s.flush()

    def get(self, actor: Actor, report_id: int, *, for_update: bool = False) -> AutomatedReport:
        query = select(AutomatedReport).where(AutomatedReport.id == report_id,
                                              AutomatedReport.owner_user_id == actor.id)
        report = self.s.scalar(query.with_for_update() if for_update else query)
        if report is None:
            raise ReportNotFound()
        return report

    def search(self, actor: Actor, status: str | None = None, frequency: str | None = None) -> list[AutomatedReport]:
        query = select(AutomatedReport).where(AutomatedReport.owner_user_id == actor.id)
        if status:
            query = query.where(AutomatedReport.status == status)
        if frequency:
            query = query.where(AutomatedReport.frequency == frequency)
        return list(self.s.scalars(query.order_by(AutomatedReport.id)))

    def tag_names(self, reports: list[AutomatedReport]) -> dict[int, str]:
        """Tag ID → name for the tags the reports filter on."""
        ids = {int(t) for r in reports for t in r.filter_tags.split(",") if t}
        if not ids:
            return {}
        return dict(self.s.execute(select(Tag.id, Tag.name).where(Tag.id.in_(ids))).all())

    def _apply(self, actor: Actor, report: AutomatedReport, settings: dict) -> None:
        if "recipients" in settings:
            report.recipient_emails = clean_recipients(settings["recipients"])
        if "filter_tags" in settings:
            report.filter_tags = self._owned_tags(actor, settings["filter_tags"])
        if report.filter_type == "all":
            report.filter_tags = ""
        elif not report.filter_tags:
            raise InvalidReportTag("Tag IDs required when filter type is tags (FilterTags)")

    def _owned_tags(self, actor: Actor, tag_ids: list[int]) -> str:
        wanted = list(dict.fromkeys(tag_ids))
        owned = set(self.s.scalars(select(Tag.id).where(Tag.id.in_(wanted), Tag.owner_user_id == actor.id)))
        missing = [t for t in wanted if t not in owned]
        if missing:
            raise InvalidReportTag(f"Invalid tag ID {missing[0]} (tag not found or does not belong to user)")
        return ",".join(str(t) for t in wanted)

    def owner_zone(self, owner_id: int):
        """The time zone the owner's reports are shown and cut into periods in."""
        return zone_of(self.s.get(User, owner_id))
