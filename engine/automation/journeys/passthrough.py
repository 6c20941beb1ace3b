"""The runner's hot path: a batch leaving an action that changes nothing but the enrollment (an open Wait, an
unpublished action, a Debug) — a million subscribers falling due at one Wait (README "Journeys",
bench/journeys.py).

The claim and the move are ONE compare-and-set UPDATE (current action, state and due time re-checked on every
row), and its step log is written in the same transaction, so a runner killed anywhere leaves nothing behind.
* PostgreSQL: one statement — the batch is picked in (due_at, id) order after the pass's cursor (the
  index ix_journey_enrollments_action_due), moved by `UPDATE … RETURNING`, logged by the INSERT that
  reads what the UPDATE returned (a data-modifying CTE). No claim token is written, no row reaches Python:
  the statement returns the count and the batch's last (due_at, id), where the next batch starts — a batch
  never walks past the rows earlier batches moved. A concurrent runner that picked the same rows waits for
  their row locks, re-checks the compare-and-set on the moved rows (PostgreSQL's EvalPlanQual) and takes
  none of them. `FOR UPDATE SKIP LOCKED` would let two runners work side by side, but it writes a lock
  record per row before the update writes the row again (about a quarter slower, measured on the statement
  alone); a pass's workers get the parallelism from disjoint shares instead (runner.run_pass).
* MariaDB / SQLite: the portable form — the UPDATE marks the rows it moves with the batch's token, the log is
  an INSERT … SELECT of the rows carrying it. The token stays on the rows: it is unique to the batch, so a
  stale one names nothing later, and clearing it would cost a second write of every row.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Integer, bindparam, literal, select, text, update

from engine.automation.journeys.waits import arrival_due
from engine.models import JourneyAction, JourneyEnrollment as E, JourneyStep

STEP_COLUMNS = ("enrollment_id", "journey_id", "action_id", "step_seq", "subscriber_id", "outcome", "created_at")
START = (datetime(1970, 1, 1, tzinfo=timezone.utc), 0)  # before every (due_at, id)
# PostgreSQL's shares are blocks of consecutive IDs (block k goes to worker k % n), not single IDs: the rows
# of a block sit on the same heap and index pages, so two workers do not take turns locking every page
# (id % n put both workers on every page at the same moment).
SHARE_BLOCK = 1024

# `picked` reads nothing but the index (current_action_id, due_at, id): an index-only scan, no heap page read
# for a row of the other worker's share, where the table's pages are all-visible (vacuumed, as a cohort that
# waited is). It needs no state: a run that is not active sits at action 0 — and `moved` re-checks it anyway.
# The enrollment's columns are spelt out (not reflected from the models) because this statement is the one
# the runner's speed rests on; tests/engine/test_journey_hot_path.py runs it on PostgreSQL.
_POSTGRES = text("""
WITH picked AS MATERIALIZED (
    SELECT id, due_at FROM journey_enrollments
    WHERE current_action_id = :action AND due_at <= :now AND (due_at, id) > (:after_due, :after_id)
      AND (id / :block) % :workers = :worker
    ORDER BY due_at, id LIMIT :batch),
moved AS (
    UPDATE journey_enrollments SET current_action_id = :target, due_at = :arrives, step_seq = step_seq + 1
    WHERE id = ANY(ARRAY(SELECT id FROM picked)) AND current_action_id = :action AND state = 'active'
      AND due_at <= :now
    RETURNING id, journey_id, step_seq, subscriber_id),
logged AS (
    INSERT INTO journey_steps (enrollment_id, journey_id, action_id, step_seq, subscriber_id, outcome, created_at)
    SELECT id, journey_id, :action, step_seq - 1, subscriber_id, :outcome, :now FROM moved
    RETURNING 1)
SELECT (SELECT count(*) FROM logged) AS taken, (SELECT count(*) FROM picked) AS picked, last.due_at, last.id
FROM (SELECT due_at, id FROM picked ORDER BY due_at DESC, id DESC LIMIT 1) AS last
""").bindparams(bindparam("now", type_=E.due_at.type), bindparam("arrives", type_=E.due_at.type),
                bindparam("after_due", type_=E.due_at.type)).columns(
    taken=Integer, picked=Integer, due_at=E.due_at.type, id=BigInteger)


def advance(session, action: JourneyAction, now: datetime, batch: int, share: tuple[int, int], after: tuple,
            mine: str) -> tuple[int, int, tuple]:
    """Move up to `batch` due enrollments of `share` (k of n: ID block % n == k on PostgreSQL, id % n == k
    elsewhere) from `action` to its next action, logging each step; returns how many moved, how many were
    looked at (a full batch whose rows a concurrent runner moved first is no sign that the action is done)
    and the cursor the next batch of this pass (and share) starts after."""
    target = session.get(JourneyAction, action.next_action_id)
    outcome = "done" if action.published else "skipped"
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(_POSTGRES, {
            "action": action.id, "target": action.next_action_id, "arrives": arrival_due(target, now), "now": now,
            "after_due": after[0], "after_id": after[1], "batch": batch, "outcome": outcome,
            "worker": share[0], "workers": share[1], "block": SHARE_BLOCK}).first()
        return (row.taken, row.picked, (row.due_at, row.id)) if row else (0, 0, after)
    won = _portable(session, action, target, now, batch, share, mine, outcome)
    return won, won, after


def _portable(session, action, target, now, batch, share, mine, outcome) -> int:
    due = [E.current_action_id == action.id, E.state == "active", E.due_at <= now]
    if share[1] > 1:
        due.append(E.id % share[1] == share[0])
    # The derived table lets MariaDB update the table it selects from (and take a LIMIT in it).
    first = select(E.id).where(*due).limit(batch).subquery()
    won = session.execute(update(E).where(E.id.in_(select(first.c.id)), *due).values(
        claim=mine, current_action_id=action.next_action_id, due_at=arrival_due(target, now),
        step_seq=E.step_seq + 1).execution_options(synchronize_session=False)).rowcount
    if won:
        session.execute(JourneyStep.__table__.insert().from_select(STEP_COLUMNS, select(
            E.id, E.journey_id, literal(action.id), E.step_seq - 1, E.subscriber_id, literal(outcome),
            literal(now, JourneyStep.created_at.type)).where(E.claim == mine)))
    return won
