"""Moving subscribers through journeys: set-based, each step taken at most once.

A step is one transaction over a batch of enrollments waiting at the same action and due:
1. claim: UPDATE … SET claim=token WHERE id IN (the first N due at action A) AND current_action_id=A AND
   state='active' — a compare-and-set: a concurrent runner that read the same rows finds them moved
   (PostgreSQL and MariaDB re-check the WHERE on the row they waited for; SQLite runs one writer at a time);
2. log: INSERT … SELECT one `journey_steps` row per claimed enrollment (UNIQUE enrollment, action, step);
3. effect: a bounded number of set-based statements (effects.py);
4. move: UPDATE … SET current_action_id=next, due_at=…, step_seq=step_seq+1, claim=NULL WHERE claim=token.
All four commit together. A runner killed anywhere before the commit leaves nothing behind (the claim is
never committed), so the batch is simply taken again by the next pass: no step twice, none lost.
An action that changes nothing but the enrollment (an open Wait, Debug, an unpublished action) takes the
hot path: claim and move in ONE compare-and-set UPDATE with its log (passthrough.py; on PostgreSQL one
statement, batches in (due_at, id) order after a per-pass cursor, SKIP LOCKED between runners). A subscriber
row deleted meanwhile is noticed at the next action with an effect (its run exits there).
"""
from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import any_, bindparam, case, exists, func, insert, literal, select, text, update

from engine.automation.journeys import hooks, passthrough
from engine.automation.journeys.criteria import predicate, yesno_criteria
from engine.automation.journeys.effects import EFFECTS
from engine.automation.journeys.waits import arrival_due, journey_zone, window_start
from engine.models import Journey, JourneyAction, JourneyEnrollment as E, JourneyStep, Subscriber

log = logging.getLogger("sendmill.journeys")
BATCH = 5_000
MAX_BATCHES = 1_000  # per pass: a pass always ends; what is left is the next pass's


@dataclass
class PassSummary:
    steps: int = 0
    batches: int = 0
    held: int = 0  # waiting for a Wait's delivery window
    sends: int = 0  # SendEmail steps: their ledger rows wait for the delivery worker
    by_action: dict[int, int] = field(default_factory=dict)
    # Per action, the (due_at, id) the hot path's next batch starts after; reset at each sweep of the actions.
    after: dict[int, tuple] = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.steps} steps ({self.sends} SendEmail), {self.held} held for a window"


def due_actions(session, now: datetime, limit: int = 200) -> list[int]:
    """The actions of enabled journeys with enrollments due now (also an action deleted under a running
    journey, whose runs end at their next step)."""
    if session.get_bind().dialect.name == "postgresql":
        return list(session.scalars(_DUE_ACTIONS_POSTGRES, {"now": now, "limit": limit}))
    return list(session.scalars(
        select(E.current_action_id).join(Journey, Journey.id == E.journey_id)
        .where(E.state == "active", E.due_at <= now, Journey.status == "Enabled").distinct().limit(limit)))


# A DISTINCT over the due rows reads all of them (a million rows falling due at one Wait: seconds per sweep).
# The walk reads one index entry per action with active enrollments (a loose index scan of
# ix_journey_enrollments_action_due; runs that are not active sit at action 0, skipped), then asks each
# whether one of its rows is due.
_DUE_ACTIONS_POSTGRES = text("""
WITH RECURSIVE walk(action_id) AS (
    (SELECT current_action_id FROM journey_enrollments WHERE state = 'active' AND current_action_id > 0
     ORDER BY current_action_id LIMIT 1)
    UNION ALL
    SELECT (SELECT e.current_action_id FROM journey_enrollments e
            WHERE e.state = 'active' AND e.current_action_id > walk.action_id ORDER BY e.current_action_id LIMIT 1)
    FROM walk WHERE walk.action_id IS NOT NULL)
SELECT walk.action_id FROM walk
WHERE EXISTS (SELECT 1 FROM journey_enrollments e JOIN journeys j ON j.id = e.journey_id
              WHERE e.current_action_id = walk.action_id AND e.state = 'active' AND e.due_at <= :now
                AND j.status = 'Enabled')
LIMIT :limit
""").bindparams(bindparam("now", type_=E.due_at.type))


