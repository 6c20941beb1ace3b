"""The modern API's figures of campaigns: campaign cards, statistics, recipients by activity, throughput.

Statuses are engine/campaigns/modern_status.py's, landing-page links engine/campaigns/landing_pages.py's.
Figures come from the delivery ledger (`deliveries`) and `subscriber_activity`, counted per
person (subscriber) over every instance of the campaign. `ledger_counts()` is the one definition of
"delivered" (a ledger row `sent`, and no bounce) and "unknown" (a ledger row in doubt): the legacy
Campaign.Get (TotalDelivered) and the modern statistics show the same numbers.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import bindparam, case, distinct, func, select

from engine.accounts.auth import Actor
from engine.campaigns.landing_pages import landing_page_url
from engine.campaigns.modern_status import distribution_status, visibility_clause, visibility_status
from engine.errors import CampaignNotFound
from engine.hot_sql import HotStatement
from engine.models import Campaign, Delivery, Email, SendInstance
from engine.models.activity import SubscriberActivity
from engine.models.outbox import OutboxEvent

# UNKNOWN is Sendmill's: people whose message is in doubt (handed to a relay by a worker that was killed,
# or whose connection died after the message went out); never retried automatically.
ACTIVITIES = ("DELIVERED", "OPENED", "CLICKED", "BOUNCED", "NOT_SENT", "UNKNOWN")
NOT_SENT_STATES = ("failed", "skipped")
MAX_STATISTICS_IDS = 100

_IMG = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


# --- figures ---------------------------------------------------------------------------------------
@dataclass
class Statistics:
    campaign_id: int
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    bounced: int = 0
    complained: int = 0
    not_sent: int = 0
    unknown: int = 0           # people whose message is in doubt (ledger row `unknown`)
    mails_sent: int = 0        # ledger rows sent (a person of a recurring series counts per instance)
    total_opens: int = 0
    total_clicks: int = 0
    landing_page_opened: int = 0


@dataclass(frozen=True)
class LedgerCounts:
    """People of a campaign, by what the delivery ledger says about their message."""

    delivered: int = 0         # a row `sent` and no bounce (the modern statistics' `delivered`)
    unknown: int = 0           # a row `unknown`: it may or may not have reached the relay


@dataclass
class CampaignCard:
    """What the modern Campaign object shows: the campaign plus what other tables know about it."""

    campaign: Campaign
    subject: str = ""
    first_image_url: str = ""
    landing_page_url: str = ""
    date_published: datetime | None = None
    statistics: Statistics | None = None
    visibility: str = field(init=False)
    distribution: str = field(init=False)

    def __post_init__(self):
        self.visibility = visibility_status(self.campaign)
        self.distribution = distribution_status(self.campaign)


def first_image(html: str) -> str:
    match = _IMG.search(html or "")
    return next((g for g in match.groups() if g), "") if match else ""


def campaign_object(card: CampaignCard) -> dict:
    """The modern Campaign object (also the body of the `created` event)."""
    c = card.campaign
    obj = {"campaignId": str(c.id), "title": c.name or card.subject, "firstImageUrl": card.first_image_url,
           "editorType": "WEB", "status": "ACTIVE", "visibilityStatus": card.visibility,
           "distributionStatus": card.distribution, "dateCreated": iso(c.created_at),
           "dateUpdated": iso(c.last_activity_at), "emailSubject": card.subject}
    if card.visibility == "PUBLISHED":
        data = {"landingPageUrl": card.landing_page_url}
        if card.date_published is not None:
            data["datePublished"] = iso(card.date_published)
        if card.statistics is not None:
            s = card.statistics
            data["statistics"] = {
                "landingPage": {"opened": s.landing_page_opened, "clicked": 0},
                "emailCampaign": {"delivered": s.delivered, "opened": s.opened, "clicked": s.clicked},
                "total": {"mailsSent": s.mails_sent, "opened": s.total_opens, "clicked": s.total_clicks}}
        obj["publishingData"] = data
    return obj


def ratio(part: int, whole: int) -> str:
    """A percentage as the legacy two-decimal string ("1.00" for 100 of 10,000)."""
    return f"{(100.0 * part / whole) if whole else 0.0:.2f}"


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.replace(tzinfo=None).isoformat() + "Z"


class CampaignReports:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def throughput(self, campaign: Campaign) -> tuple[float, int]:
        """(emails per second, duration in seconds) of the campaign's sending so far (Campaign.Get's
        CampaignThroughput)."""
        if campaign.send_process_started_on is None:
            return 0.0, 0
        end = campaign.send_process_finished_on or self.uow.clock()
        seconds = max(int((end - campaign.send_process_started_on).total_seconds()), 0)
        if seconds == 0:
            return float(campaign.total_sent), 0
        return round(campaign.total_sent / seconds, 2), seconds

    # --- campaigns -------------------------------------------------------------------------------
    def campaigns(self, actor: Actor, *, limit: int, offset: int, statuses: list[str], visibilities: list[str],
             with_statistics: bool) -> list[CampaignCard]:
        """The owner's campaigns, most recently updated first."""
        query = select(Campaign).where(Campaign.owner_user_id == actor.id)
        if statuses and "ACTIVE" not in statuses:
            return []   # nothing is ever archived or deleted-but-kept
        if visibilities:
            query = query.where(visibility_clause(set(visibilities)))
        query = query.order_by(Campaign.last_activity_at.desc(), Campaign.id.desc()).offset(offset).limit(limit)
        return self.cards(list(self.s.scalars(query)), with_statistics)

    def card(self, campaign: Campaign, with_statistics: bool = False) -> CampaignCard:
        return self.cards([campaign], with_statistics)[0]

    def cards(self, campaigns: list[Campaign], with_statistics: bool = False) -> list[CampaignCard]:
        if not campaigns:
            return []
        ids = [c.id for c in campaigns]
        email_ids = {c.email_id for c in campaigns if c.email_id}
        emails = {e.id: e for e in self.s.scalars(select(Email).where(Email.id.in_(email_ids)))} if email_ids else {}
        published = self.publish_times(ids)
        stats = self.figures(campaigns) if with_statistics else {}
        cards = []
        for c in campaigns:
            email = emails.get(c.email_id)
            cards.append(CampaignCard(
                c, subject=email.subject if email else "", first_image_url=first_image(email.html_content)
                if email else "", landing_page_url=landing_page_url(self.uow.settings, c),
                # Published through the modern API: its event's time; by the legacy commands: the
                # send start, or the last change for a campaign armed but not started yet.
                date_published=published.get(c.id) or c.send_process_started_on or (
                    c.last_activity_at if visibility_status(c) == "PUBLISHED" else None),
                statistics=stats.get(c.id)))
        return cards

    def publish_times(self, campaign_ids: list[int]) -> dict[int, datetime]:
        """When each campaign was last published, from its campaign_published_event in the outbox."""
        from engine.events.outbox import CAMPAIGN

        rows = self.s.execute(select(OutboxEvent.entity_id, func.max(OutboxEvent.occurred_at)).where(
            OutboxEvent.entity_fqdn == CAMPAIGN, OutboxEvent.slug == "campaign_published_event",
            OutboxEvent.entity_id.in_([str(i) for i in campaign_ids])).group_by(OutboxEvent.entity_id))
        return {int(entity_id): moment for entity_id, moment in rows}

    # --- statistics ------------------------------------------------------------------------------
    def statistics(self, actor: Actor, campaign_ids: list[int]) -> list[Statistics]:
        """Figures of up to 100 of the owner's campaigns, in the order asked; a stranger is CampaignNotFound."""
        wanted = list(dict.fromkeys(campaign_ids))
        campaigns = {c.id: c for c in self.s.scalars(select(Campaign).where(
            Campaign.id.in_(wanted), Campaign.owner_user_id == actor.id))}
        missing = [i for i in wanted if i not in campaigns]
        if missing:
            raise CampaignNotFound(f"campaign {missing[0]} does not exist or does not belong to the user")
        figures = self.figures(list(campaigns.values()))
        return [figures[i] for i in wanted]

    def figures(self, campaigns: list[Campaign]) -> dict[int, Statistics]:
        ids = [c.id for c in campaigns]
        out = {c.id: Statistics(c.id, total_opens=c.total_opens, total_clicks=c.total_clicks,
                                landing_page_opened=c.total_views_on_browser) for c in campaigns}
        a = SubscriberActivity
        # One GROUP BY per source, over the (campaign_id, kind) index, for every campaign at once.
        for cid, kind, people in self.s.execute(
                select(a.campaign_id, a.kind, func.count(distinct(a.subscriber_id)))
                .where(a.campaign_id.in_(ids), a.kind.in_(("open", "click", "bounce", "complaint")))
                .group_by(a.campaign_id, a.kind)):
            setattr(out[cid], {"open": "opened", "click": "clicked", "bounce": "bounced",
                               "complaint": "complained"}[kind], people)
        for cid, counts in self.ledger_counts(ids).items():
            out[cid].delivered, out[cid].unknown = counts.delivered, counts.unknown
        for cid, people in self._not_sent_people(ids).items():
            out[cid].not_sent = people
        for cid, rows in self.s.execute(
                select(SendInstance.campaign_id, func.count(Delivery.id))
                .join(SendInstance, SendInstance.id == Delivery.instance_id)
                .where(SendInstance.campaign_id.in_(ids), Delivery.state == "sent").group_by(SendInstance.campaign_id)):
            out[cid].mails_sent = rows
        return out

    def ledger_counts(self, campaign_ids: list[int]) -> dict[int, LedgerCounts]:
        """Delivered and in-doubt people of each campaign (no owner check: the caller read the campaigns)."""
        if not campaign_ids:
            return {}
        self.s.flush()   # read past the ORM: what this unit changed must be sent first
        counts = {cid: LedgerCounts(d, u) for cid, d, u in _ledger_counts_query().read(
            self.s.connection(), {"campaign_ids": list(campaign_ids)})}
        return {cid: counts.get(cid, LedgerCounts(0, 0)) for cid in campaign_ids}

    def _not_sent_people(self, campaign_ids: list[int]) -> dict[int, int]:
        """People of each campaign with a failed or skipped ledger row and no sent one: one pass over the
        campaigns' ledger grouped by person. (A NOT EXISTS probe per failed row rescans the ledger for each
        one, since nothing indexes deliveries by subscriber: 65 s for 100,000 failed rows on SQLite.)"""
        if not campaign_ids:
            return {}
        people = (select(SendInstance.campaign_id.label("campaign_id"))
                  .select_from(Delivery).join(SendInstance, SendInstance.id == Delivery.instance_id)
                  .where(SendInstance.campaign_id.in_(campaign_ids))
                  .group_by(SendInstance.campaign_id, Delivery.subscriber_id)
                  .having(func.sum(case((Delivery.state == "sent", 1), else_=0)) == 0,
                          func.sum(case((Delivery.state.in_(NOT_SENT_STATES), 1), else_=0)) > 0)).subquery()
        return dict(self.s.execute(select(people.c.campaign_id, func.count()).group_by(people.c.campaign_id)).all())

    @staticmethod
    def _ledger(activity: str, campaign_ids: list[int]):
        """Ledger rows of the campaigns that count for DELIVERED (sent, never bounced), UNKNOWN (in doubt)
        or NOT_SENT (failed or skipped, and the person got no copy from any instance)."""
        base = select(Delivery).join(SendInstance, SendInstance.id == Delivery.instance_id).where(
            SendInstance.campaign_id.in_(campaign_ids))
        if activity == "UNKNOWN":
            return base.where(Delivery.state == "unknown")
        if activity == "DELIVERED":
            bounced = select(SubscriberActivity.id).where(
                SubscriberActivity.campaign_id == SendInstance.campaign_id,
                SubscriberActivity.subscriber_id == Delivery.subscriber_id, SubscriberActivity.kind == "bounce")
            return base.where(Delivery.state == "sent", ~bounced.exists())
        other = Delivery.__table__.alias("sent_row")
        other_instance = SendInstance.__table__.alias("sent_instance")
        got_one = select(other.c.id).join(other_instance, other_instance.c.id == other.c.instance_id).where(
            other_instance.c.campaign_id == SendInstance.campaign_id,
            other.c.subscriber_id == Delivery.subscriber_id, other.c.state == "sent")
        return base.where(Delivery.state.in_(NOT_SENT_STATES), ~got_one.exists())

    # --- recipients ------------------------------------------------------------------------------
    def recipients(self, actor: Actor, campaign_id: int, activity: str, *, limit: int,
                   after: int = 0) -> tuple[list[tuple[int, datetime | None]], bool]:
        """(subscriber id, last activity time) in id order after `after`; and whether more follow."""
        self.uow.campaigns.get(actor, campaign_id)
        if activity in ("DELIVERED", "NOT_SENT", "UNKNOWN"):
            # The ledger keeps no time for a message that was not sent: the instance's end stands for it.
            moment = func.max(Delivery.sent_at) if activity == "DELIVERED" else \
                func.max(func.coalesce(SendInstance.finished_at, SendInstance.started_at))
            query = (self._ledger(activity, [campaign_id])
                     .with_only_columns(Delivery.subscriber_id, moment)
                     .where(Delivery.subscriber_id > after).group_by(Delivery.subscriber_id)
                     .order_by(Delivery.subscriber_id))
        else:
            a = SubscriberActivity
            kind = {"OPENED": "open", "CLICKED": "click", "BOUNCED": "bounce"}[activity]
            query = (select(a.subscriber_id, func.max(a.occurred_at))
                     .where(a.campaign_id == campaign_id, a.kind == kind, a.subscriber_id > after)
                     .group_by(a.subscriber_id).order_by(a.subscriber_id))
        # Keyset paging on the subscriber id: one row more than asked tells whether a next page exists.
        rows = [(sid, moment) for sid, moment in self.s.execute(query.limit(limit + 1))]
        return rows[:limit], len(rows) > limit


def ledger_counts_select(campaign_ids):
    """Both ledger counts in one pass, per campaign (campaign_id, delivered, unknown): the conditions are
    DELIVERED's and UNKNOWN's of CampaignReports._ledger(), each counting its people. `campaign_ids`: an
    expanding bind parameter, or a list of them (Campaign.Get's one statement: campaign_view.py)."""
    delivered = case((CampaignReports._ledger("DELIVERED", campaign_ids).whereclause, Delivery.subscriber_id))
    unknown = case((Delivery.state == "unknown", Delivery.subscriber_id))
    return (select(SendInstance.campaign_id.label("campaign_id"), func.count(distinct(delivered)).label("delivered"),
                   func.count(distinct(unknown)).label("unknown"))
            .select_from(Delivery).join(SendInstance, SendInstance.id == Delivery.instance_id)
            .where(SendInstance.campaign_id.in_(campaign_ids), Delivery.state.in_(("sent", "unknown")))
            .group_by(SendInstance.campaign_id))


@functools.cache
def _ledger_counts_query():
    """ledger_counts_select for a list of campaigns (the hot path of Campaigns.Get), built once."""
    return HotStatement(ledger_counts_select(bindparam("campaign_ids", expanding=True)), lists=("campaign_ids",))
