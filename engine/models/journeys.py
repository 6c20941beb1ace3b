"""Journeys: a trigger, a tree of actions, the subscribers enrolled and where each one is
(v5.9.4 journeys.md, journey-actions.md; README "Journeys").

* `journeys` — the trigger and its settings, criteria, rate limits and status.
* `journey_actions` — the action tree. Each row knows its place (parent Decision/YesNo and branch, order
  within the branch) and, computed when the tree is saved, where a subscriber goes next: `next_action_id`
  (NULL: the journey ends), and for a Decision/YesNo the first action of each branch. The runner never walks
  the tree; it follows these pointers.
* `journey_enrollments` — one row per (journey, subscriber row, run): the action the subscriber waits at
  and from when (`due_at`), a step counter and a claim token used inside one transaction.
* `journey_steps` — the step log: one row per action taken (or skipped) for an enrollment, keyed by
  (enrollment, action, step), so a step can never be recorded — and so never take effect — twice.
* `journey_sends` — the SendEmail ledger, states as the campaign ledger's, with each message's opens, clicks,
  web views, opt-out, bounce and complaint (the per-action statistics).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, Text, UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, BigIntPK, Str, UTCDateTime, utcnow
from engine.models.emails import LongText

JOURNEY_STATUSES = ("Enabled", "Disabled")
ENROLLMENT_STATES = ("active", "completed", "exited")
SEND_STATES = ("pending", "claimed", "sent", "failed", "unknown", "skipped")
BRANCHES = ("", "True", "False", "Yes", "No")
ENROLLMENT_FILLFACTOR = 80  # percent (PostgreSQL)


def _in(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


class Journey(Base):
    __tablename__ = "journeys"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(JOURNEY_STATUSES)})", name="status"),
        CheckConstraint("run_criteria_operator IN ('and','or')", name="run_criteria_operator"),
        # Every event asks "the enabled journeys of this owner with trigger T".
        Index("ix_journeys_owner_trigger_status", "owner_user_id", "trigger", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Str(255))
    notes: Mapped[str] = mapped_column(Text, default="")
    trigger: Mapped[str] = mapped_column(Str(40), default="Manual")
    # 0 = none / any, as the legacy Trigger_ListID / Trigger_EmailID; no foreign key: a journey outlives
    # a deleted list and simply stops matching it.
    trigger_list_id: Mapped[int] = mapped_column(Integer, default=0)
    trigger_email_id: Mapped[int] = mapped_column(Integer, default=0)
    trigger_value: Mapped[str] = mapped_column(Str(255), default="")
    trigger_parameters: Mapped[str] = mapped_column(Text, default="{}")   # JSON object, canonical keys
    trigger_criteria: Mapped[str] = mapped_column(Text, default="[]")     # JSON (criteria syntax)
    run_criteria: Mapped[str] = mapped_column(Text, default="[]")         # JSON (criteria syntax)
    run_criteria_operator: Mapped[str] = mapped_column(Str(3), default="and")
    rate_limit_per_hour: Mapped[int] = mapped_column(Integer, default=0)  # 0 = unlimited
    rate_limit_per_day: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(Str(8), default="Disabled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it last became Enabled: events before it never enroll anybody.
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # ScheduledPull: when the last pull ran (the next one is due an interval later).
    last_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JourneyAction(Base):
    __tablename__ = "journey_actions"
    __table_args__ = (
        CheckConstraint(f"branch IN ({_in(BRANCHES)})", name="branch"),
        Index("ix_journey_actions_journey_parent", "journey_id", "parent_action_id", "branch", "order_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    parent_action_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: the journey's main branch
    branch: Mapped[str] = mapped_column(Str(8), default="")
    order_no: Mapped[int] = mapped_column(Integer, default=0)           # 1-based within its branch
    action: Mapped[str] = mapped_column(Str(32))
    parameters: Mapped[str] = mapped_column(Text, default="{}")         # JSON object, canonical keys
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Where a subscriber goes after this action (0: the journey ends), and for Decision / YesNo the
    # first action of the True/Yes and False/No branches (0: straight on to next_action_id's target).
    next_action_id: Mapped[int] = mapped_column(Integer, default=0)
    true_action_id: Mapped[int] = mapped_column(Integer, default=0)
    false_action_id: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JourneyEnrollment(Base):
    __tablename__ = "journey_enrollments"
    __table_args__ = (
        # Subscriber first: it also answers "the runs of this subscriber" (membership, deletion), so no
        # separate subscriber index is written at every move.
        UniqueConstraint("subscriber_id", "journey_id", "run_no"),
        CheckConstraint(f"state IN ({_in(ENROLLMENT_STATES)})", name="state"),
        # The runner's query: the enrollments waiting at action A that are due, in (due_at, id) order (the hot
        # path's batches follow it). No state column: a run that is not active sits at action 0, which the
        # runner never asks for. Every move writes a new entry to every index of the row (no in-place update:
        # the moved columns are indexed), so the row keeps four indexes: this one, the key, the unique
        # constraint and the journey's.
        Index("ix_journey_enrollments_action_due", "current_action_id", "due_at", "id"),
        Index("ix_journey_enrollments_journey_state", "journey_id", "state", "created_at"),
        # Every statement of a step after the claim finds its batch by the claim token.
        # Partial where the database can: a row carries a claim only inside a step (PostgreSQL's hot path
        # writes none), so the index stays small and a move of an unclaimed row writes no entry to it.
        Index("ix_journey_enrollments_claim", "claim", postgresql_where=text("claim IS NOT NULL"),
              sqlite_where=text("claim IS NOT NULL")),
        # Room on every page for the row's next version: a move then writes it beside the old one (one page
        # dirtied, a smaller WAL record), and the two runner workers, each in its own id blocks, stay on
        # their own pages.
        {"postgresql_with": {"fillfactor": ENROLLMENT_FILLFACTOR}},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    # No foreign key: DeleteSubscriber removes the row, the enrollment stays as the record of the run.
    subscriber_id: Mapped[int] = mapped_column(Integer)
    list_id: Mapped[int] = mapped_column(Integer)
    run_no: Mapped[int] = mapped_column(Integer, default=1)     # re-entries after a finished run count up
    state: Mapped[str] = mapped_column(Str(12), default="active")
    current_action_id: Mapped[int] = mapped_column(Integer, default=0)  # 0 when not active
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    step_seq: Mapped[int] = mapped_column(Integer, default=0)   # steps taken so far
    # Set and cleared inside one runner transaction: which rows this batch won (never committed set).
    claim: Mapped[str | None] = mapped_column(Str(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JourneyStep(Base):
    __tablename__ = "journey_steps"
    __table_args__ = (
        # The readers' one index: an action's steps (Journey.Action.Subscribers), a journey's counts per
        # action, its last activity.
        Index("ix_journey_steps_journey_action_at", "journey_id", "action_id", "created_at"),
    )

    # The key is the step itself (enrollment, action, step): a step can never be logged — so never take
    # effect — twice, and no surrogate ID (a sequence and one more index written per step) is needed.
    # (Columns in the order a migrated table has them; the key is (enrollment_id, action_id, step_seq).)
    enrollment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    journey_id: Mapped[int] = mapped_column(Integer)
    action_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    step_seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    subscriber_id: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Str(16))  # done, skipped, true, false, waiting
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JourneySend(Base):
    """The SendEmail ledger: one row per SendEmail step, UNIQUE, so one step mails at most once."""

    __tablename__ = "journey_sends"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "action_id", "step_seq"),
        CheckConstraint(f"state IN ({_in(SEND_STATES)})", name="state"),
        Index("ix_journey_sends_state_due", "state", "due_at"),
        Index("ix_journey_sends_action", "action_id", "created_at"),
        # Decisions and segments on a journey message's opens / clicks / bounces (engine/audience/journey_rules.py).
        Index("ix_journey_sends_subscriber", "subscriber_id", "action_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    journey_id: Mapped[int] = mapped_column(Integer)
    action_id: Mapped[int] = mapped_column(Integer)
    enrollment_id: Mapped[int] = mapped_column(BigInteger)
    step_seq: Mapped[int] = mapped_column(Integer)
    subscriber_id: Mapped[int] = mapped_column(Integer)
    email_address: Mapped[str] = mapped_column(Str(255))
    email_id: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(Str(16), default="pending")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker: Mapped[str] = mapped_column(Str(128), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_id: Mapped[str] = mapped_column(Str(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What tracking learned about this message (engine/automation/journeys/tracking.py): counted on the
    # row, so an action's figures are one grouped query over its ledger rows.
    opens: Mapped[int] = mapped_column(Integer, default=0)
    first_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    browser_views: Mapped[int] = mapped_column(Integer, default=0)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    complained_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


EXPORT_STATUSES = ("Pending", "Processing", "Completed", "Failed")


class JourneyExport(Base):
    """A Journey.Export.Submit job: the CSV of the owner's journeys with their figures, made by the tick."""

    __tablename__ = "journey_exports"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(EXPORT_STATUSES)})", name="status"),
        Index("ix_journey_exports_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(Str(12), default="Pending")
    options: Mapped[str] = mapped_column(Text, default="{}")   # ExportOptions, as answered
    content: Mapped[str] = mapped_column(LongText, default="")   # the CSV once Completed
    error: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    download_size: Mapped[int] = mapped_column(Integer, default=0)
