"""Selecting subscribers by RulesJSON criteria in Subscribers.Delete and Subscriber.Unsubscribe
(v5.9.4 subscribers.md; protocol.md §3.4, §8.2, §8.3): one compiled statement, the caller's list only,
one transaction, never "everyone" by accident."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, insert, select

from engine.models import Subscriber, SubscriberFieldValue, Suppression
from tests.builders import load_row, make_custom_field, make_list, make_subscriber
from tests.helpers import stored_state


def contains(text: str, field: str = "EmailAddress") -> str:
    return json.dumps([[{"type": "fields", "field_id": field, "operator": "contains", "value": text}]])


@pytest.fixture
def people(engine, user):
    list_id = make_list(engine, user)
    city = make_custom_field(engine, user, list_id, "City")
    ids = {
        "ann": make_subscriber(engine, list_id, "ann@a.example", values={city: "Paris"},
                               subscription_status="Subscribed"),
        "bob": make_subscriber(engine, list_id, "bob@b.example", values={city: "Berlin"},
                               subscription_status="Subscribed"),
        "cat": make_subscriber(engine, list_id, "cat@a.example", values={city: "Berlin"},
                               subscription_status="Subscribed"),
        "dan": make_subscriber(engine, list_id, "dan@a.example", subscription_status="Unsubscribed"),
    }
    return list_id, city, ids


def statuses(engine, ids: dict) -> dict:
    with engine.uow() as uow:
        return {name: (row.subscription_status if (row := uow.session.get(Subscriber, sid)) else None)
                for name, sid in ids.items()}


# --- Subscribers.Delete ----------------------------------------------------------------------------
def test_delete_by_rules_removes_the_matching_subscribers_of_that_list_only(api, engine, user, people):
    list_id, city, ids = people
    other = make_list(engine, user, "Other")
    elsewhere = make_subscriber(engine, other, "ann@a.example")
    answer = api("Subscribers.Delete", user.session, SubscriberListID=list_id, RulesJSON=contains("@A.EXAMPLE"),
                 RulesOperator="and")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "TotalDeleted": 3}
    assert statuses(engine, ids) == {"ann": None, "bob": "Subscribed", "cat": None, "dan": None}
    assert load_row(engine, Subscriber, elsewhere) is not None
    with engine.uow() as uow:
        owners = set(uow.session.scalars(select(SubscriberFieldValue.subscriber_id)))
    assert owners == {ids["bob"]}  # the deleted subscribers' field values went with them


def test_delete_by_a_custom_field_rule(api, engine, user, people):
    list_id, city, ids = people
    rules = json.dumps([[{"type": "fields", "field_id": f"CustomField{city}", "operator": "is", "value": "berlin"}]])
    answer = api("Subscribers.Delete", user.session, SubscriberListID=list_id, RulesJSON=rules, RulesOperator="or")
    assert answer["TotalDeleted"] == 2
    assert statuses(engine, ids) == {"ann": "Subscribed", "bob": None, "cat": None, "dan": "Unsubscribed"}


def test_ids_and_rules_together_delete_the_listed_ones_that_match(api, engine, user, people):
    list_id, _, ids = people
    answer = api("Subscribers.Delete", user.session, SubscriberListID=list_id,
                 Subscribers=f"{ids['ann']},{ids['bob']}", RulesJSON=contains("@a.example"), RulesOperator="and")
    assert answer["TotalDeleted"] == 1
    assert statuses(engine, ids) == {"ann": None, "bob": "Subscribed", "cat": "Subscribed", "dan": "Unsubscribed"}


def test_suppressed_with_rules_lifts_only_the_matching_suppressions(api, engine, user, people):
    list_id, _, ids = people
    api("Suppression.Import", user.session, EmailAddressesBulk="ann@a.example\nbob@b.example")
    answer = api("Subscribers.Delete", user.session, SubscriberListID=list_id, RulesJSON=contains("ann"),
                 RulesOperator="and", Suppressed="true")
    assert answer["Success"] is True and answer["TotalUnsuppressed"] == 1
    assert "Subscribed" == statuses(engine, ids)["ann"]  # kept
    with engine.uow() as uow:
        assert list(uow.session.scalars(select(Suppression.email_normalized))) == ["bob@b.example"]


def test_rules_that_match_nobody_delete_nothing(api, engine, user, people):
    list_id, _, ids = people
    before = stored_state(engine)
    for value in ("' OR '1'='1", "%", "_", "1; DROP TABLE subscribers; --"):
        answer = api("Subscribers.Delete", user.session, SubscriberListID=list_id, RulesJSON=contains(value),
                     RulesOperator="or")
        assert answer["TotalDeleted"] == 0
    assert None not in statuses(engine, ids).values() and stored_state(engine) == before


def test_rules_json_as_a_nested_json_value_is_7(api, engine, user, people):
    list_id, _, ids = people
    before = stored_state(engine)
    answer = api.json({"Command": "Subscribers.Delete", "SessionID": user.session, "SubscriberListID": list_id,
                       "RulesJSON": json.loads(contains("a")), "RulesOperator": "and"})
    assert answer["ErrorCode"] == [7] and "string" in answer["ErrorText"][0]
    assert None not in statuses(engine, ids).values() and stored_state(engine) == before


def test_rules_of_another_account_are_refused(api, engine, user, other_user, people):
    list_id, city, ids = people
    # Another account's list: answered like a missing one.
    before = stored_state(engine)
    answer = api("Subscribers.Delete", other_user.session, SubscriberListID=list_id, RulesJSON=contains("a"),
                 RulesOperator="and")
    assert answer["ErrorCode"] == [5]
    assert stored_state(engine) == before
    # Criteria naming another account's custom field on one's own list: invalid criteria.
    own_list = make_list(engine, other_user, "Mine")
    make_subscriber(engine, own_list, "theirs@a.example")
    before = stored_state(engine)
    rules = json.dumps([[{"type": "fields", "field_id": str(city), "operator": "is set"}]])
    answer = api("Subscribers.Delete", other_user.session, SubscriberListID=own_list, RulesJSON=rules,
                 RulesOperator="and")
    assert answer["ErrorCode"] == [7]
    assert None not in statuses(engine, ids).values() and stored_state(engine) == before


def test_a_large_selection_is_deleted_in_one_command(api, engine, user):
    list_id = make_list(engine, user)
    with engine.uow() as uow:
        uow.session.execute(insert(Subscriber), [
            {"list_id": list_id, "email_address": f"p{n}@{'bulk' if n % 5 else 'keep'}.example",
             "email_normalized": f"p{n}@{'bulk' if n % 5 else 'keep'}.example", "subscription_date": uow.clock()}
            for n in range(2600)])
        uow.commit()
    answer = api("Subscribers.Delete", user.session, SubscriberListID=list_id, RulesJSON=contains("@bulk."),
                 RulesOperator="and")
    assert answer["TotalDeleted"] == 2080
    with engine.uow() as uow:
        assert uow.session.scalar(select(func.count(Subscriber.id))) == 520


# --- Subscriber.Unsubscribe ------------------------------------------------------------------------
def test_the_owner_unsubscribes_every_matching_subscriber(api, engine, user, people, clock):
    list_id, _, ids = people
    with engine.uow() as uow:
        from engine.models import SubscriberList
        uow.session.get(SubscriberList, list_id).opt_out_add_to_suppression_list = True
        uow.session.get(SubscriberList, list_id).unsubscription_confirmed_page_url = "https://alice.example/bye"
        uow.commit()
    answer = api("Subscriber.Unsubscribe", user.session, ListID=list_id, IPAddress="198.51.100.4",
                 RulesJSON=contains("@a.example"), RulesOperator="and", Channel="Cleanup")
    assert answer == {"Success": True, "ErrorCode": 0, "RedirectURL": "https://alice.example/bye",
                      "TotalUnsubscribed": 2}  # dan was unsubscribed already
    assert statuses(engine, ids) == {"ann": "Unsubscribed", "bob": "Subscribed", "cat": "Unsubscribed",
                                     "dan": "Unsubscribed"}
    ann = load_row(engine, Subscriber, ids["ann"])
    assert (ann.unsubscription_ip, ann.unsubscription_channel, ann.unsubscription_date) == \
        ("198.51.100.4", "Cleanup", clock.now)
    with engine.uow() as uow:  # the list's opt-out behaviour ran for each of them
        assert sorted(uow.session.scalars(select(Suppression.email_normalized))) == ["ann@a.example",
                                                                                     "cat@a.example"]


def test_bulk_unsubscribe_preview_counts_and_changes_nothing(api, engine, user, people):
    list_id, _, ids = people
    before = stored_state(engine)
    answer = api("Subscriber.Unsubscribe", user.session, ListID=list_id, IPAddress="1.2.3.4",
                 RulesJSON=contains("example"), RulesOperator="or", Preview="1")
    assert answer["TotalUnsubscribed"] == 3
    assert statuses(engine, ids) == {"ann": "Subscribed", "bob": "Subscribed", "cat": "Subscribed",
                                     "dan": "Unsubscribed"}
    assert stored_state(engine) == before


def test_rules_with_an_address_unsubscribe_that_address_only_when_it_matches(api, engine, user, people):
    list_id, _, ids = people
    params = dict(ListID=list_id, IPAddress="1.2.3.4", RulesJSON=contains("@a.example"), RulesOperator="and")
    assert api("Subscriber.Unsubscribe", user.session, EmailAddress="bob@b.example", **params)["TotalUnsubscribed"] == 0
    assert api("Subscriber.Unsubscribe", user.session, EmailAddress="CAT@a.example", **params)["TotalUnsubscribed"] == 1
    assert statuses(engine, ids) == {"ann": "Subscribed", "bob": "Subscribed", "cat": "Unsubscribed",
                                     "dan": "Unsubscribed"}


@pytest.mark.parametrize("who", [None, "stale-session"])
def test_bulk_unsubscribe_needs_the_owner_s_credentials(api, engine, people, who):
    list_id, _, ids = people
    before = stored_state(engine)
    answer = api("Subscriber.Unsubscribe", who, ListID=list_id, IPAddress="1.2.3.4",
                 RulesJSON=contains("example"), RulesOperator="or")
    assert answer["Success"] is False and answer["ErrorCode"] == 99998
    assert statuses(engine, ids)["ann"] == "Subscribed" and stored_state(engine) == before


def test_bulk_unsubscribe_of_another_account_s_list_is_4(api, engine, other_user, people):
    list_id, _, ids = people
    before = stored_state(engine)
    answer = api("Subscriber.Unsubscribe", other_user.session, ListID=list_id, IPAddress="1.2.3.4",
                 RulesJSON=contains("example"), RulesOperator="or")
    assert answer["ErrorCode"] == [4]
    assert statuses(engine, ids)["ann"] == "Subscribed" and stored_state(engine) == before


def test_empty_rules_json_with_an_address_unsubscribes_that_address_only(api, engine, people):
    list_id, _, ids = people
    answer = api("Subscriber.Unsubscribe", None, ListID=list_id, IPAddress="1.2.3.4", EmailAddress="ann@a.example",
                 RulesJSON="", RulesOperator="and")
    assert answer["Success"] is True and "TotalUnsubscribed" not in answer
    assert statuses(engine, ids) == {"ann": "Unsubscribed", "bob": "Subscribed", "cat": "Subscribed",
                                     "dan": "Unsubscribed"}


# --- LimitSubscribers under concurrency ------------------------------------------------------------
def test_racing_sign_ups_never_exceed_the_subscriber_limit(engine, user, database_url):
    """Eight sign-ups race for the last three places, each in its own connection: exactly three win."""
    import threading

    from engine import bootstrap
    from engine.db import make_sa_engine
    from engine.errors import SubscriberLimitReached
    from engine.models import User

    list_id = make_list(engine, user)
    with engine.uow() as uow:
        uow.session.get(User, user.id).group.limit_subscribers = 3
        uow.commit()
    workers = [bootstrap(engine.settings, db=make_sa_engine(database_url), clock=engine.clock) for _ in range(8)]
    outcomes, barrier = [], threading.Barrier(8)

    def sign_up(n, eng):
        try:
            barrier.wait()
            with eng.uow() as uow:
                uow.subscribers.subscribe([list_id], f"racer{n}@example.com", "203.0.113.9")
                uow.commit()
            outcomes.append("subscribed")
        except SubscriberLimitReached:
            outcomes.append("refused")
        except Exception as exc:  # noqa: BLE001 - a deadlock or lock timeout would land here
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=sign_up, args=(n, eng)) for n, eng in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for eng in workers:
        eng.db.dispose()
    assert sorted(outcomes) == ["refused"] * 5 + ["subscribed"] * 3
    with engine.uow() as uow:
        assert uow.session.scalar(select(func.count(Subscriber.id))) == 3
