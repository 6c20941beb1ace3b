"""Campaign exports (Campaigns.Export.Post / Get): the owner's campaigns with their figures as CSV.

Like subscriber exports (engine/audience/exports.py) the job stores the filters and the file is made
while it is downloaded, in keyset batches each read in its own short transaction. Figures are the
campaign's counters, and TotalDelivered the delivery ledger's (the same numbers Campaigns.Get shows).
Sendmill tracks no conversions, forwards or revenue: those columns are 0.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterator

from sqlalchemy import func, or_, select

from engine.accounts.auth import Actor
from engine.audience.export_limit import require_export_allowed
from engine.audience.exports import RETENTION, CsvRows
from engine.campaigns.listing import filter_status
from engine.models import Campaign, CampaignRecipient, CampaignTag, Email, Segment, SubscriberList
from engine.models.exports import ExportJob

BATCH_CAMPAIGNS = 500
COUNTERS = {
    "TotalRecipients": "total_recipients", "TotalSent": "total_sent", "TotalFailed": "total_failed",
    "TotalOpens": "total_opens", "UniqueOpens": "unique_opens", "TotalClicks": "total_clicks",
    "UniqueClicks": "unique_clicks", "TotalForwards": "total_forwards", "UniqueForwards": "unique_forwards",
    "TotalViewsOnBrowser": "total_views_on_browser", "UniqueViewsOnBrowser": "unique_views_on_browser",
    "TotalUnsubscriptions": "total_unsubscriptions", "TotalHardBounces": "total_hard_bounces",
    "TotalSoftBounces": "total_soft_bounces",
}
EXPORT_FIELDS = ("CampaignID", "CampaignName", "EmailSubject", "CampaignStatus", "ScheduleType", "SendDate", "SendTime",
                 "CreateDateTime", "SendProcessStartedOn", "SendProcessFinishedOn", "TotalRecipients", "TotalSent",
                 "TotalFailed", "TotalDelivered", "TotalOpens", "UniqueOpens", "TotalClicks", "UniqueClicks",
                 "TotalConversions", "UniqueConversions", "TotalForwards", "UniqueForwards", "TotalViewsOnBrowser",
                 "UniqueViewsOnBrowser", "TotalUnsubscriptions", "TotalHardBounces", "TotalSoftBounces",
                 "TotalRevenue", "RecipientLists", "RecipientSegments")
DEFAULT_FIELDS = ("CampaignID", "CampaignName", "EmailSubject", "CampaignStatus", "SendProcessStartedOn",
                  "SendProcessFinishedOn", "TotalRecipients", "TotalSent", "TotalDelivered", "UniqueOpens",
                  "UniqueClicks", "TotalUnsubscriptions", "TotalHardBounces", "TotalSoftBounces")


@dataclass
class CampaignFilters:
    status: str = "All"
    schedule_types: list[str] = field(default_factory=list)
    keyword: str | None = None
    campaign_ids: list[int] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    date_from: str | None = None   # YYYY-MM-DD, on the send start (or the creation of a campaign never sent)
    date_to: str | None = None


class CampaignExports:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def submit(self, actor: Actor, filters: CampaignFilters, fields: list[str]) -> ExportJob:
        """Count the owner's campaigns the filters select and store the job (ready to download at once)."""
        owner_id = actor.id
        require_export_allowed(self.uow, owner_id)
        count = self.s.scalar(select(func.count()).select_from(Campaign).where(*conditions(owner_id, filters)))
        now = self.uow.clock()
        options = {"Command": "ExportCampaigns", "FileFormat": "csv", "Fields": fields, "OwnerUserID": owner_id,
                   "Filters": asdict(filters)}
        job = ExportJob(owner_user_id=owner_id, module="CampaignExport",
                        options=json.dumps(options), file_format="csv", row_count=count, submitted_at=now,
                        finished_at=now, expires_at=now + RETENTION)
        self.s.add(job)
        self.s.flush()
        return job

    def rows(self, fields: list[str], campaigns: list[tuple[Campaign, str]]) -> list[list]:
        """The CSV rows of a batch of campaigns (with their subjects): three more queries per batch."""
        ids = [c.id for c, _ in campaigns]
        ledgers = self.uow.campaign_reports.ledger_counts(ids)
        lists: dict[int, list[str]] = {i: [] for i in ids}
        segments: dict[int, list[str]] = {i: [] for i in ids}
        for cid, list_name, segment_name in self.s.execute(
                select(CampaignRecipient.campaign_id, SubscriberList.name, Segment.name)
                .join(SubscriberList, SubscriberList.id == CampaignRecipient.list_id)
                .outerjoin(Segment, Segment.id == CampaignRecipient.segment_id)
                .where(CampaignRecipient.campaign_id.in_(ids), CampaignRecipient.excluded.is_(False))
                .order_by(CampaignRecipient.id)):
            lists[cid].append(list_name)
            if segment_name:
                segments[cid].append(segment_name)
        out = []
        for c, subject in campaigns:
            values = {"CampaignID": c.id, "CampaignName": c.name, "EmailSubject": subject or "",
                      "CampaignStatus": c.status, "ScheduleType": c.schedule_type,
                      "SendDate": c.send_date.isoformat() if c.send_date else "", "SendTime": c.send_time,
                      "CreateDateTime": c.created_at, "SendProcessStartedOn": c.send_process_started_on,
                      "SendProcessFinishedOn": c.send_process_finished_on,
                      "TotalDelivered": ledgers[c.id].delivered, "TotalConversions": 0, "UniqueConversions": 0,
                      "TotalRevenue": "0.00", "RecipientLists": "; ".join(dict.fromkeys(lists[c.id])),
                      "RecipientSegments": "; ".join(dict.fromkeys(segments[c.id]))}
            values.update({name: getattr(c, column) for name, column in COUNTERS.items()})
            out.append([_text(values[f]) for f in fields] + [c.id])   # the keyset id last, as CsvRows expects
        return out


