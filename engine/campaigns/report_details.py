"""What a campaign report shows: its figures from the ledger and the activity, delivery progress of the
current send, opens and clicks over time, clicks per link, and deliveries and bounces by recipient domain.

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
# Activity kinds counted in people, and the ReportFigures field of each.
PEOPLE_KINDS = {"open": "opened", "click": "clicked", "bounce": "bounced", "complaint": "complained",
                "unsubscribe": "unsubscribed"}


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
class ReportFigures:
    sent: int = 0          # messages (a person of a recurring campaign counts once per send)
    not_sent: int = 0      # ledger rows failed or skipped
    delivered: int = 0     # sent less bounced
    opened: int = 0        # people
    clicked: int = 0
    bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0


@dataclass
class ReportDetails:
    figures: ReportFigures
    timeline: list[TimeSlot] = field(default_factory=list)
    links: list[LinkFigures] = field(default_factory=list)


class CampaignReportDetails:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def progress(self, campaign: Campaign) -> Progress:
        """The latest send instance's ledger by state, and its rate in messages per second so far."""
        instance = self.s.execute(select(SendInstance.id, SendInstance.started_at, SendInstance.finished_at)
                                  .where(SendInstance.campaign_id == campaign.id)
                                  .order_by(SendInstance.number.desc()).limit(1)).first()
        if instance is None:
            return Progress(campaign.status)
        states = self.s.execute(select(Delivery.state, func.count()).where(Delivery.instance_id == instance.id)
                                .group_by(Delivery.state)).all()
        return self._progress(campaign, instance, states)

    def _progress(self, campaign: Campaign, instance, states) -> Progress:
        out = Progress(campaign.status, started_at=instance.started_at)
        for state, count in states:
            out.total += count
            if state == "sent":
                out.sent += count
            elif state == "unknown":
                out.unknown += count
            elif state in PENDING_STATES:
                out.pending += count
            else:
                out.failed += count
        seconds = ((instance.finished_at or self.uow.clock()) - instance.started_at).total_seconds()
        out.per_second = round(out.sent / seconds, 2) if seconds > 0 else 0.0
        return out

    def details(self, campaign: Campaign, slots: int = 12) -> tuple[ReportDetails, Progress]:
        """The report, and the latest send's progress from the same pass over the ledger."""
        instances = self.s.execute(select(SendInstance.id, SendInstance.started_at, SendInstance.finished_at)
                                   .where(SendInstance.campaign_id == campaign.id)
                                   .order_by(SendInstance.number)).all()
        ledger: dict[int, list] = {i.id: [] for i in instances}
        if instances:
            # Every send's ledger by state at once: an IN over the campaign's instances walks the
            # (instance_id, state, id) index alone, where a join with send_instances reads the rows.
            for instance_id, state, count in self.s.execute(
                    select(Delivery.instance_id, Delivery.state, func.count())
                    .where(Delivery.instance_id.in_([i.id for i in instances]))
                    .group_by(Delivery.instance_id, Delivery.state)):
                ledger[instance_id].append((state, count))
        progress = self._progress(campaign, instances[-1], ledger[instances[-1].id]) if instances \
            else Progress(campaign.status)
        figures = self.figures(campaign, [row for rows in ledger.values() for row in rows])
        return ReportDetails(figures, self.timeline(campaign, slots), self.links(campaign)), progress

    def figures(self, campaign: Campaign, ledger_states) -> ReportFigures:
        """Messages by ledger state (`ledger_states`: (state, count) pairs of every send) and people by what
        they did (one grouped statement).

        Not CampaignReports.figures(): its "not sent" count looks for another ledger row of each person,
        which SQLite answers by scanning the ledger once per failed row."""
        out = ReportFigures()
        for state, count in ledger_states:
            if state == "sent":
                out.sent += count
            elif state in ("failed", "skipped"):
                out.not_sent += count
        a = SubscriberActivity
        for kind, people in self.s.execute(
                select(a.kind, func.count(distinct(a.subscriber_id)))
                .where(a.campaign_id == campaign.id, a.kind.in_(PEOPLE_KINDS)).group_by(a.kind)):
            setattr(out, PEOPLE_KINDS[kind], people)
        # A bounce comes back for a message that was sent: delivered is sent less bounced.
        out.delivered = max(out.sent - out.bounced, 0)
        return out

    def timeline(self, campaign: Campaign, slots: int = 12) -> list[TimeSlot]:
        """Opens and clicks in `slots` equal periods from the first to the last of them (at least a minute)."""
        a = SubscriberActivity
        mine = (a.campaign_id == campaign.id, a.kind.in_(("open", "click")))
        first, last = self.s.execute(select(func.min(a.occurred_at), func.max(a.occurred_at)).where(*mine)).one()
        if first is None:
            return []
        span = max((last - first).total_seconds(), 60.0)
        edges = [first + timedelta(seconds=span * i / slots) for i in range(slots + 1)]
        # The slot of each event as a CASE over the edges, grouped: portable where date_trunc / DATE_FORMAT
        # bucketing is not, and one pass over the campaign's (campaign_id, kind) index range.
        slot = case(*[(a.occurred_at < edge, i) for i, edge in enumerate(edges[1:-1])], else_=slots - 1)
        counts = {(kind, index): n for kind, index, n in self.s.execute(
            select(a.kind, slot, func.count()).where(*mine).group_by(a.kind, slot))}
        return [TimeSlot(edges[i], edges[i + 1], counts.get(("open", i), 0), counts.get(("click", i), 0))
                for i in range(slots)]

    def links(self, campaign: Campaign, limit: int = 100) -> list[LinkFigures]:
        a = SubscriberActivity
        clicks = func.count()
        rows = self.s.execute(select(a.link_url, clicks, func.count(distinct(a.subscriber_id)))
                              .where(a.campaign_id == campaign.id, a.kind == "click")
                              .group_by(a.link_url).order_by(clicks.desc(), a.link_url).limit(limit))
        return [LinkFigures(url, total, people) for url, total, people in rows]

    def domains(self, campaign: Campaign, limit: int = 50) -> list[DomainFigures]:
        """Messages sent and failed per recipient domain (every send of the campaign), and bounced people.

        The costliest figure of a report (a string expression grouped over the whole ledger of the
        campaign), so the console shows it on a page of its own."""
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
