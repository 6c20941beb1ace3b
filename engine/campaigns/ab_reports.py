"""What an A/B campaign's variations did: Campaign.ABTest.Get and Campaign.Get's SplitABTestStatistics.

Per variation email: the ledger rows that named it (test group and, for the winner, the rest of the
audience), those sent and failed, and the people among them who opened, clicked or unsubscribed with
that email (engine/campaigns/split_tests.results). The winner is the split test's decision; for an A/B
campaign without a split test (everyone got a variation by weight) it is the variation with the highest
unique-open rate once something was sent, ties to the lowest email id, as a split test would pick it.

Totals (every open and click, not only the first of a person) come from the tracking rows, which carry the
variation's email (engine/tracking/activity.py): one grouped statement over the campaign's activity.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import func, select

from engine.accounts.auth import Actor
from engine.campaigns.split_tests import VariationResult, pick_winner
from engine.models import Campaign, Email
from engine.models.activity import SubscriberActivity
from engine.models.split_tests import SplitTest


@dataclass(frozen=True)
class VariationReport:
    email: Email
    weight: int
    distribution: int          # percent of the weight, rounded
    result: VariationResult
    total_opens: int = 0       # every tracked open of this email in the campaign
    total_clicks: int = 0
    winner: bool = False


@dataclass(frozen=True)
class ABReport:
    variations: list[VariationReport]
    split_test: SplitTest | None
    winner: Email | None

    @property
    def is_ab_test(self) -> bool:
        return bool(self.variations)


class ABReportService:
    def __init__(self, uow):
        self.uow = uow

    def report(self, actor: Actor, campaign_id: int) -> ABReport:
        """The campaign's A/B report; CampaignNotFound unless it is the actor's."""
        return ab_report(self.uow, self.uow.campaigns.get(actor, campaign_id))


def ab_report(uow, campaign: Campaign) -> ABReport:
    variations = uow.variations.of(campaign.id)
    if not variations:
        return ABReport([], uow.split_tests.of(campaign.id), None)
    results = {r.email_id: r for r in uow.split_tests.results(None, campaign.id)}
    totals = tracked_totals(uow.session, campaign.id)
    total_weight = sum(v.weight for v in variations)
    rows = [VariationReport(uow.session.get(Email, v.email_id), v.weight, round(v.weight * 100 / total_weight),
                            results.get(v.email_id, VariationResult(v.email_id, 0, 0, 0, 0, 0)),
                            totals.get((v.email_id, "open"), 0), totals.get((v.email_id, "click"), 0))
            for v in variations]
    test = uow.split_tests.of(campaign.id)
    decision = uow.split_tests.decision(campaign.id)
    if decision is not None:
        winner_id = decision.winner_email_id
    elif test is None and any(r.result.sent for r in rows):
        winner_id = pick_winner([r.result for r in rows], "Highest Open Rate")
    else:
        winner_id = None
    rows = [replace(r, winner=r.email.id == winner_id) for r in rows]
    winner = next((r.email for r in rows if r.winner), None)
    return ABReport(rows, test, winner)


def tracked_totals(session, campaign_id: int) -> dict[tuple[int, str], int]:
    """(email id, "open" | "click") → how many times, every instance of the campaign."""
    a = SubscriberActivity
    return {(int(email_id), kind): int(n) for email_id, kind, n in session.execute(
        select(a.email_id, a.kind, func.count())
        .where(a.campaign_id == campaign_id, a.kind.in_(("open", "click")), a.email_id.is_not(None))
        .group_by(a.email_id, a.kind))}