def _text(value):
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value


def conditions(owner_id: int, f: CampaignFilters) -> list:
    where = [Campaign.owner_user_id == owner_id]
    status_query = filter_status(select(Campaign), f.status)
    if status_query.whereclause is not None:
        where.append(status_query.whereclause)
    if f.schedule_types:
        where.append(Campaign.schedule_type.in_(f.schedule_types))
    if f.keyword:
        subject = select(Email.id).where(Email.id == Campaign.email_id, Email.subject.icontains(f.keyword,
                                                                                                 autoescape=True))
        where.append(or_(Campaign.name.icontains(f.keyword, autoescape=True), subject.exists()))
    if f.campaign_ids:
        where.append(Campaign.id.in_(f.campaign_ids))
    if f.tag_ids:
        where.append(select(CampaignTag.campaign_id).where(CampaignTag.campaign_id == Campaign.id,
                                                           CampaignTag.tag_id.in_(f.tag_ids)).exists())
    moment = func.coalesce(Campaign.send_process_started_on, Campaign.created_at)
    if f.date_from:
        where.append(moment >= datetime.combine(date.fromisoformat(f.date_from), time(), timezone.utc))
    if f.date_to:
        where.append(moment < datetime.combine(date.fromisoformat(f.date_to), time(), timezone.utc) + timedelta(days=1))
    return where


def campaign_chunks(open_uow: Callable, job_id: int) -> Iterator[bytes]:
    """The CSV of a campaign export job, BATCH_CAMPAIGNS campaigns per short transaction."""
    with open_uow() as uow:
        options = json.loads(uow.session.get(ExportJob, job_id).options)
    fields, where = options["Fields"], conditions(options["OwnerUserID"], CampaignFilters(**options["Filters"]))
    writer = CsvRows(fields)
    yield writer.start()
    last = 0
    while True:
        with open_uow() as uow:
            uow.read_only()
            batch = [(c, subject) for c, subject in uow.session.execute(
                select(Campaign, Email.subject).outerjoin(Email, Email.id == Campaign.email_id)
                .where(*where, Campaign.id > last).order_by(Campaign.id).limit(BATCH_CAMPAIGNS))]
            if not batch:
                break
            rows = uow.campaign_exports.rows(fields, batch)
            last = batch[-1][0].id
        yield writer.rows(rows)
