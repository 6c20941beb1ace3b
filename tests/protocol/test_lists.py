"""Subscriber lists through HTTP: List.Create/Get/Update, Lists.Get/Delete — every code, stored state."""
from __future__ import annotations

import json

import pytest

from engine.models import CustomField, Segment, Subscriber, SubscriberList, User
from protocol.commands import lists as commands
from tests.builders import (
    CodeRecorder, assert_codes_reached, load_row, make_custom_field, make_email, make_segment,
    make_subscriber,
)
from tests.helpers import make_user, stored_state

SEEN: dict = {}
NEVER_EMITTED = {"List.Create": {2}}  # the duplicate-name check is documented as disabled


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


def create_list(api, user, name="Newsletter", **params) -> int:
    answer = api("List.Create", user.session, SubscriberListName=name, **params)
    assert answer["Success"] is True, answer
    return answer["ListID"]


# --- List.Create ---------------------------------------------------------------------------------
def test_create_returns_an_integer_id_and_stores_the_settings(api, user, engine):
    answer = api("List.Create", user.session, subscriberlistname="  Weekly news ", OptInMode="double",
                 SenderName="Alice Co", SenderEmailAddress="news@alice.example", Description="Every Monday")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "ListID": answer["ListID"]}
    assert isinstance(answer["ListID"], int)
    row = load_row(engine, SubscriberList, answer["ListID"])
    assert (row.owner_user_id, row.name, row.opt_in_mode, row.sender_name, row.sender_email_address,
            row.description) == (user.id, "Weekly news", "Double", "Alice Co", "news@alice.example", "Every Monday")
    assert row.opt_out_scope == "This list" and row.opt_out_add_to_suppression_list is False


