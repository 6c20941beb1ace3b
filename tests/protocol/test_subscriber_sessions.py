"""Subscriber.Login and Subscriber.GetLists through HTTP: the signed, expiring subscriber session, what it
shows (the address's lists in the list owner's account only), every documented code, the per-IP limit, and
that nothing is stored by either command."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from engine import bootstrap
from engine.accounts.ratelimits import RateLimit
from engine.audience.subscriber_sessions import LIFETIME
from engine.config import Settings
from engine.models import SubscriberList, User
from protocol.app import create_app
from protocol.commands import subscriber_sessions
from tests.builders import CodeRecorder, assert_codes_reached, make_list, make_subscriber
from tests.helpers import ApiCaller, stored_state

SEEN: dict = {}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def reader(engine, user, other_user):
    """ann@example.com on three of alice's lists (one unsubscribed, one hidden from the subscriber area)
    and on one of another account's; bob only on the first."""
    news, offers, hidden = (make_list(engine, user, name) for name in ("News", "Offers", "Internal"))
    foreign = make_list(engine, other_user, "Someone else's")
    with engine.uow() as uow:
        uow.session.execute(update(SubscriberList).where(SubscriberList.id == hidden)
                            .values(hide_in_subscriber_area=True))
        uow.commit()
    ids = {"news": make_subscriber(engine, news, "Ann@Example.com"),
           "offers": make_subscriber(engine, offers, "ann@example.com", subscription_status="Unsubscribed"),
           "hidden": make_subscriber(engine, hidden, "ann@example.com"),
           "foreign": make_subscriber(engine, foreign, "ann@example.com"),
           "bob": make_subscriber(engine, news, "bob@example.com")}
    return {"news": news, "offers": offers, "hidden": hidden, "foreign": foreign}, ids


def login(api, list_id, email="ann@example.com"):
    answer = api("Subscriber.Login", ListID=list_id, EmailAddress=email)
    assert answer["Success"] is True, answer
    return answer["SessionID"]


def set_owner_status(engine, user, status):
    with engine.uow() as uow:
        uow.session.execute(update(User).where(User.id == user.id).values(account_status=status))
        uow.commit()


# --- Subscriber.Login --------------------------------------------------------------------------
def test_login_answers_a_session_and_the_subscriber_and_stores_nothing(api, engine, reader):
    lists, ids = reader
    before = stored_state(engine)
    answer = api("Subscriber.Login", ListID=lists["news"], EmailAddress="  ANN@example.COM ")
    assert answer == {"Success": True, "ErrorCode": 0, "SessionID": answer["SessionID"],
                      "SubscriberInformation": {"SubscriberID": ids["news"], "EmailAddress": "Ann@Example.com",
                                                "SubscriptionStatus": "Subscribed"}}
    assert isinstance(answer["SessionID"], str) and len(answer["SessionID"]) >= 32
    # An unsubscribed reader may log in too (to see where they stand).
    unsubscribed = api("Subscriber.Login", ListID=lists["offers"], EmailAddress="ann@example.com")
    assert unsubscribed["SubscriberInformation"]["SubscriptionStatus"] == "Unsubscribed"
    assert stored_state(engine) == before  # the session is signed, not stored


