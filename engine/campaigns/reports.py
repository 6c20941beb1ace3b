"""The modern API's view of campaigns: status mapping, campaign cards, statistics, recipients by activity.

The legacy status machine stays the one source of truth; the modern `status` / `visibilityStatus`
/ `distributionStatus` are derived from it (README "Modern campaign statuses"):

  legacy status                           visibilityStatus  distributionStatus
  Draft                                   DRAFT             NOT_STARTED
  Draft, PublishOnRSS=Enabled             PUBLISHED         NOT_STARTED   (landing page only)
  Draft, reason "Paused" (PauseScheduling) PUBLISHED        PAUSED
  Ready                                   PUBLISHED         SCHEDULED
  Pending Approval                        PUBLISHED         IN_MODERATION
  Sending                                 PUBLISHED         SENDING
  Paused                                  PUBLISHED         PAUSED
  Paused with a reason (account hold)     PUBLISHED         REJECTED
  Sent                                    PUBLISHED         DISTRIBUTED
  Sent, reason "Canceled"                 PUBLISHED         TERMINATED
  Failed                                  PUBLISHED         REJECTED
Every campaign that exists is `status` ACTIVE: deletion is permanent and nothing is archived.

Figures come from the delivery ledger (`deliveries`) and `subscriber_activity`, counted per
person (subscriber) over every instance of the campaign. `ledger_counts()` is the one definition of
"delivered" (a ledger row `sent`, and no bounce) and "unknown" (a ledger row in doubt): the legacy
Campaign.Get (TotalDelivered) and the modern statistics show the same numbers.
"""
from __future__ import annotations

import functools

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import and_, bindparam, case, distinct, func, not_, or_, select

from engine.accounts.auth import Actor
from engine.models.campaigns import ACCOUNT_HOLD_REASONS
from engine.errors import CampaignNotFound
from engine.hot_sql import HotStatement
from engine.models import Campaign, Delivery, Email, SendInstance
from engine.models.activity import SubscriberActivity
from engine.models.outbox import OutboxEvent

CAMPAIGN_STATUSES = ("UNKNOWN", "ACTIVE", "ARCHIVED", "DELETED")
VISIBILITY_STATUSES = ("UNKNOWN", "DRAFT", "PUBLISHED", "TEMPLATE")
DISTRIBUTION_STATUSES = ("UNKNOWN", "NOT_STARTED", "SCHEDULED", "IN_DETECTION", "IN_MODERATION", "SAMPLING",
                         "SENDING", "REJECTED", "TERMINATED", "DISTRIBUTED", "PAUSED")
# UNKNOWN is Sendmill's: people whose message is in doubt (handed to a relay by a worker that was killed,
# or whose connection died after the message went out); never retried automatically.
ACTIVITIES = ("DELIVERED", "OPENED", "CLICKED", "BOUNCED", "NOT_SENT", "UNKNOWN")
# A Draft whose public landing page is on: the legacy "publish on RSS" switch is that public page.
LANDING_PAGE_ON = "Enabled"
# status_reason of a Draft whose scheduling was paused (Pause Scheduling); cleared on publish.
SCHEDULING_PAUSED = "Paused"
NOT_SENT_STATES = ("failed", "skipped")
MAX_STATISTICS_IDS = 100

_DISTRIBUTION = {"Ready": "SCHEDULED", "Pending Approval": "IN_MODERATION", "Sending": "SENDING",
                 "Paused": "PAUSED", "Failed": "REJECTED"}
_IMG = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


# --- status mapping ------------------------------------------------------------------------------
def visibility_status(c: Campaign) -> str:
    if c.status == "Draft" and c.status_reason != SCHEDULING_PAUSED and c.publish_on_rss != LANDING_PAGE_ON:
        return "DRAFT"
    return "PUBLISHED"


def distribution_status(c: Campaign) -> str:
    if c.status == "Draft":
        return "PAUSED" if c.status_reason == SCHEDULING_PAUSED else "NOT_STARTED"
    if c.status == "Sent":
        return "TERMINATED" if c.status_reason == "Canceled" else "DISTRIBUTED"
    if c.status == "Paused" and c.status_reason in ACCOUNT_HOLD_REASONS:
        return "REJECTED"   # held by the tick because the account may not send (hold_for_account)
    return _DISTRIBUTION.get(c.status, "UNKNOWN")


