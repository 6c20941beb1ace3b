"""A/B testing: the email variations of a campaign, its legacy split test, and each send's decision.

A campaign with variations sends each recipient exactly one of them (the ledger row's `email_id`,
engine/models/sending.py). Without a split test every recipient gets a variation by weight; with one,
a test group (TestSize % of the audience) is split evenly over the variations, and the rest of the
ledger waits until the tick picks the winner and hands it to them (engine/campaigns/split_tests.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime, utcnow

WINNER_CRITERIA = ("Highest Open Rate", "Most Unique Clicks")


def _in(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


class CampaignVariation(Base):
    """One `ABTesting[Variations][n]` entry: an email of the campaign's owner and its weight."""

    __tablename__ = "campaign_variations"
    __table_args__ = (
        UniqueConstraint("campaign_id", "position"),
        UniqueConstraint("campaign_id", "email_id"),
        CheckConstraint("weight > 0", name="weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    email_id: Mapped[int] = mapped_column(ForeignKey("emails.id", ondelete="CASCADE"), index=True)
    weight: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)   # 0, 1, … as the client listed them


class SplitTest(Base):
    """SplitTest.Create: a test group of `test_size` % gets the variations, the rest the winner."""

    __tablename__ = "split_tests"
    __table_args__ = (
        CheckConstraint(f"winner_criterion IN ({_in(WINNER_CRITERIA)})", name="winner_criterion"),
        CheckConstraint("test_size BETWEEN 1 AND 100", name="test_size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True)
    test_size: Mapped[int] = mapped_column(Integer)          # percent of the audience
    test_duration: Mapped[int] = mapped_column(Integer)      # seconds from the start of the send
    winner_criterion: Mapped[str] = mapped_column(Str(32))
    # Orders the audience (a hash of seed and subscriber id, in SQL): the split is random-looking and
    # the same every time it is computed for the same audience.
    seed: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SplitTestDecision(Base):
    """One send instance of a split-tested campaign: when its test ends, and the winner once picked.

    The winner is written by compare-and-set (`winner_email_id IS NULL`) in the transaction that
    hands the waiting ledger rows to it, so it is picked and applied once."""

    __tablename__ = "split_test_decisions"

    instance_id: Mapped[int] = mapped_column(ForeignKey("send_instances.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    winner_criterion: Mapped[str] = mapped_column(Str(32))   # as it was when the send started
    test_ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    winner_email_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