def test_login_codes(api, engine, user, reader):
    lists, _ = reader
    before = stored_state(engine)
    missing = api("Subscriber.Login", EmailAddress="ann@example.com")
    assert (missing["Success"], missing["ErrorCode"]) == (False, 1)
    assert missing["ErrorText"].startswith("Missing ListID parameter")
    assert api("Subscriber.Login", ListID=lists["news"])["ErrorCode"] == 2
    assert api("Subscriber.Login", ListID=lists["news"], EmailAddress="   ")["ErrorCode"] == 2
    assert api("Subscriber.Login", ListID=lists["news"], EmailAddress="not-an-address")["ErrorCode"] == 3
    assert api("Subscriber.Login", ListID=lists["news"], EmailAddress="a" * 300 + "@example.com")["ErrorCode"] == 3
    not_found = api("Subscriber.Login", ListID=lists["news"], EmailAddress="nobody@example.com")
    assert (not_found["Success"], not_found["ErrorCode"]) == (False, 4)
    assert not_found["ErrorText"].startswith("Subscriber not found")
    # An unknown address, an unknown list, a list the address is not on and a ListID that is no ID all answer
    # the same: a caller cannot tell a list that exists from one that does not.
    assert api("Subscriber.Login", ListID=lists["news"], EmailAddress="zed@example.com") == not_found
    assert api("Subscriber.Login", ListID=lists["foreign"] + 1000, EmailAddress="ann@example.com") == not_found
    assert api("Subscriber.Login", ListID=lists["news"] + 1000, EmailAddress="bob@example.com") == not_found
    assert api("Subscriber.Login", ListID=lists["offers"], EmailAddress="bob@example.com") == not_found
    assert api("Subscriber.Login", ListID="abc", EmailAddress="ann@example.com")["ErrorCode"] == 4
    # A disabled account's readers cannot log in.
    set_owner_status(engine, user, "Disabled")
    assert api("Subscriber.Login", ListID=lists["news"], EmailAddress="ann@example.com") == not_found
    set_owner_status(engine, user, "Enabled")
    assert stored_state(engine) == before


# --- Subscriber.GetLists -----------------------------------------------------------------------
def test_getlists_shows_the_address_lists_in_the_owner_account_only(api, engine, reader):
    lists, _ = reader
    session = login(api, lists["news"])
    before = stored_state(engine)
    answer = api("Subscriber.GetLists", SessionID=session)
    assert answer == {"Success": True, "ErrorCode": 0, "Lists": [
        {"ListID": lists["news"], "ListName": "News", "SubscriptionStatus": "Subscribed"},
        {"ListID": lists["offers"], "ListName": "Offers", "SubscriptionStatus": "Unsubscribed"},
    ]}  # not the hidden list, not another account's list with the same address
    assert api("Subscriber.GetLists", SessionID=login(api, lists["news"], "bob@example.com"))["Lists"] == [
        {"ListID": lists["news"], "ListName": "News", "SubscriptionStatus": "Subscribed"}]
    foreign = api("Subscriber.GetLists", SessionID=login(api, lists["foreign"]))
    assert [row["ListID"] for row in foreign["Lists"]] == [lists["foreign"]]
    assert stored_state(engine) == before


def test_getlists_follows_the_stored_statuses(api, engine, user, reader):
    lists, ids = reader
    session = login(api, lists["news"])
    assert api("Subscriber.Unsubscribe", ListID=lists["news"], EmailAddress="ann@example.com",
               IPAddress="127.0.0.1")["Success"] is True
    statuses = {row["ListID"]: row["SubscriptionStatus"] for row in api("Subscriber.GetLists", SessionID=session)["Lists"]}
    assert statuses == {lists["news"]: "Unsubscribed", lists["offers"]: "Unsubscribed"}


def test_getlists_refuses_missing_forged_and_user_sessions(api, engine, user, reader):
    lists, _ = reader
    session = login(api, lists["news"])
    before = stored_state(engine)
    refused = {"Success": False, "ErrorCode": 1, "ErrorText": "Authentication failure or session expired"}
    assert api("Subscriber.GetLists")["ErrorCode"] == 1
    assert api("Subscriber.GetLists", SessionID="")["ErrorCode"] == 1
    assert api("Subscriber.GetLists", SessionID="not-a-session") == refused
    assert api("Subscriber.GetLists", SessionID=user.session) == refused  # a user's session is not a subscriber's
    flipped = session[:-3] + ("A" if session[-3] != "A" else "B") + session[-2:]
    assert api("Subscriber.GetLists", SessionID=flipped) == refused
    assert api("Subscriber.GetLists", SessionID=session + "AAAA") == refused
    assert api("Subscriber.GetLists", SessionID=session)["Success"] is True
    assert stored_state(engine) == before