@pytest.mark.parametrize("name", [None, "", "   "])
def test_create_without_a_name_is_1(api, user, engine, name):
    params = {} if name is None else {"SubscriberListName": name}
    before = stored_state(engine)
    answer = api("List.Create", user.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == [1]
    assert answer["ErrorText"][0].startswith("Missing subscriber list name")
    assert stored_state(engine) == before


def test_create_beyond_the_group_list_limit_is_3(api, user, engine):
    with engine.uow() as uow:
        uow.session.get(User, user.id).group.limit_lists = 1
        uow.commit()
    create_list(api, user, "First")
    answer = api("List.Create", user.session, SubscriberListName="Second")
    assert answer["ErrorCode"] == [3] and "1 lists" in answer["ErrorText"][0]
    with engine.uow() as uow:
        assert uow.session.query(SubscriberList).count() == 1


@pytest.mark.parametrize("unlimited", [0, -1])
def test_a_list_limit_of_0_or_minus_1_is_unlimited(api, user, engine, unlimited):
    with engine.uow() as uow:
        uow.session.get(User, user.id).group.limit_lists = unlimited
        uow.commit()
    for n in range(3):
        assert api("List.Create", user.session, SubscriberListName=f"L{n}")["Success"] is True
    with engine.uow() as uow:
        assert sorted(r.name for r in uow.session.query(SubscriberList)) == ["L0", "L1", "L2"]


def test_the_list_limit_counts_the_caller_s_lists_only(api, user, other_user, engine):
    with engine.uow() as uow:
        uow.session.get(User, user.id).group.limit_lists = 1
        uow.session.get(User, other_user.id).group.limit_lists = 1
        uow.commit()
    assert api("List.Create", other_user.session, SubscriberListName="Theirs")["Success"] is True
    assert api("List.Create", user.session, SubscriberListName="Mine")["Success"] is True
    before = stored_state(engine)
    assert api("List.Create", user.session, SubscriberListName="Another")["ErrorCode"] == [3]
    assert stored_state(engine) == before
    with engine.uow() as uow:
        assert sorted((r.owner_user_id, r.name) for r in uow.session.query(SubscriberList)) == \
            sorted([(other_user.id, "Theirs"), (user.id, "Mine")])


def test_create_with_an_invalid_sender_address_is_6(api, user, engine):
    before = stored_state(engine)
    answer = api("List.Create", user.session, SubscriberListName="X", SenderEmailAddress="not an address")
    assert answer["ErrorCode"] == [6] and "sender_email_address" in answer["ErrorText"][0]
    assert stored_state(engine) == before


def test_create_with_an_unknown_opt_in_mode_is_20(api, user, engine):
    before = stored_state(engine)
    assert api("List.Create", user.session, SubscriberListName="X", OptInMode="Triple")["ErrorCode"] == [20]
    assert stored_state(engine) == before


# --- List.Get ------------------------------------------------------------------------------------
def test_get_returns_the_row_with_counts(api, user, engine):
    list_id = create_list(api, user, "Customers")
    make_subscriber(engine, list_id, "a@example.com")
    make_subscriber(engine, list_id, "b@example.com", subscription_status="Unsubscribed")
    make_subscriber(engine, list_id, "c@example.com", bounce_type="Hard")
    make_segment(engine, user, list_id)
    answer = api("List.Get", user.session, ListID=list_id)
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    row = answer["List"]
    assert row["ListID"] == str(list_id) and row["Name"] == "Customers" and row["RelOwnerUserID"] == str(user.id)
    assert (row["SubscriberCount"], row["TotalSubscriberCount"], row["SegmentCount"]) == (1, 3, 1)
    assert row["OptInMode"] == "Single" and row["OptOutAddToSuppressionList"] == "No"
    assert row["Options"] == [] and len(row["EncryptedSaltedListID"]) == 32


@pytest.mark.parametrize("value", [None, "abc", "0"])
def test_get_missing_or_malformed_id_is_keyed_listid_1(api, user, value):
    params = {} if value is None else {"ListID": value}
    answer = api("List.Get", user.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == {"listid": 1}


def test_get_of_a_foreign_or_unknown_list_is_keyed_1_and_shows_nothing(api, user, other_user):
    list_id = create_list(api, user)
    for session, target in ((other_user.session, list_id), (user.session, 999999)):
        answer = api("List.Get", session, ListID=target)
        assert answer["ErrorCode"] == {"listid": 1} and "List" not in answer


# --- List.Update ---------------------------------------------------------------------------------
def test_update_changes_only_the_given_settings(api, user, engine):
    list_id = create_list(api, user, "Old", SenderName="Keep me")
    other = create_list(api, user, "Welcome list")
    email_id = make_email(engine, user)
    answer = api("List.Update", user.session, SubscriberListID=list_id, Name="New", OptInMode="Double",
                 OptInConfirmationEmailID=email_id, OptOutScope="All lists", OptOutAddToSuppressionList="Yes",
                 HideInSubscriberArea="true", SendActivityNotification="false", OptInSubscribeTo=other,
                 SubscriptionConfirmedPageURL="https://alice.example/thanks",
                 ReqByEmailSearchToAddress="join@alice.example", **{"Options[PlainEmailHeader]": "Hi"})
    assert answer["Success"] is True and answer["ErrorText"] == ""
    assert answer["List"]["Name"] == "New" and answer["List"]["OptInSubscribeTo"] == str(other)
    row = load_row(engine, SubscriberList, list_id)
    assert (row.name, row.sender_name, row.opt_in_mode, row.opt_in_confirmation_email_id, row.opt_out_scope) == \
        ("New", "Keep me", "Double", email_id, "All lists")
    assert (row.opt_out_add_to_suppression_list, row.hide_in_subscriber_area, row.opt_in_subscribe_to_list_id) == \
        (True, True, other)
    assert row.subscription_confirmed_page_url == "https://alice.example/thanks"
    assert json.loads(row.options) == {"plainemailheader": "Hi"}


def test_update_options_merge_with_case_insensitive_keys(api, user, engine):
    list_id = create_list(api, user)
    api("List.Update", user.session, SubscriberListID=list_id, Options=json.dumps({"HTMLEmailFooter": "a", "X": 1}))
    api("List.Update", user.session, SubscriberListID=list_id, Options=json.dumps({"htmlemailfooter": "b"}))
    assert json.loads(load_row(engine, SubscriberList, list_id).options) == {"HTMLEmailFooter": "b", "X": 1}


def test_update_without_the_list_id_is_1(api, user, engine):
    create_list(api, user, "Mine")
    before = stored_state(engine)
    assert api("List.Update", user.session, Name="X")["ErrorCode"] == [1]
    assert stored_state(engine) == before


@pytest.mark.parametrize("value", ["abc", "999999"])
def test_update_of_an_invalid_or_unknown_list_is_2(api, user, engine, value):
    create_list(api, user, "Mine")
    before = stored_state(engine)
    assert api("List.Update", user.session, SubscriberListID=value, Name="X")["ErrorCode"] == [2]
    assert stored_state(engine) == before


def test_update_of_a_foreign_list_is_2_and_changes_nothing(api, user, other_user, engine):
    list_id = create_list(api, user, "Mine")
    before = stored_state(engine)
    assert api("List.Update", other_user.session, SubscriberListID=list_id, Name="Stolen")["ErrorCode"] == [2]
    assert load_row(engine, SubscriberList, list_id).name == "Mine" and stored_state(engine) == before


@pytest.mark.parametrize("params, code", [
    ({"OptInMode": "Sometimes"}, 3),
    ({"OptOutScope": "Some lists"}, 4),
    ({"SendServiceIntegrationFailedNotification": "maybe"}, 5),
    ({"SendActivityNotification": "perhaps"}, 5),
    ({"HideInSubscriberArea": "sometimes"}, 6),
    ({"SubscriptionErrorPageURL": "javascript:alert(1)"}, 6),
    ({"SenderEmailAddress": "nobody"}, 6),
    ({"OptInSubscribeTo": "999999"}, 6),
    ({"OptInConfirmationEmailID": "999999"}, 6),
    ({"Options": "[1, 2]"}, 6),
    ({"SyncStatus": "Enabled"}, 8),
    ({"ReqByEmailSearchToAddress": "not-an-address"}, 9),
    ({"OptOutAddToSuppressionList": "Perhaps"}, 10),
    ({"OptOutAddToGlobalSuppressionList": "2"}, 10),
])
def test_update_invalid_settings(api, user, engine, params, code):
    list_id = create_list(api, user, "Stable")
    before = stored_state(engine)
    answer = api("List.Update", user.session, SubscriberListID=list_id, Name="Half-written", **params)
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    assert load_row(engine, SubscriberList, list_id).opt_in_mode == "Single" and stored_state(engine) == before


def test_update_cannot_link_to_a_foreign_list(api, user, other_user, engine):
    mine = create_list(api, user)
    theirs = create_list(api, other_user)
    before = stored_state(engine)
    answer = api("List.Update", user.session, SubscriberListID=mine, OptOutSubscribeTo=theirs)
    assert answer["ErrorCode"] == [6] and "does not belong" in answer["ErrorText"][0]
    assert load_row(engine, SubscriberList, mine).opt_out_subscribe_to_list_id is None
    assert stored_state(engine) == before


def test_update_with_nothing_to_change_is_11(api, user, engine):
    list_id = create_list(api, user)
    before = stored_state(engine)
    assert api("List.Update", user.session, SubscriberListID=list_id, Unrelated="x")["ErrorCode"] == [11]
    assert stored_state(engine) == before


# --- Lists.Get -----------------------------------------------------------------------------------
def test_lists_get_orders_by_name_as_the_wordpress_widget_asks(api, user, other_user, engine):
    ids = [create_list(api, user, name) for name in ("beta", "Alpha", "gamma")]
    create_list(api, other_user, "Aardvark")  # never shown to alice
    make_subscriber(engine, ids[0], "x@example.com")
    answer = api("Lists.Get", user.session, method="GET", OrderField="Name", OrderType="ASC")
    assert answer["Success"] is True and answer["ErrorCode"] == 0 and answer["TotalListCount"] == 3
    assert [row["Name"] for row in answer["Lists"]] == ["Alpha", "beta", "gamma"]
    assert [row["ListID"] for row in answer["Lists"]] == [str(ids[1]), str(ids[0]), str(ids[2])]
    assert answer["Lists"][1]["SubscriberCount"] == 1


def test_lists_get_pages_and_sorts_descending_by_id(api, user):
    ids = [create_list(api, user, f"L{i}") for i in range(5)]
    answer = api("Lists.Get", user.session, OrderField="ListID", OrderType="DESC", RecordsFrom=1,
                 RecordsPerRequest=2)
    assert answer["TotalListCount"] == 5
    assert [int(r["ListID"]) for r in answer["Lists"]] == [ids[3], ids[2]]


def test_lists_get_ignores_an_unknown_order_field_and_empty_values(api, user):
    ids = [create_list(api, user, name) for name in ("b", "a")]
    answer = api("Lists.Get", user.session, OrderField="Name; DROP TABLE", OrderType="", RecordsPerRequest="")
    assert [int(r["ListID"]) for r in answer["Lists"]] == ids


def test_lists_get_without_lists_is_an_empty_array(api, user):
    answer = api("Lists.Get", user.session)
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "TotalListCount": 0, "Lists": []}


def test_lists_get_by_search(api, user):
    create_list(api, user, "Customers")
    create_list(api, user, "Partners", Description="VIP customers")
    create_list(api, user, "Staff")
    answer = api("Lists.Get", user.session, Search="customer")
    assert sorted(r["Name"] for r in answer["Lists"]) == ["Customers", "Partners"]


# --- Lists.Delete --------------------------------------------------------------------------------
def test_delete_removes_lists_with_their_subscribers_fields_and_segments(api, user, engine):
    keep = create_list(api, user, "Keep")
    gone = [create_list(api, user, "A"), create_list(api, user, "B")]
    field = make_custom_field(engine, user, gone[0], "City")
    make_subscriber(engine, gone[0], "a@example.com", values={field: "Paris"})
    make_subscriber(engine, keep, "a@example.com")
    make_segment(engine, user, gone[1])
    answer = api("Lists.Delete", user.session, lists=f"{gone[0]}, {gone[1]}")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    with engine.uow() as uow:
        assert [r.id for r in uow.session.query(SubscriberList)] == [keep]
        assert uow.session.query(Subscriber).count() == 1
        assert uow.session.query(CustomField).count() == 0 and uow.session.query(Segment).count() == 0


@pytest.mark.parametrize("value", [None, "", "a,b", "0"])
def test_delete_without_valid_ids_is_keyed_lists_1(api, user, engine, value):
    list_id = create_list(api, user)
    params = {} if value is None else {"Lists": value.replace("a", str(list_id))}
    before = stored_state(engine)
    answer = api("Lists.Delete", user.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == {"lists": 1}
    assert stored_state(engine) == before


def test_delete_with_a_foreign_id_deletes_nothing(api, user, other_user, engine):
    mine = create_list(api, user)
    theirs = create_list(api, other_user)
    make_subscriber(engine, mine, "a@example.com")
    make_subscriber(engine, theirs, "b@example.com")
    before = stored_state(engine)
    answer = api("Lists.Delete", other_user.session, Lists=f"{theirs},{mine}")
    assert answer["ErrorCode"] == {"lists": 1}
    assert load_row(engine, SubscriberList, mine) is not None and load_row(engine, SubscriberList, theirs) is not None
    assert stored_state(engine) == before


def test_lists_delete_needs_the_list_delete_permission(api, engine):
    with engine.uow() as uow:
        group = uow.accounts.create_group("Readers", permissions="Lists.Get,List.Create")
        uow.commit()
        group_id = group.id
    reader = make_user(engine, api, "reader", group_id=group_id)
    list_id = create_list(api, reader)
    assert api("Lists.Get", reader.session)["TotalListCount"] == 1
    before = stored_state(engine)
    assert api("Lists.Delete", reader.session, Lists=list_id)["ErrorCode"] == 99999
    assert load_row(engine, SubscriberList, list_id) is not None and stored_state(engine) == before


def test_list_commands_require_credentials(api, engine, user):
    list_id = create_list(api, user)
    before = stored_state(engine)
    for command in ("List.Create", "List.Get", "List.Update", "Lists.Get", "Lists.Delete"):
        assert api(command, "stale-session", SubscriberListName="X", SubscriberListID=list_id, Name="X",
                   Lists=list_id)["ErrorCode"] == 99998
    assert stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, NEVER_EMITTED)