def run_pass(engine, now: datetime | None = None, *, batch: int = BATCH, fail_after_effect=None,
             workers: int = 1, summary: PassSummary | None = None) -> PassSummary:
    """Advance every due enrollment of every enabled journey, a batch per transaction, until none is due
    (or MAX_BATCHES were taken: the rest is the next pass's).

    With `workers` > 1, each action's due rows are split by enrollment ID (id % workers; on PostgreSQL's hot
    path by blocks of consecutive IDs, passthrough.SHARE_BLOCK) between that many
    threads, each with its own connection: on PostgreSQL one runner is one server backend on one core, so a
    million rows leaving a Wait move on every core at once. The shares are disjoint and every step is still
    its compare-and-set, so the guarantees are those of concurrent runners (tests/engine).
    A caller that passes its own `summary` still has the count of the committed batches when the pass raises."""
    summary = summary if summary is not None else PassSummary()
    now = now or engine.clock()
    while summary.batches < MAX_BATCHES:
        with engine.uow() as uow:
            actions = due_actions(uow.session, now)
        summary.after.clear()
        moved = 0
        for action_id in actions:
            if summary.batches >= MAX_BATCHES:
                break
            moved += _drain_shares(engine, action_id, now, batch, summary, max(1, workers), fail_after_effect)
        if not moved:
            break
    return summary


def _drain(engine, action_id: int, now: datetime, batch: int, summary: PassSummary, share: tuple[int, int],
           fail_after_effect) -> int:
    """Take batches at `action_id` until one comes back short; how many rows were taken."""
    moved, taken = 0, batch
    while taken == batch and summary.batches < MAX_BATCHES:
        committed = (summary.steps, summary.held, summary.sends, dict(summary.by_action))
        try:
            with engine.uow() as uow:
                taken = step(uow.session, action_id, now, batch, summary, share=share,
                             fail_after_effect=fail_after_effect)
                uow.commit()
        except BaseException:
            # The batch rolled back took no step: the summary says what the pass committed.
            summary.steps, summary.held, summary.sends, summary.by_action = committed
            raise
        summary.batches += 1
        moved += taken
    return moved


def _drain_shares(engine, action_id: int, now: datetime, batch: int, summary: PassSummary, workers: int,
                  fail_after_effect) -> int:
    if workers == 1:
        return _drain(engine, action_id, now, batch, summary, (0, 1), fail_after_effect)
    parts = [PassSummary(batches=summary.batches) for _ in range(workers)]
    moved, errors = [0] * workers, []

    def work(k: int) -> None:
        try:
            moved[k] = _drain(engine, action_id, now, batch, parts[k], (k, workers), fail_after_effect)
        except Exception as exc:  # noqa: BLE001 - re-raised below, once every share has stopped
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,), name=f"journey-runner-{k}") for k in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    start = summary.batches
    for part in parts:
        summary.steps += part.steps
        summary.held += part.held
        summary.sends += part.sends
        summary.batches += part.batches - start
        for action, n in part.by_action.items():
            summary.by_action[action] = summary.by_action.get(action, 0) + n
    if errors:
        raise errors[0]
    return sum(moved)


