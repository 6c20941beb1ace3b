"""The journey runner: every trigger and action kind with an injected clock, Decision branches on opens and
fields, exits, concurrent runners (every step once) and a crash mid-batch (no step twice, none lost).
On each of SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.automation.journeys import hooks
from engine.automation.journeys.runner import run_pass
from engine.models import (
    JourneyEnrollment, JourneySend, JourneyStep, Subscriber, SubscriberFieldValue, SubscriberTagAssignment,
)
from tests.builders import make_custom_field, make_email, make_list, make_subscriber, user_actor


def journey(engine, owner, actions, *, trigger="Manual", enabled=True, **settings) -> tuple[int, list[int]]:
    """A journey with `actions` (the Actions.Update array); returns its ID and the action IDs in tree order."""
    with engine.uow() as uow:
        actor = user_actor(owner)
        row = uow.journeys.create(actor, {"name": "J", "trigger": trigger, **settings})
        uow.journeys.replace_actions(actor, row.id, actions)
        if enabled:
            uow.journeys.set_status(actor, row.id, True)
        uow.commit()
        ids = [a.id for a in sorted(uow.journeys.actions(row.id), key=lambda a: a.id)]
        return row.id, ids


def enroll(engine, owner, journey_id, list_id, subscriber_ids):
    with engine.uow() as uow:
        for sid in subscriber_ids:
            uow.journey_members.trigger(user_actor(owner), [journey_id], list_id, sid, bypass_status=True)
        uow.commit()


def positions(engine, journey_id) -> dict[int, tuple]:
    with engine.uow() as uow:
        return {e.subscriber_id: (e.state, e.current_action_id, e.step_seq) for e in uow.session.scalars(
            select(JourneyEnrollment).where(JourneyEnrollment.journey_id == journey_id))}


def steps(engine) -> list[tuple]:
    with engine.uow() as uow:
        return sorted(uow.session.execute(select(JourneyStep.subscriber_id, JourneyStep.action_id, JourneyStep.outcome)))


def concurrent_passes(engine, clock, runners: int = 4, batch: int = 7) -> None:
    """`runners` passes at once, then one more for whatever a conflict left behind; only deadlocks and
    serialization failures (a batch rolled back, taken by the next pass) may end a pass early."""
    errors = []

    def runner():
        try:
            run_pass(engine, clock(), batch=batch)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(runners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run_pass(engine, clock())
    assert not [e for e in errors if "deadlock" not in str(e).lower() and "serializ" not in str(e).lower()], errors


@pytest.fixture
def people(engine, user):
    list_id = make_list(engine, user, "People")
    ids = [make_subscriber(engine, list_id, f"p{n}@example.com") for n in range(3)]
    return list_id, ids


def test_wait_holds_then_everybody_advances_together(engine, user, clock, people):
    list_id, ids = people
    jid, (wait, tag_step) = journey(engine, user, [
        {"action": "Wait", "waitunit": "hours", "waitamount": 2, "published": True},
        {"action": "ExitThisJourney", "published": True}])
    enroll(engine, user, jid, list_id, ids)
    assert run_pass(engine, clock()).steps == 0
    assert {p[1] for p in positions(engine, jid).values()} == {wait}
    clock.advance(hours=2)
    summary = run_pass(engine, clock())
    assert summary.steps == 6 and summary.by_action == {wait: 3, tag_step: 3}
    assert set(positions(engine, jid).values()) == {("exited", 0, 1)}
    assert steps(engine) == sorted([(s, wait, "done") for s in ids] + [(s, tag_step, "done") for s in ids])


def test_wait_delivery_window_holds_until_it_opens(engine, user, clock, people):
    list_id, ids = people
    clock.now = clock.now.replace(hour=20, minute=0)  # Monday 2026-11-23 20:00 UTC: after the window
    jid, (wait, last) = journey(engine, user, [
        {"action": "Wait", "waitunit": "minutes", "waitamount": 0, "timeconstraintenabled": True,
         "dontsendbefore": "09:00", "dontsendafter": "17:00", "alloweddays": ["tue"], "published": True},
        {"action": "Debug", "published": True}])
    enroll(engine, user, jid, list_id, ids[:1])
    assert run_pass(engine, clock()).held == 1
    with engine.uow() as uow:
        due = uow.session.scalar(select(JourneyEnrollment.due_at))
    assert due == clock.now.replace(day=24, hour=9, minute=0)
    clock.now = due
    assert run_pass(engine, clock()).steps == 2


def test_tags_fields_and_the_tag_trigger(engine, user, clock, people):
    list_id, ids = people
    with engine.uow() as uow:
        tag = uow.subscriber_tags.create(user_actor(user), list_id, "vip", "")
        uow.commit()
        tag_id = tag.id
    field_id = make_custom_field(engine, user, list_id, "Plan")
    follower, _ = journey(engine, user, [{"action": "RemoveTag", "targettagid": tag_id, "published": True}],
                          trigger="Tag", trigger_value=str(tag_id))
    jid, _ = journey(engine, user, [
        {"action": "AddTag", "targettagid": tag_id, "published": True},
        {"action": "UpdateCustomFieldValue", "targetcustomfieldid": field_id, "newcustomfieldvalue": "42",
         "published": True}])
    enroll(engine, user, jid, list_id, ids[:2])
    run_pass(engine, clock())
    with engine.uow() as uow:
        values = set(uow.session.execute(select(SubscriberFieldValue.subscriber_id, SubscriberFieldValue.value_text,
                                                SubscriberFieldValue.value_number)))
        tagged = set(uow.session.scalars(select(SubscriberTagAssignment.subscriber_id)))
    assert values == {(ids[0], "42", 42), (ids[1], "42", 42)}
    # Tagging enrolled both into the Tag-triggered journey, which removed the tag again in the same pass.
    assert {s: p[0] for s, p in positions(engine, follower).items()} == {ids[0]: "completed", ids[1]: "completed"}
    assert tagged == set()


def test_send_email_writes_one_ledger_row_per_step(engine, user, clock, people):
    list_id, ids = people
    email_id = make_email(engine, user)
    with engine.uow() as uow:
        uow.session.get(Subscriber, ids[2]).subscription_status = "Unsubscribed"
        uow.commit()
    jid, (send,) = journey(engine, user, [{"action": "SendEmail", "emailid": email_id, "published": True,
                                           "from": {"name": "Shop", "email": "shop@sender.example"}}])
    enroll(engine, user, jid, list_id, ids[:2])
    hooks_enrolled = run_pass(engine, clock())
    assert hooks_enrolled.steps == 2
    with engine.uow() as uow:
        rows = sorted(uow.session.execute(select(JourneySend.subscriber_id, JourneySend.action_id, JourneySend.email_id,
                                                 JourneySend.state, JourneySend.email_address)))
    assert rows == [(ids[0], send, email_id, "pending", "p0@example.com"),
                    (ids[1], send, email_id, "pending", "p1@example.com")]


def test_unpublished_actions_are_skipped(engine, user, clock, people):
    list_id, ids = people
    email_id = make_email(engine, user)
    jid, (send, wait) = journey(engine, user, [{"action": "SendEmail", "emailid": email_id, "published": False},
                                               {"action": "Wait", "waitamount": 3, "published": False}])
    enroll(engine, user, jid, list_id, ids[:1])
    assert run_pass(engine, clock()).steps == 2
    assert steps(engine) == [(ids[0], send, "skipped"), (ids[0], wait, "skipped")]
    with engine.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(JourneySend)) == 0


def test_decision_on_a_field_takes_both_branches_and_reconverges(engine, user, clock, people):
    list_id, ids = people
    field_id = make_custom_field(engine, user, list_id, "Country")
    with engine.uow() as uow:
        uow.session.add(SubscriberFieldValue(subscriber_id=ids[0], field_id=field_id, value_text="US"))
        uow.commit()
    jid, action_ids = journey(engine, user, [
        {"action": "Decision", "published": True, "criteriaoperator": "and",
         "criteria": [[{"type": "fields", "field_id": f"CustomField{field_id}", "operator": "is", "value": "us"}]],
         "actions": {"true": [{"action": "Debug", "published": True, "debugmessage": "yes"}],
                     "false": [{"action": "Wait", "waitamount": 1, "waitunit": "days", "published": True}]}},
        {"action": "ExitThisJourney", "published": True}])
    decision, after = action_ids[0], action_ids[-1]  # children are saved right after their Decision
    enroll(engine, user, jid, list_id, ids)
    run_pass(engine, clock())
    outcomes = {(s, o) for s, a, o in steps(engine) if a == decision}
    assert outcomes == {(ids[0], "true"), (ids[1], "false"), (ids[2], "false")}
    now = positions(engine, jid)
    assert now[ids[0]][0] == "exited" and now[ids[1]][0] == "active" and now[ids[2]][0] == "active"
    clock.advance(days=1)
    run_pass(engine, clock())
    assert {p[0] for p in positions(engine, jid).values()} == {"exited"}
    assert {s for s, a, o in steps(engine) if a == after} == set(ids)


def test_decision_on_opens(engine, user, clock, people):
    from engine.models import SubscriberActivity
    list_id, ids = people
    with engine.uow() as uow:
        campaign = uow.campaigns.create(user_actor(user), "News")
        uow.session.flush()
        uow.session.add(SubscriberActivity(subscriber_id=ids[1], campaign_id=campaign.id, kind="open",
                                           occurred_at=clock() - timedelta(days=1)))
        uow.commit()
        campaign_id = campaign.id
    jid, action_ids = journey(engine, user, [
        {"action": "Decision", "published": True,
         "criteria": [[{"type": "campaign-events", "operator": "opened", "value": campaign_id,
                        "time_filter": {"type": "in_last_x_days", "value": 7}}]],
         "actions": {"true": [{"action": "ExitThisJourney", "published": True}], "false": []}},
        {"action": "Wait", "waitamount": 5, "published": True}])
    enroll(engine, user, jid, list_id, ids)
    run_pass(engine, clock())
    assert {(s, o) for s, a, o in steps(engine) if a == action_ids[0]} == {
        (ids[0], "false"), (ids[1], "true"), (ids[2], "false")}
    now = positions(engine, jid)
    assert now[ids[1]][0] == "exited" and now[ids[0]][:2] == ("active", action_ids[-1])


def test_exit_actions(engine, user, clock, people):
    list_id, ids = people
    other, _ = journey(engine, user, [{"action": "Wait", "waitamount": 9, "published": True}])
    third, _ = journey(engine, user, [{"action": "Wait", "waitamount": 9, "published": True}])
    jid, _ = journey(engine, user, [{"action": "ExitJourney", "targetjourneyid": [other], "published": True},
                                    {"action": "Wait", "waitamount": 1, "published": True}])
    for j in (other, third, jid):
        enroll(engine, user, j, list_id, ids[:1])
    run_pass(engine, clock())
    assert positions(engine, other)[ids[0]][0] == "exited" and positions(engine, third)[ids[0]][0] == "active"
    assert positions(engine, jid)[ids[0]][0] == "active"
    everything, _ = journey(engine, user, [{"action": "ExitAllJourneys", "published": True}])
    enroll(engine, user, everything, list_id, ids[:1])
    run_pass(engine, clock())
    assert {positions(engine, j)[ids[0]][0] for j in (third, jid, everything)} == {"exited"}


def test_subscribe_unsubscribe_delete_and_start_journey(engine, user, clock, people):
    list_id, ids = people
    target = make_list(engine, user, "Target")
    welcome, _ = journey(engine, user, [{"action": "Wait", "waitamount": 9, "published": True}],
                         trigger="ListSubscription", trigger_list_id=target)
    started, _ = journey(engine, user, [{"action": "Wait", "waitamount": 9, "published": True}])
    jid, _ = journey(engine, user, [{"action": "Subscribe", "targetlistid": target, "published": True},
                                    {"action": "StartJourney", "targetjourneyid": started, "published": True},
                                    {"action": "Unsubscribe", "targetlistid": list_id, "published": True},
                                    {"action": "DeleteSubscriber", "published": True}])
    enroll(engine, user, jid, list_id, ids[:1])
    run_pass(engine, clock())
    with engine.uow() as uow:
        copied = uow.session.scalar(select(Subscriber).where(Subscriber.list_id == target))
        assert copied.email_address == "p0@example.com" and copied.subscription_status == "Subscribed"
        assert uow.session.get(Subscriber, ids[0]) is None  # deleted at the end
        copied_id = copied.id
    assert positions(engine, welcome)[copied_id][0] == "active"  # the ListSubscription trigger fired
    assert positions(engine, started)[ids[0]][0] == "active"
    assert positions(engine, jid)[ids[0]][0] == "exited"


def test_list_subscription_hook_respects_criteria_rate_limit_and_reentry(engine, user, clock, people):
    list_id, ids = people
    jid, (wait,) = journey(engine, user, [{"action": "Wait", "waitamount": 1, "published": True}],
                           trigger="ListSubscription", trigger_list_id=list_id, rate_limit_per_hour=2,
                           run_criteria=[[{"type": "fields", "field_id": "EmailAddress", "operator": "ends with",
                                           "value": "@example.com"}]])
    with engine.uow() as uow:
        assert hooks.on_subscribed(uow.session, list_id, ids, clock()) == 2  # the hourly limit
        assert hooks.on_subscribed(uow.session, list_id, ids, clock()) == 0
        uow.commit()
    clock.advance(hours=1, seconds=1)
    with engine.uow() as uow:
        assert hooks.on_subscribed(uow.session, list_id, ids, clock()) == 1  # the two are still active
        uow.commit()
    clock.advance(days=1)
    run_pass(engine, clock())
    with engine.uow() as uow:
        assert hooks.on_subscribed(uow.session, list_id, ids[:1], clock()) == 1  # run 2 after completing
        uow.commit()
        runs = sorted(uow.session.execute(select(JourneyEnrollment.subscriber_id, JourneyEnrollment.run_no)))
    assert runs == [(ids[0], 1), (ids[0], 2), (ids[1], 1), (ids[2], 1)]


def test_disabled_journeys_do_not_move(engine, user, clock, people):
    list_id, ids = people
    jid, _ = journey(engine, user, [{"action": "Debug", "published": True}], enabled=False)
    enroll(engine, user, jid, list_id, ids[:1])
    assert run_pass(engine, clock()).steps == 0
    with engine.uow() as uow:
        uow.journeys.set_status(user_actor(user), jid, True)
        uow.commit()
    assert run_pass(engine, clock()).steps == 1


def test_a_crash_mid_batch_takes_no_step_twice_and_loses_none(engine, user, clock, people):
    list_id, ids = people
    email_id = make_email(engine, user)
    jid, (send,) = journey(engine, user, [{"action": "SendEmail", "emailid": email_id, "published": True}])
    enroll(engine, user, jid, list_id, ids)

    def crash(action):
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        run_pass(engine, clock(), fail_after_effect=crash)
    with engine.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(JourneySend)) == 0
        assert uow.session.scalar(select(func.count()).select_from(JourneyStep)) == 0
        assert uow.session.scalar(select(func.count()).select_from(JourneyEnrollment).where(
            JourneyEnrollment.claim.is_not(None))) == 0
    assert run_pass(engine, clock()).steps == 3
    with engine.uow() as uow:
        assert sorted(uow.session.scalars(select(JourneySend.subscriber_id))) == ids


def test_concurrent_runners_take_every_step_once(engine, user, clock, backend):
    list_id = make_list(engine, user, "Many")
    ids = [make_subscriber(engine, list_id, f"c{n}@example.com") for n in range(60)]
    email_id = make_email(engine, user)
    jid, _ = journey(engine, user, [{"action": "SendEmail", "emailid": email_id, "published": True},
                                    {"action": "SendEmail", "emailid": email_id, "published": True}])
    enroll(engine, user, jid, list_id, ids)
    concurrent_passes(engine, clock)
    with engine.uow() as uow:
        per = uow.session.execute(select(JourneySend.subscriber_id, func.count()).group_by(JourneySend.subscriber_id))
        assert {sid: n for sid, n in per} == {sid: 2 for sid in ids}
        assert uow.session.scalar(select(func.count()).select_from(JourneyStep)) == 120
    assert {p[0] for p in positions(engine, jid).values()} == {"completed"}
