"""Decisions on journey behaviour (criteria-syntax.md "Filtering By Journeys"): a Decision after a SendEmail
branches on who opened or clicked that message, tracked for real (the worker sends, the tracking service
records the open and the click); membership rules read other journeys' runs. The same rules filter a
segment. On SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.automation.journeys.runner import run_pass
from engine.models import JourneyStep, Subscriber
from engine.tracking.tokens import journey_instance
from tests.builders import make_email, make_list, make_subscriber, user_actor
from tests.engine.test_autoresponder_sending import Capture
from tests.engine.test_journey_mail import worker
from tests.engine.test_journey_runner import enroll, journey, positions


@pytest.fixture
def people(engine, user):
    list_id = make_list(engine, user, "People")
    return list_id, [make_subscriber(engine, list_id, f"p{n}@example.com") for n in range(4)]


@pytest.fixture
def mail(engine, user):
    return make_email(engine, user, subject="Hi", from_email="shop@example.com",
                      html_content='<p>Hello</p><a href="https://shop.example/offer">Offer</a>')


def outcomes(engine, action_id: int) -> dict[int, str]:
    with engine.uow() as uow:
        return dict(uow.session.execute(select(JourneyStep.subscriber_id, JourneyStep.outcome).where(
            JourneyStep.action_id == action_id)).all())


def mailed_journey(engine, user, mail, operator: str):
    """SendEmail, Wait 1 day, then a Decision on `operator` of that SendEmail (True → Debug, False → Debug): the
    tree is saved twice, the second time naming the SendEmail's ActionID in the Decision's criteria."""
    send = {"action": "SendEmail", "emailid": mail, "published": True}
    wait = {"action": "Wait", "waitamount": 1, "waitunit": "days", "published": True}
    jid, (send_step, *_rest) = journey(engine, user, [send, wait])
    with engine.uow() as uow:
        uow.journeys.replace_actions(user_actor(user), jid, [
            {**send, "actionid": send_step}, wait,
            {"action": "Decision", "published": True, "criteriaoperator": "and",
             "criteria": [[{"type": "journeys", "operator": operator, "value": str(send_step)}]],
             "actions": {"true": [{"action": "Debug", "published": True, "debugmessage": "yes"}],
                         "false": [{"action": "Debug", "published": True, "debugmessage": "no"}]}}])
        uow.commit()
        decision = next(a.id for a in uow.journeys.actions(jid) if a.action == "Decision")
    return jid, send_step, decision


def track(engine, step: int, subscriber_id: int, *, click: bool) -> None:
    with engine.uow() as uow:
        nonce = uow.session.get(Subscriber, subscriber_id).public_nonce
        if click:
            uow.events.record_click(journey_instance(step), subscriber_id, 0, nonce=nonce)
        else:
            uow.events.record_open(journey_instance(step), subscriber_id, nonce=nonce)
        uow.commit()


@pytest.mark.parametrize("operator, expected_true", [
    ("opened", {1, 2}), ("not opened", {0, 3}), ("clicked", {2}), ("not clicked", {0, 1, 3})])
def test_a_decision_branches_on_who_opened_or_clicked_the_journeys_mail(engine, user, clock, people, mail,
                                                                        operator, expected_true):
    list_id, ids = people
    jid, send_step, decision = mailed_journey(engine, user, mail, operator)
    enroll(engine, user, jid, list_id, ids[:3])
    run_pass(engine, clock())
    assert worker(engine, Capture(), clock).run_once().sent == 3
    track(engine, send_step, ids[1], click=False)
    track(engine, send_step, ids[2], click=True)   # a click counts as an open too
    clock.advance(days=1)
    run_pass(engine, clock())
    expected = {ids[n]: ("true" if n in expected_true else "false") for n in range(3)}
    assert outcomes(engine, decision) == expected
    assert {p[0] for p in positions(engine, jid).values()} == {"completed"}


def test_membership_rules_read_other_journeys_runs(engine, user, clock, people):
    list_id, ids = people
    waiting, _ = journey(engine, user, [{"action": "Wait", "waitamount": 9, "published": True}])
    finished, _ = journey(engine, user, [{"action": "Debug", "published": True, "debugmessage": "done"}])
    enroll(engine, user, waiting, list_id, ids[:2])
    enroll(engine, user, finished, list_id, ids[1:3])
    run_pass(engine, clock())
    results = {}
    for operator, target in (("in journey", waiting), ("not in journey", waiting), ("completed journey", finished)):
        jid, (decision, *_rest) = journey(engine, user, [
            {"action": "Decision", "published": True, "criteriaoperator": "and",
             "criteria": [[{"type": "journeys", "operator": operator, "value": target}]],
             "actions": {"true": [], "false": []}}])
        enroll(engine, user, jid, list_id, ids)
        run_pass(engine, clock())
        results[operator] = {s for s, o in outcomes(engine, decision).items() if o == "true"}
    assert results == {"in journey": {ids[0], ids[1]}, "not in journey": {ids[2], ids[3]},
                       "completed journey": {ids[1], ids[2]}}


def test_a_decision_naming_another_owners_journey_fails_closed(engine, user, other_user, clock, people):
    """Criteria are compiled with the Decision owner's lookups: another account's journey is "not there", so the
    criteria match nobody (never everybody), and nothing about the other account's runs leaks into the branch."""
    list_id, ids = people
    other_list = make_list(engine, other_user, "Theirs")
    theirs = make_subscriber(engine, other_list, "p0@example.com")
    foreign, _ = journey(engine, other_user, [{"action": "Wait", "waitamount": 9, "published": True}])
    enroll(engine, other_user, foreign, other_list, [theirs])
    for operator in ("in journey", "not in journey"):
        jid, (decision, *_rest) = journey(engine, user, [
            {"action": "Decision", "published": True, "criteriaoperator": "and",
             "criteria": [[{"type": "journeys", "operator": operator, "value": foreign}]],
             "actions": {"true": [], "false": []}}])
        enroll(engine, user, jid, list_id, ids[:2])
        run_pass(engine, clock())
        assert outcomes(engine, decision) == {ids[0]: "false", ids[1]: "false"}


def test_segments_filter_on_journey_mail_too(engine, user, clock, people, mail):
    list_id, ids = people
    jid, (send_step,) = journey(engine, user, [{"action": "SendEmail", "emailid": mail, "published": True}])
    enroll(engine, user, jid, list_id, ids[:2])
    run_pass(engine, clock())
    worker(engine, Capture(), clock).run_once()
    track(engine, send_step, ids[0], click=True)
    from engine.audience.segments import RulesInput

    counts = {}
    with engine.uow() as uow:
        actor = user_actor(user)
        for operator in ("clicked", "not clicked", "opened"):
            segment = uow.segments.create(actor, list_id, operator, "and", RulesInput(rules_json=json.dumps(
                [[{"type": "journey-email-action", "operator": operator, "value": send_step}]])))
            counts[operator] = uow.segments.count(segment)
        uow.commit()
    assert counts == {"clicked": 1, "not clicked": 3, "opened": 1}