def step(session, action_id: int, now: datetime, batch: int, summary: PassSummary, *,
         share: tuple[int, int] = (0, 1), fail_after_effect=None) -> int:
    """Take action `action_id` for up to `batch` due enrollments (of `share`: those with id % n == k); the
    number taken (or held; on PostgreSQL's hot path, looked at: a batch a concurrent runner moved first
    still counts as full, so the pass goes on past it)."""
    action = session.get(JourneyAction, action_id)
    token = uuid.uuid4().hex[:30]
    mine = f"{token}-A"
    if _passes_through(session, action, now):
        return _pass_through(session, action, now, batch, share, mine, summary, fail_after_effect)
    # No ORDER BY: any N due rows will do, read straight from the (action, due) index. Ordering by id made
    # every batch walk past the rows earlier batches had moved (quadratic over a million rows).
    first = (select(E.id).where(E.current_action_id == action_id, E.state == "active", E.due_at <= now)
             .limit(batch))
    if share[1] > 1:
        first = first.where(E.id % share[1] == share[0])
    # The derived table lets MariaDB update the table it selects from (and take a LIMIT in it).
    picked = select(first.subquery().c.id)
    in_batch = E.id.in_(picked)
    if session.get_bind().dialect.name == "postgresql":
        # `IN (SELECT … LIMIT n)` was planned as a nested loop that ran the LIMIT subquery again for every due
        # row (the statistics of rows that keep moving between actions are always stale: "1 row due"): seconds
        # per batch of 250 out of 3,000 (tests/e2e/test_journey_crash.py). ARRAY(…) is computed once.
        in_batch = E.id == any_(func.array(picked.scalar_subquery()))
    chosen = [in_batch, E.current_action_id == action_id, E.state == "active", E.due_at <= now]
    won = session.execute(update(E).where(*chosen).values(claim=mine)
                          .execution_options(synchronize_session=False)).rowcount
    if not won:
        return 0
    if action is None:  # deleted under a running journey: the runs end here
        _move(session, mine, None, now, "exited")
        return won
    p = json.loads(action.parameters or "{}")
    if action.published and action.action == "Wait":
        opening = window_start(p, now, journey_zone(session, action.journey_id))
        if opening > now:
            session.execute(update(E).where(E.claim == mine).values(due_at=opening, claim=None)
                            .execution_options(synchronize_session=False))
            summary.held += won
            return won
    gone = ~select(Subscriber.id).where(Subscriber.id == E.subscriber_id).exists()
    # Runs whose subscriber row was deleted end here, unlogged: not steps of this action.
    ended = session.execute(update(E).where(E.claim == mine, gone).values(
        state="exited", current_action_id=0, finished_at=now).execution_options(synchronize_session=False)).rowcount
    if action.published and action.action in ("Decision", "YesNo"):
        _decide(session, action, p, mine, token, now)
        _count(summary, action_id, won - ended)
        return won
    outcome = "done" if action.published else "skipped"
    _log(session, action, [mine], literal(outcome), now)
    if action.published:
        EFFECTS[action.action](session, mine, action, p, now)
    if fail_after_effect is not None:
        fail_after_effect(action)
    _move(session, mine, action.next_action_id, now)
    _count(summary, action_id, won - ended)
    if action.published and action.action == "SendEmail":
        summary.sends += won - ended
    return won


def _count(summary: PassSummary, action_id: int, taken: int) -> None:
    """The steps logged at `action_id` (Decision and YesNo moves included)."""
    if taken > 0:
        summary.steps += taken
        summary.by_action[action_id] = summary.by_action.get(action_id, 0) + taken


def _passes_through(session, action: JourneyAction | None, now: datetime) -> bool:
    """Whether taking `action` changes nothing but the enrollment itself (a Wait whose window is open or
    absent, a Debug, an unpublished action) and leads to another action: then claim and move are one UPDATE."""
    if action is None or not action.next_action_id:
        return False
    if not action.published:
        return True
    if action.action == "Debug":
        return True
    return action.action == "Wait" and window_start(json.loads(action.parameters or "{}"), now,
                                                    journey_zone(session, action.journey_id)) <= now


