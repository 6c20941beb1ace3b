"""Split tests: the A/B ledger of a send, and picking the winner.

A campaign with variations writes its ledger with one INSERT … SELECT that numbers the audience in
a seeded hash order (`_ranked`), so the split is random-looking, even and reproducible:

* without a split test, every recipient gets a variation by weight (contiguous shares of the order);
* with one, the first TestSize % of the order (rounded up) is the test group, dealt round robin over
  the variations (group sizes differ by at most one); the other rows wait for the winner with
  `email_id` NULL and `lease_until` = HELD_FOR_WINNER, which no claim reaches (claims take pending rows
  whose lease_until has come). Writing everyone at the start keeps the guarantees of a plain send: one
  row per address and instance (UNIQUE(instance_id, email_normalized)) covers both phases, the quota is
  counted once, and Cancel skips the waiting rows like any other pending row.

After TestDuration the tick calls `decide_due`: the winner is computed from the ledger (messages sent)
and tracking (unique opens / unique clicks of the test group), written by compare-and-set on the
instance's decision row, and the waiting rows get its email in the same transaction (one UPDATE).
Ties go to the variation whose email has the lowest id.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction

from sqlalchemy import BigInteger, Integer, case, cast, exists, func, insert, literal, literal_column, null, \
    select, update

from engine.accounts.auth import Actor
from engine.campaigns.service import EDITABLE
from engine.errors import SplitTestLocked
from engine.models import Campaign, Delivery, SendInstance, Subscriber
from engine.models.activity import SubscriberActivity
from engine.models.split_tests import SplitTest, SplitTestDecision

# A ledger row that waits for the split test's winner: "not before the end of time" for every claim.
HELD_FOR_WINNER = datetime(9999, 1, 1, tzinfo=timezone.utc)
# Seeds stay below 2**20 so that (subscriber id + seed) * _MULTIPLIER fits a signed 64-bit integer on
# every backend (ids are 32-bit); the product modulo a prime is a cheap, portable integer hash.
_SEED_LIMIT = 2 ** 20
_MULTIPLIER = literal_column("2654435761")
_PRIME = literal_column("2147483647")


@dataclass(frozen=True)
class VariationResult:
    email_id: int
    recipients: int
    sent: int
    failed: int
    unique_opens: int
    unique_clicks: int
    unsubscriptions: int = 0

    @property
    def open_rate(self) -> Fraction:
        return Fraction(self.unique_opens, self.sent) if self.sent else Fraction(0)


def pick_winner(results: list[VariationResult], criterion: str) -> int | None:
    """The winning email id: the highest unique-open rate or the most unique clicks; a tie goes to the
    lowest email id."""
    if not results:
        return None
    if criterion == "Most Unique Clicks":
        score = lambda r: Fraction(r.unique_clicks)  # noqa: E731
    else:
        score = lambda r: r.open_rate  # noqa: E731
    return min(results, key=lambda r: (-score(r), r.email_id)).email_id


class SplitTestService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- SplitTest.Create -------------------------------------------------------------------------
    def create(self, actor: Actor, campaign_id: int, *, test_size: int, test_duration: int,
               criterion: str) -> SplitTest:
        """Give the campaign a split test, or change the one it has (same id, same seed)."""
        campaign = self.uow.campaigns.get(actor, campaign_id, for_update=True)
        if campaign.status not in EDITABLE:
            raise SplitTestLocked(f"a {campaign.status} campaign's split test cannot be changed")
        test = self.of(campaign.id)
        if test is None:
            test = SplitTest(campaign_id=campaign.id, seed=random.randrange(1, _SEED_LIMIT),
                             created_at=self.uow.clock())
            self.s.add(test)
        test.test_size, test.test_duration, test.winner_criterion = test_size, test_duration, criterion
        campaign.last_activity_at = self.uow.clock()
        self.s.flush()
        return test

    def copy(self, source_campaign_id: int, target_campaign_id: int) -> SplitTest | None:
        """Campaign.Copy: the same test size, duration and criterion, with a seed of its own, so that the
        copy's test group is not the very people who tested the original (decisions stay with each send)."""
        source = self.of(source_campaign_id)
        if source is None:
            return None
        test = SplitTest(campaign_id=target_campaign_id, seed=random.randrange(1, _SEED_LIMIT),
                         test_size=source.test_size, test_duration=source.test_duration,
                         winner_criterion=source.winner_criterion, created_at=self.uow.clock())
        self.s.add(test)
        self.s.flush()
        return test

    def of(self, campaign_id: int) -> SplitTest | None:
        return self.s.scalar(select(SplitTest).where(SplitTest.campaign_id == campaign_id))

    # --- the ledger of an A/B send ----------------------------------------------------------------
    def write_ledger(self, instance: SendInstance, campaign: Campaign, audience) -> int | None:
        """Write the ledger of an A/B campaign's instance; None when the campaign has no variations
        (the caller writes a plain ledger). `audience`: the campaign's audience query."""
        variations = self.uow.variations.of(campaign.id)
        if not variations:
            return None
        test = self.of(campaign.id)
        ranked = _ranked(audience.subquery(), test.seed if test else 0)
        position = ranked.c.rn - 1
        emails = [v.email_id for v in variations]
        if test is None:
            total_weight = sum(v.weight for v in variations)
            shares, cumulative = [], 0
            for v in variations[:-1]:
                cumulative += v.weight
                # position / total < cumulative / total_weight, without a division (integer on all three)
                shares.append((position * total_weight < ranked.c.total * cumulative, v.email_id))
            email = case(*shares, else_=emails[-1]) if shares else literal(emails[0], Integer)
        else:
            dealt = case(*[(position % len(emails) == i, e) for i, e in enumerate(emails[:-1])], else_=emails[-1])
            # In the test group: position < ceil(total * size / 100), again without a division.
            email = case((position * 100 < ranked.c.total * test.test_size, dealt), else_=null())
        with self.uow.audience.time_limit(self.uow.settings.tick_audience_query_timeout):
            written = self.s.execute(insert(Delivery).from_select(
                ["instance_id", "subscriber_id", "email_normalized", "email_id"],
                select(literal(instance.id, Integer), ranked.c.subscriber_id, ranked.c.email_normalized, email))
                .execution_options(preserve_rowcount=True))
        if test is not None:
            self.s.execute(update(Delivery).where(Delivery.instance_id == instance.id, Delivery.email_id.is_(None))
                           .values(lease_until=HELD_FOR_WINNER).execution_options(synchronize_session=False))
            self.s.add(SplitTestDecision(instance_id=instance.id, campaign_id=campaign.id,
                                         winner_criterion=test.winner_criterion,
                                         test_ends_at=instance.started_at + timedelta(seconds=test.test_duration)))
            self.s.flush()
        # The INSERT's own count, as for a plain ledger (scheduling.py): the instance is new, so its ledger
        # is exactly these rows; counting them again read a million index entries.
        return written.rowcount

    # --- the winner -------------------------------------------------------------------------------
    def due_decisions(self, now: datetime) -> list[int]:
        """Instances whose test is over and whose campaign is being sent, without a winner yet."""
        return list(self.s.scalars(
            select(SplitTestDecision.instance_id)
            .join(Campaign, Campaign.id == SplitTestDecision.campaign_id)
            .where(SplitTestDecision.winner_email_id.is_(None), SplitTestDecision.test_ends_at <= now,
                   Campaign.status == "Sending")
            .order_by(SplitTestDecision.test_ends_at, SplitTestDecision.instance_id)))

    def decide(self, instance_id: int, now: datetime) -> int | None:
        """Pick and apply the winner of one instance's test; None when another tick did it first."""
        decision = self.s.get(SplitTestDecision, instance_id, populate_existing=True)
        if decision is None or decision.winner_email_id is not None:
            return None
        winner = pick_winner(self.results(instance_id, decision.campaign_id), decision.winner_criterion)
        if winner is None:   # nothing of the test group was written (an empty audience, deleted emails)
            variations = self.uow.variations.of(decision.campaign_id)
            winner = variations[0].email_id if variations else \
                (self.s.get(Campaign, decision.campaign_id).email_id or 0)
        # Compare-and-set: of the ticks racing here, one writes the winner and hands it the waiting rows.
        won = self.s.execute(
            update(SplitTestDecision).where(SplitTestDecision.instance_id == instance_id,
                                            SplitTestDecision.winner_email_id.is_(None))
            .values(winner_email_id=winner, decided_at=now).execution_options(synchronize_session=False))
        if won.rowcount != 1:
            return None
        self.s.execute(update(Delivery).where(
            Delivery.instance_id == instance_id, Delivery.email_id.is_(None), Delivery.state == "pending",
            Delivery.lease_until == HELD_FOR_WINNER)
            .values(email_id=winner, lease_until=None).execution_options(synchronize_session=False))
        self.s.flush()
        return winner

    def results(self, instance_id: int | None, campaign_id: int) -> list[VariationResult]:
        """Per variation email: ledger rows, sent, failed, and the people among them who opened / clicked
        that email. One instance's, or every instance's of the campaign (instance_id None)."""
        d = Delivery
        def engaged(kind: str):
            return case((exists().where(SubscriberActivity.subscriber_id == d.subscriber_id,
                                        SubscriberActivity.campaign_id == campaign_id,
                                        SubscriberActivity.email_id == d.email_id,
                                        SubscriberActivity.kind == kind), 1), else_=0)
        unsubscribed = case((exists().where(Subscriber.id == d.subscriber_id,
                                            Subscriber.unsubscription_campaign_id == campaign_id,
                                            Subscriber.unsubscription_email_id == d.email_id), 1), else_=0)
        scope = d.instance_id == instance_id if instance_id is not None else d.instance_id.in_(
            select(SendInstance.id).where(SendInstance.campaign_id == campaign_id))
        rows = self.s.execute(
            select(d.email_id, func.count(), func.sum(case((d.state == "sent", 1), else_=0)),
                   func.sum(case((d.state == "failed", 1), else_=0)),
                   func.sum(engaged("open")), func.sum(engaged("click")), func.sum(unsubscribed))
            .where(scope, d.email_id.is_not(None)).group_by(d.email_id).order_by(d.email_id)).all()
        return [VariationResult(int(e), int(n), int(sent or 0), int(failed or 0), int(opens or 0), int(clicks or 0),
                                int(unsubs or 0))
                for e, n, sent, failed, opens, clicks, unsubs in rows]

    def decision(self, campaign_id: int) -> SplitTestDecision | None:
        """The latest instance's decision (None before the first split-tested send)."""
        return self.s.scalar(select(SplitTestDecision).where(SplitTestDecision.campaign_id == campaign_id)
                             .order_by(SplitTestDecision.instance_id.desc()).limit(1))


def _ranked(audience, seed: int):
    """The audience's rows, (subscriber_id, email_normalized), one per address as
    AudienceService.campaign_audience_rows gives them, numbered 1… in the seeded hash order, with the total.

    Why a hash and not ORDER BY random(): the same seed gives the same split on every run and backend,
    so a test group can be recomputed and checked."""
    people = audience
    mixed = ((cast(people.c.subscriber_id, BigInteger) + literal(seed, BigInteger)) * _MULTIPLIER) % _PRIME
    return select(people.c.subscriber_id, people.c.email_normalized,
                  func.row_number().over(order_by=(mixed, people.c.subscriber_id)).label("rn"),
                  func.count().over().label("total")).subquery()
