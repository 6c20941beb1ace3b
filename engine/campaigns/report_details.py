"""What a campaign report shows beyond the counters on the campaign row: delivery progress of the current
send, opens and clicks over time, clicks per link, and deliveries and bounces by recipient domain.

Every figure is one aggregate statement over the campaign's rows (never a statement per recipient or
per link), so a report costs the same with ten recipients or a million. No owner check here: the
caller loaded the campaign through CampaignService.get().
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, distinct, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from engine.models import Campaign, Delivery, SendInstance, SubscriberActivity, Subscriber

PENDING_STATES = ("pending", "claimed")


class email_domain(FunctionElement):
    """The part of an address after its '@' (addresses are stored lower-cased), alike on every backend."""

    type = String()
    inherit_cache = True


@compiles(email_domain)
def _domain_postgresql(element, compiler, **kw):
    return "split_part(%s, '@', 2)" % compiler.process(element.clauses, **kw)


@compiles(email_domain, "sqlite")
def _domain_sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"substr({column}, instr({column}, '@') + 1)"


@compiles(email_domain, "mysql")
@compiles(email_domain, "mariadb")
def _domain_mariadb(element, compiler, **kw):
    return "substring_index(%s, '@', -1)" % compiler.process(element.clauses, **kw)


@dataclass
class Progress:
    """The latest send of a campaign, by the ledger's states."""

    status: str
    total: int = 0
    sent: int = 0
    failed: int = 0        # failed or skipped: not sent and not going to be
    unknown: int = 0
    pending: int = 0       # pending or claimed: still to go
    started_at: datetime | None = None
    per_second: float = 0.0

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.unknown


@dataclass
class TimeSlot:
    start: datetime
    end: datetime
    opens: int
    clicks: int


@dataclass
class DomainFigures:
    domain: str
    sent: int = 0
    failed: int = 0
    bounced: int = 0


@dataclass
class LinkFigures:
    url: str
    clicks: int
    people: int


@dataclass
class ReportDetails:
    timeline: list[TimeSlot] = field(default_factory=list)
    links: list[LinkFigures] = field(default_factory=list)
    domains: list[DomainFigures] = field(default_factory=list)


class CampaignReportDetails:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def progress(self, campaign: Campaign) -> Progress:
        """The latest send instance's ledger by state, and its rate in messages per second so far."""
        out = Progress(campaign.status)
        instance = self.s.execute(select(SendInstance.id, SendInstance.started_at, SendInstance.finished_at)
                                  .where(SendInstance.campaign_id == campaign.id)
                                  .order_by(SendInstance.number.desc()).limit(1)).first()
        if instance is None:
            return out
        out.started_at = instance.started_at
        for state, count in self.s.execute(select(Delivery.state, func.count()).where(
                Delivery.instance_id == instance.id).group_by(Delivery.state)):
            out.total += count
            if state == "sent":
                out.sent += count
            elif state == "unknown":
                out.unknown += count
            elif state in PENDING_STATES:
                out.pending += count
            else:
                out.failed += count
        end = instance.finished_at or self.uow.clock()
        seconds = (end - instance.started_at).total_seconds()
        out.per_second = round(out.sent / seconds, 2) if seconds > 0 else 0.0
        return out

    def details(self, campaign: Campaign, slots: int = 12) -> ReportDetails:
        return ReportDetails(self.timeline(campaign, slots), self.links(campaign), self.domains(campaign))

    def timeline(self, campaign: Campaign, slots: int = 12) -> list[TimeSlot]:
        """Opens and clicks in `slots` equal periods from the first to the last of them (or to now)."""
        a = SubscriberActivity
        mine = (a.campaign_id == campaign.id, a.kind.in_(("open", "click")))
        first, last = self.s.execute(select(func.min(a.occurred_at), func.max(a.occurred_at)).where(*mine)).one()
        if first is None:
            return []
        span = max((last - first).total_seconds(), 60.0)
        edges = [first + timedelta(seconds=span * i / slots) for i in range(slots + 1)]
        # Cumulative counts below each edge in one statement (a portable stand-in for date_trunc /
        # DATE_FORMAT bucketing): slot i holds below(edge i+1) - below(edge i); the last edge is inclusive.
        columns = []
        for kind in ("open", "click"):
            for i, edge in enumerate(edges[1:], start=1):
                below = a.occurred_at <= edge if i == slots else a.occurred_at < edge
                columns.append(func.sum(case((a.kind == kind, case((below, 1), else_=0)), else_=0)))
        row = [int(v or 0) for v in self.s.execute(select(*columns).where(*mine)).one()]
        opens, clicks = [0] + row[:slots], [0] + row[slots:]
        return [TimeSlot(edges[i], edges[i + 1], opens[i + 1] - opens[i], clicks[i + 1] - clicks[i])
                for i in range(slots)]

    def links(self, campaign: Campaign, limit: int = 100) -> list[LinkFigures]:
        a = SubscriberActivity
        clicks = func.count()
        rows = self.s.execute(select(a.link_url, clicks, func.count(distinct(a.subscriber_id)))
                              .where(a.campaign_id == campaign.id, a.kind == "click")
                              .group_by(a.link_url).order_by(clicks.desc(), a.link_url).limit(limit))
        return [LinkFigures(url, total, people) for url, total, people in rows]

    def domains(self, campaign: Campaign, limit: int = 50) -> list[DomainFigures]:
        """Messages sent and failed per recipient domain (every send of the campaign), and bounces."""
        domain = email_domain(Delivery.email_normalized)
        out: dict[str, DomainFigures] = {}
        sent = func.sum(case((Delivery.state == "sent", 1), else_=0))
        failed = func.sum(case((Delivery.state.in_(("failed", "skipped")), 1), else_=0))
        for name, n_sent, n_failed in self.s.execute(
                select(domain, sent, failed).join(SendInstance, SendInstance.id == Delivery.instance_id)
                .where(SendInstance.campaign_id == campaign.id).group_by(domain)
                .order_by(sent.desc(), domain).limit(limit)):
            out[name] = DomainFigures(name, int(n_sent or 0), int(n_failed or 0))
        a = SubscriberActivity
        bounce_domain = email_domain(Subscriber.email_normalized)
        for name, people in self.s.execute(
                select(bounce_domain, func.count(distinct(a.subscriber_id)))
                .join(Subscriber, Subscriber.id == a.subscriber_id)
                .where(a.campaign_id == campaign.id, a.kind == "bounce").group_by(bounce_domain).limit(limit)):
            out.setdefault(name, DomainFigures(name)).bounced = people
        return list(out.values())