def is_paused(c: Campaign) -> bool:
    return distribution_status(c) == "PAUSED"


def _draft_clause():
    return and_(Campaign.status == "Draft", Campaign.status_reason != SCHEDULING_PAUSED,
                Campaign.publish_on_rss != LANDING_PAGE_ON)


def _visibility_clause(wanted: set[str]):
    clauses = []
    if "DRAFT" in wanted:
        clauses.append(_draft_clause())
    if "PUBLISHED" in wanted:
        clauses.append(not_(_draft_clause()))
    return or_(*clauses) if clauses else Campaign.id.is_(None)


# --- landing pages ---------------------------------------------------------------------------------
# v2 (with the campaign's public_nonce, engine/models/link_targets.py). Codes of v1, `<id>-<mac>`, name
# an id only and are no longer answered: on SQLite, before revision 0002, one could already name
# another account's campaign that got a deleted campaign's id (README "Security").
_LANDING_CODE = re.compile(r"([1-9]\d{0,17})-([0-9a-f]{8})-([0-9a-f]{20})")


def _landing_mac(secret: str, campaign_id: str, nonce: str) -> str:
    # Domain separation: the same secret signs sessions and tracking tokens.
    key = hmac.new(secret.encode(), b"sendmill/landing-page/v2", hashlib.sha256).digest()
    return hmac.new(key, f"{campaign_id}-{nonce}".encode(), hashlib.sha256).hexdigest()[:20]


def landing_code(settings, campaign: Campaign) -> str:
    """`<id>-<nonce>-<mac>`: names one campaign; the MAC stops anyone from walking the campaign ids, the
    nonce from opening a campaign that later got the same id."""
    campaign_id, nonce = str(campaign.id), campaign.public_nonce
    return f"{campaign_id}-{nonce}-{_landing_mac(settings.secret_key, campaign_id, nonce)}"


def landing_code_campaign(settings, code: str) -> tuple[int, str] | None:
    """The campaign id and nonce a landing-page code names, or None when it was not signed by us."""
    match = _LANDING_CODE.fullmatch(code or "")
    if match is None:
        return None
    campaign_id, nonce, mac = match.groups()
    for secret in (settings.secret_key, *settings.previous_secret_keys):
        if hmac.compare_digest(_landing_mac(secret, campaign_id, nonce), mac):
            return int(campaign_id), nonce
    return None


def landing_page_url(settings, campaign: Campaign) -> str:
    return f"{settings.base_url.rstrip('/')}/so/{landing_code(settings, campaign)}"


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

    # --- campaigns -------------------------------------------------------------------------------
    def campaigns(self, actor: Actor, *, limit: int, offset: int, statuses: list[str], visibilities: list[str],
             with_statistics: bool) -> list[CampaignCard]:
        """The owner's campaigns, most recently updated first."""
        query = select(Campaign).where(Campaign.owner_user_id == actor.id)
        if statuses and "ACTIVE" not in statuses:
            return []   # nothing is ever archived or deleted-but-kept
        if visibilities:
            query = query.where(_visibility_clause(set(visibilities)))
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


@functools.cache
def _ledger_counts_query():
    """Both ledger counts in one pass (the hot path of Campaign.Get and Campaigns.Get), built once: the
    conditions are DELIVERED's and UNKNOWN's of CampaignReports._ledger(), each counting its people."""
    ids = bindparam("campaign_ids", expanding=True)
    delivered = case((CampaignReports._ledger("DELIVERED", ids).whereclause, Delivery.subscriber_id))
    unknown = case((Delivery.state == "unknown", Delivery.subscriber_id))
    return HotStatement(
        select(SendInstance.campaign_id, func.count(distinct(delivered)), func.count(distinct(unknown)))
        .select_from(Delivery).join(SendInstance, SendInstance.id == Delivery.instance_id)
        .where(SendInstance.campaign_id.in_(ids), Delivery.state.in_(("sent", "unknown")))
        .group_by(SendInstance.campaign_id), lists=("campaign_ids",))
