"""The journey runner's pass: what its summary counts (every step it logged, Decision and YesNo moves included,
nothing it did not log), and the per-pass cursor of the hot path: a row that falls due behind the cursor
while the pass runs is still taken, once (by a later sweep of the same pass, or by the next pass when this
one stops at its batch limit). Injected clock; on each of SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update

from engine.automation.journeys import passthrough, runner
from engine.automation.journeys.runner import run_pass
from engine.models import JourneyEnrollment as E, JourneyStep, Subscriber, SubscriberFieldValue
from tests.builders import make_custom_field, make_list, make_subscriber, user_actor
from tests.engine.test_journey_runner import enroll, journey, positions

WAIT_HOUR = {"action": "Wait", "waitunit": "hours", "waitamount": 1, "published": True}


def logged_per_action(engine) -> Counter:
    with engine.uow() as uow:
        return Counter(dict(uow.session.execute(
            select(JourneyStep.action_id, func.count()).group_by(JourneyStep.action_id)).all()))


def steps_per_enrollment_and_action(engine) -> Counter:
    with engine.uow() as uow:
        return Counter({(e, a): n for e, a, n in uow.session.execute(
            select(JourneyStep.enrollment_id, JourneyStep.action_id, func.count())
            .group_by(JourneyStep.enrollment_id, JourneyStep.action_id))})


def test_the_summary_counts_decision_and_yesno_moves_as_steps(engine, user, clock):
    list_id = make_list(engine, user, "Branches")
    country = make_custom_field(engine, user, list_id, "Country")
    ids = [make_subscriber(engine, list_id, f"b{n}@example.com", values={country: "US" if n < 2 else "NL"})
           for n in range(5)]
    jid, actions = journey(engine, user, [
        {"action": "Decision", "published": True, "criteriaoperator": "and",
         "criteria": [[{"type": "fields", "field_id": f"CustomField{country}", "operator": "is", "value": "us"}]],
         "actions": {"true": [{"action": "Debug", "published": True}], "false": []}},
        {"action": "YesNo", "published": True, "criterialeft": "EmailAddress", "criteriaoperator": "begins with",
         "criteriaright": "b4", "actions": {"yes": [], "no": [{"action": "Debug", "published": True}]}}])
    decision, debug_yes, yesno, debug_no = actions
    enroll(engine, user, jid, list_id, ids)

    summary = run_pass(engine, clock())

    logged = logged_per_action(engine)
    assert logged == {decision: 5, debug_yes: 2, yesno: 5, debug_no: 4}
    assert summary.by_action == dict(logged)
    assert summary.steps == sum(logged.values()) == 16
    assert {p[0] for p in positions(engine, jid).values()} == {"completed"}


def test_runs_of_deleted_subscribers_end_uncounted_at_a_decision(engine, user, clock):
    list_id = make_list(engine, user, "Gone")
    ids = [make_subscriber(engine, list_id, f"g{n}@example.com") for n in range(3)]
    jid, (decision, after) = journey(engine, user, [
        {"action": "YesNo", "published": True, "criterialeft": "EmailAddress", "criteriaoperator": "is set",
         "actions": {"yes": [], "no": []}},
        WAIT_HOUR])
    enroll(engine, user, jid, list_id, ids)
    with engine.uow() as uow:   # deleted behind the journey's back: its run ends at the next step, unlogged
        uow.session.execute(delete(SubscriberFieldValue).where(SubscriberFieldValue.subscriber_id == ids[0]))
        uow.session.execute(delete(Subscriber).where(Subscriber.id == ids[0]))
        uow.commit()

    summary = run_pass(engine, clock())

    assert logged_per_action(engine) == {decision: 2}
    assert (summary.steps, summary.by_action) == (2, {decision: 2})
    now = positions(engine, jid)
    assert now[ids[0]][:2] == ("exited", 0)
    assert {now[s] for s in ids[1:]} == {("active", after, 1)}


def test_the_summary_matches_the_log_across_effects_passthroughs_and_branches(engine, user, clock):
    list_id = make_list(engine, user, "Mixed")
    ids = [make_subscriber(engine, list_id, f"m{n}@example.com") for n in range(7)]
    with engine.uow() as uow:
        tag_id = uow.subscriber_tags.create(user_actor(user), list_id, "seen", "").id
        uow.commit()
    jid, _ = journey(engine, user, [
        {"action": "AddTag", "targettagid": tag_id, "published": True},
        {"action": "Wait", "waitunit": "seconds", "waitamount": 0, "published": True},
        {"action": "YesNo", "published": True, "criterialeft": "EmailAddress", "criteriaoperator": "ends with",
         "criteriaright": "@example.com", "actions": {"yes": [{"action": "Debug", "published": True}], "no": []}},
        {"action": "ExitThisJourney", "published": True}])
    enroll(engine, user, jid, list_id, ids)

    summary = run_pass(engine, clock(), batch=3)

    logged = logged_per_action(engine)
    assert len(logged) == 5 and set(logged.values()) == {7}
    assert summary.by_action == dict(logged) and summary.steps == 35
    assert run_pass(engine, clock()).steps == 0


@pytest.fixture
def wait_line(engine, user, clock):
    """Eight runs waiting at a one-hour Wait (the hot path), all due in an hour; the first (lowest ID) is held
    back a day, so a pass starts without it."""
    list_id = make_list(engine, user, "Cursor")
    ids = [make_subscriber(engine, list_id, f"q{n}@example.com") for n in range(8)]
    jid, (first, second) = journey(engine, user, [WAIT_HOUR, WAIT_HOUR])
    enroll(engine, user, jid, list_id, ids)
    clock.advance(hours=1)
    with engine.uow() as uow:
        held = min(uow.session.scalars(select(E.id).where(E.journey_id == jid)))
        uow.session.execute(update(E).where(E.id == held).values(due_at=clock() + timedelta(days=1)))
        uow.commit()
    return jid, first, second, held


def falls_due_behind_the_cursor(monkeypatch, enrollment_id: int, due_at) -> list:
    """After the hot path's first batch, `enrollment_id` falls due at `due_at`, committed with that batch
    (as a run arriving from another action or another runner would): its (due_at, id) is behind the cursor."""
    calls = []
    advance = passthrough.advance

    def first_batch_then_due(session, *args):
        result = advance(session, *args)
        calls.append(result)
        if len(calls) == 1:
            session.execute(update(E).where(E.id == enrollment_id).values(due_at=due_at)
                            .execution_options(synchronize_session=False))
        return result

    monkeypatch.setattr(passthrough, "advance", first_batch_then_due)
    return calls


@pytest.mark.parametrize("behind", ["same due time, lower ID", "earlier due time"])
def test_a_row_falling_due_behind_the_cursor_is_taken_once_in_the_same_pass(engine, clock, wait_line, monkeypatch,
                                                                           behind):
    jid, first, second, held = wait_line
    due_at = clock() if behind == "same due time, lower ID" else clock() - timedelta(minutes=30)
    calls = falls_due_behind_the_cursor(monkeypatch, held, due_at)

    summary = run_pass(engine, clock(), batch=2)

    assert len(calls) >= 5                                 # batches after the cursor, then a fresh sweep
    assert summary.by_action == {first: 8}
    assert set(positions(engine, jid).values()) == {("active", second, 1)}
    taken = steps_per_enrollment_and_action(engine)
    assert len(taken) == 8 and set(taken.values()) == {1}
    assert run_pass(engine, clock(), batch=2).steps == 0


def test_a_row_behind_the_cursor_of_a_pass_cut_short_is_taken_once_by_the_next(engine, clock, wait_line,
                                                                              monkeypatch):
    jid, first, second, held = wait_line
    falls_due_behind_the_cursor(monkeypatch, held, clock() - timedelta(minutes=30))
    monkeypatch.setattr(runner, "MAX_BATCHES", 2)           # the pass stops after two batches of two

    cut = run_pass(engine, clock(), batch=2)
    assert (cut.batches, cut.steps) == (2, 4)
    assert sorted(n for _, n in Counter(p for p in positions(engine, jid).values()).items()) == [4, 4]

    monkeypatch.setattr(runner, "MAX_BATCHES", 1_000)
    rest = run_pass(engine, clock(), batch=2)
    assert (cut.steps + rest.steps, rest.by_action) == (8, {first: 4})
    assert set(positions(engine, jid).values()) == {("active", second, 1)}
    taken = steps_per_enrollment_and_action(engine)
    assert len(taken) == 8 and set(taken.values()) == {1}
    assert (held, first) in taken


def test_the_claim_picks_its_batch_once_however_stale_the_statistics(engine, sa_engine, user, clock, backend):
    """PostgreSQL planned `id IN (SELECT … LIMIT n)` as a nested loop running the LIMIT subquery again for every
    due row: its statistics, taken while everyone waited at the journey's first action, say nobody is at the
    second. The plan of every claim the pass sends must pick the batch once (an InitPlan), never inside a loop."""
    if backend != "postgresql":
        pytest.skip("a PostgreSQL plan")
    from sqlalchemy import event, text

    list_id = make_list(engine, user, "Stale")
    ids = [make_subscriber(engine, list_id, f"s{n}@example.com") for n in range(40)]
    with engine.uow() as uow:
        tag_id = uow.subscriber_tags.create(user_actor(user), list_id, "late", "").id
        uow.commit()
    jid, (wait, tag) = journey(engine, user, [WAIT_HOUR, {"action": "AddTag", "targettagid": tag_id,
                                                           "published": True}])
    enroll(engine, user, jid, list_id, ids)
    with sa_engine.connect() as conn:
        conn.execute(text("ANALYZE journey_enrollments"))
        conn.commit()
    clock.advance(hours=1)
    plans = []

    def explain(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE journey_enrollments SET claim") and "LIMIT" in statement:
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plans.append(cursor.fetchone()[0][0]["Plan"])

    def limits_inside_loops(node, looped=False) -> int:
        inner = looped or node.get("Parent Relationship") in ("Inner", "SubPlan") and node["Node Type"] != "Hash"
        return (node["Node Type"] == "Limit" and inner) + sum(
            limits_inside_loops(child, inner) for child in node.get("Plans", []))

    event.listen(sa_engine, "before_cursor_execute", explain)
    try:
        summary = run_pass(engine, clock(), batch=5)
    finally:
        event.remove(sa_engine, "before_cursor_execute", explain)
    assert summary.by_action == {wait: 40, tag: 40}
    assert len(plans) >= 8 and [limits_inside_loops(plan) for plan in plans] == [0] * len(plans)