def _pass_through(session, action: JourneyAction, now: datetime, batch: int, share: tuple[int, int], mine: str,
                  summary, fail_after_effect) -> int:
    won, looked_at, summary.after[action.id] = passthrough.advance(
        session, action, now, batch, share, summary.after.get(action.id, passthrough.START), mine)
    if not won:
        return looked_at
    if action.published and action.action == "Debug":
        log.info("journey %s Debug action %s: %s", action.journey_id, action.id,
                 json.loads(action.parameters or "{}").get("DebugMessage", ""))
    if fail_after_effect is not None:
        fail_after_effect(action)
    summary.steps += won
    summary.by_action[action.id] = summary.by_action.get(action.id, 0) + won
    return looked_at


def _decide(session, action: JourneyAction, p: dict, mine: str, token: str, now: datetime) -> None:
    """One compiled statement per list in the batch marks the rows whose subscriber matches (claim …-T)."""
    yes = f"{token}-T"
    criteria = p.get("Criteria", []) if action.action == "Decision" else yesno_criteria(p)
    connector = p.get("CriteriaOperator", "and") if action.action == "Decision" else "and"
    journey = session.get(Journey, action.journey_id)
    # No criteria: nobody matches, everybody takes the False branch.
    for list_id in list(session.scalars(select(E.list_id).where(E.claim == mine).distinct())) if criteria else []:
        matches = predicate(session, journey.owner_user_id, list_id, criteria, connector, now)
        # Correlated to the claimed rows: the criteria are evaluated for the batch's subscribers (a primary-key
        # probe each), not for the whole list once per batch (an IN over the list was planned as a full
        # evaluation of the criteria whenever the statistics of the moving rows were stale).
        session.execute(update(E).where(E.claim == mine, E.list_id == list_id, exists(
            select(Subscriber.id).where(Subscriber.id == E.subscriber_id, Subscriber.list_id == list_id, matches)))
            .values(claim=yes).execution_options(synchronize_session=False))
    _log(session, action, [mine, yes], case((E.claim == yes, literal("true")), else_=literal("false")), now)
    _move(session, yes, action.true_action_id, now)
    _move(session, mine, action.false_action_id, now)


def _log(session, action: JourneyAction, tokens: list[str], outcome, now: datetime) -> None:
    session.execute(insert(JourneyStep).from_select(
        ("enrollment_id", "journey_id", "action_id", "step_seq", "subscriber_id", "outcome", "created_at"),
        select(E.id, E.journey_id, literal(action.id), E.step_seq, E.subscriber_id, outcome,
               literal(now, JourneyStep.created_at.type)).where(E.claim.in_(tokens), E.state == "active")))


def _move(session, token: str, next_id: int | None, now: datetime, end_state: str = "completed") -> None:
    """Send the claimed, still active rows to `next_id` (0/None: the run ends), then release the claim."""
    if next_id:
        target = session.get(JourneyAction, next_id)
        session.execute(update(E).where(E.claim == token, E.state == "active")
                        .values(current_action_id=next_id, due_at=arrival_due(target, now), step_seq=E.step_seq + 1,
                                claim=None).execution_options(synchronize_session=False))
    else:
        # Read only when a journey waits for this one's completion (JourneyCompleted): at most one batch.
        chained = session.scalar(select(Journey.id).join(E, E.claim == token).where(
            Journey.trigger == "JourneyCompleted", Journey.status == "Enabled",
            Journey.trigger_value == func.cast(E.journey_id, Journey.trigger_value.type)).limit(1))
        finished = list(session.execute(select(E.journey_id, E.list_id, E.subscriber_id)
                                        .where(E.claim == token, E.state == "active"))) if chained else []
        session.execute(update(E).where(E.claim == token, E.state == "active")
                        .values(state=end_state, current_action_id=0, finished_at=now, step_seq=E.step_seq + 1,
                                claim=None).execution_options(synchronize_session=False))
        if end_state == "completed" and finished:
            journey = session.get(Journey, finished[0][0])
            for list_id in {row[1] for row in finished}:
                hooks.on_completed(session, journey, list_id, [r[2] for r in finished if r[1] == list_id], now)
    session.execute(update(E).where(E.claim == token).values(claim=None).execution_options(synchronize_session=False))