def test_a_session_expires(api, clock, reader):
    lists, _ = reader
    session = login(api, lists["news"])
    clock.advance(seconds=LIFETIME.total_seconds() - 1)
    assert api("Subscriber.GetLists", SessionID=session)["Success"] is True
    clock.advance(seconds=1)
    assert api("Subscriber.GetLists", SessionID=session)["ErrorCode"] == 1
    assert api("Subscriber.GetLists", SessionID=login(api, lists["news"]))["Success"] is True  # log in again


def test_a_session_dies_with_its_subscriber_address_or_account(api, engine, user, reader):
    lists, ids = reader
    deleted, renamed = login(api, lists["offers"]), login(api, lists["news"])
    assert api("Subscribers.Delete", user.session, SubscriberListID=lists["offers"],
               Subscribers=str(ids["offers"]))["Success"] is True
    assert api("Subscriber.GetLists", SessionID=deleted)["ErrorCode"] == 1
    # The owner changed the address: the session was for the old one, it must not show the new one's lists.
    assert api("Subscriber.Update", user.session, SubscriberID=ids["news"], SubscriberListID=lists["news"],
               EmailAddress="ann@elsewhere.example")["Success"] is True
    assert api("Subscriber.GetLists", SessionID=renamed)["ErrorCode"] == 1
    fresh = login(api, lists["hidden"])
    set_owner_status(engine, user, "Disabled")
    assert api("Subscriber.GetLists", SessionID=fresh)["ErrorCode"] == 1


def test_sessions_survive_a_key_rotation_only_while_the_old_key_is_kept(api, engine, sa_engine, database_url,
                                                                          clock, reader):
    lists, _ = reader
    session = login(api, lists["news"])

    def caller(**keys):
        settings = Settings(database_url=database_url, base_url="http://sendmill.test", **keys)
        return ApiCaller(create_app(bootstrap(settings, db=sa_engine, clock=clock)).test_client())

    rotated = caller(secret_key="new-secret", previous_secret_keys=("test-secret",))
    assert rotated("Subscriber.GetLists", SessionID=session)["Success"] is True
    assert caller(secret_key="new-secret")("Subscriber.GetLists", SessionID=session)["ErrorCode"] == 1
    # Sessions signed with the new key do not verify under the old one.
    newer = rotated("Subscriber.Login", ListID=lists["news"], EmailAddress="ann@example.com")["SessionID"]
    assert api("Subscriber.GetLists", SessionID=newer)["ErrorCode"] == 1


def test_both_commands_count_against_the_public_rate_limit(engine, sa_engine, database_url, clock, reader):
    lists, _ = reader
    settings = Settings(database_url=database_url, secret_key="test-secret", base_url="http://sendmill.test",
                        public_rate_limit=RateLimit(requests=2, seconds=60))
    client = create_app(bootstrap(settings, db=sa_engine, clock=clock)).test_client()

    def call(command, **params):
        return client.post("/api.php", data={"Command": command, **params},
                           environ_base={"REMOTE_ADDR": "203.0.113.7"}).get_json()

    for address in ("zed@example.com", "ann@example.com"):
        assert call("Subscriber.Login", ListID=lists["news"], EmailAddress=address)["ErrorCode"] in (0, 4)
    refused = call("Subscriber.Login", ListID=lists["news"], EmailAddress="ann@example.com")
    assert (refused["Success"], refused["ErrorCode"]) == (False, 429)
    for _ in range(2):
        assert call("Subscriber.GetLists", SessionID="forged")["ErrorCode"] == 1
    assert call("Subscriber.GetLists", SessionID="forged")["ErrorCode"] == 429
    clock.advance(seconds=60)
    assert call("Subscriber.Login", ListID=lists["news"], EmailAddress="ann@example.com")["Success"] is True


def test_every_documented_code_is_answered(request):
    assert_codes_reached(request, SEEN, subscriber_sessions.COMMANDS, never_emitted={})
