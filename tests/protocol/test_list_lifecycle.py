"""List.Archive, List.Unarchive, List.Clone and List.Assets through HTTP — every code, stored state."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from engine.models import CustomField, Segment, Subscriber, SubscriberList, SubscriberTag, User
from protocol.commands import list_lifecycle as commands
from tests.builders import (
    CodeRecorder, assert_codes_reached, load_row, make_custom_field, make_email, make_list, make_reader, make_segment,
    make_subscriber, set_list,
)
from tests.helpers import stored_state

SEEN: dict = {}
# List.Clone runs in one transaction: a failure rolls the new list back with it and answers the failing
# step's own code (2 or 3), so "4: the new list has been rolled back" has nothing left to report.
# Subscribers.Delete.All: its statements run in the command's one transaction, so a failing one rolls the
# whole call back and answers the dispatcher's internal-error code; nothing is left half-deleted to report.
NEVER_EMITTED = {"List.Clone": {4}, "Subscribers.Delete.All": {5, 6, 7, 8}}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


def listed(api, user, **params) -> list[str]:
    return [row["Name"] for row in api("Lists.Get", user.session, **params)["Lists"]]


# --- List.Archive / List.Unarchive -----------------------------------------------------------------
def test_archive_hides_the_list_from_lists_get_until_unarchived(api, user, engine, clock):
    kept, archived = make_list(engine, user, "Kept"), make_list(engine, user, "Old")
    answer = api("List.Archive", user.session, SubscriberListID=archived)
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    assert load_row(engine, SubscriberList, archived).archived_at == clock.now
    assert load_row(engine, SubscriberList, kept).archived_at is None
    assert listed(api, user) == ["Kept"]
    assert api("Lists.Get", user.session)["TotalListCount"] == 1
    assert listed(api, user, Archived="true") == ["Old"]
    assert listed(api, user, Archived="all") == ["Kept", "Old"]
    rows = api("Lists.Get", user.session, Archived="all")["Lists"]
    assert [r["ArchivedAt"] is None for r in rows] == [True, False]
    # Still the caller's list: it can be read and unarchived by id.
    assert api("List.Get", user.session, ListID=archived)["Success"] is True
    assert api("List.Unarchive", user.session, SubscriberListID=archived) == {
        "Success": True, "ErrorCode": 0, "ErrorText": ""}
    assert load_row(engine, SubscriberList, archived).archived_at is None
    assert listed(api, user) == ["Kept", "Old"]


def test_the_console_lists_page_still_shows_an_archived_list(api, user, engine, client):
    from tests.console_support import Console

    archived = make_list(engine, user, "Put away")
    api("List.Archive", user.session, SubscriberListID=archived)
    console = Console(client)
    console.login(user.username, user.password)
    assert "Put away" in console.text("/console/lists")


def test_re_archiving_keeps_the_first_archived_at(api, user, engine, clock):
    list_id = make_list(engine, user)
    assert api("List.Archive", user.session, SubscriberListID=list_id)["Success"] is True
    first = clock.now
    clock.advance(days=3)
    assert api("List.Archive", user.session, SubscriberListID=list_id)["Success"] is True
    assert load_row(engine, SubscriberList, list_id).archived_at == first


def test_archived_lists_leave_the_overview_and_the_active_subscriber_figure(api, user, engine):
    kept, archived = make_list(engine, user, "Kept"), make_list(engine, user, "Old")
    make_subscriber(engine, kept, "a@example.com")
    make_subscriber(engine, archived, "b@example.com")
    make_subscriber(engine, archived, "c@example.com")
    with engine.uow() as uow:
        assert uow.usage.active_subscribers([user.id]) == {user.id: 3}
    api("List.Archive", user.session, SubscriberListID=archived)
    with engine.uow() as uow:
        assert uow.usage.active_subscribers([user.id]) == {user.id: 1}
    names = lambda **p: [r["Name"] for r in api("Lists.Overview", user.session, **p)["Lists"]]  # noqa: E731
    assert names() == ["Kept"] and names(Archived="archived") == ["Old"] and names(Archived="all") == ["Kept", "Old"]


@pytest.mark.parametrize("command", ["List.Archive", "List.Unarchive"])
@pytest.mark.parametrize("value,code", [(None, 1), ("", 1), ("abc", 2), ("0", 2)])
def test_archive_missing_or_malformed_id(api, user, engine, command, value, code):
    make_list(engine, user)
    params = {} if value is None else {"SubscriberListID": value}
    before = stored_state(engine)
    answer = api(command, user.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == [code] and len(answer["ErrorText"]) == 1
    assert stored_state(engine) == before


@pytest.mark.parametrize("command", ["List.Archive", "List.Unarchive"])
def test_archive_of_a_stranger_s_or_unknown_list_is_2(api, user, other_user, engine, command):
    theirs = make_list(engine, other_user, "Theirs")
    if command == "List.Unarchive":
        set_list(engine, theirs, archived_at=engine.clock())
    before = stored_state(engine)
    for list_id in (theirs, theirs + 100):
        answer = api(command, user.session, SubscriberListID=list_id)
        assert answer["ErrorCode"] == [2] and answer["ErrorText"][0].startswith("Invalid subscriber list id")
    assert stored_state(engine) == before


def test_archive_needs_the_list_update_permission(api, engine):
    reader = make_reader(engine, api)
    list_id = make_list(engine, reader)
    before = stored_state(engine)
    assert api("List.Archive", reader.session, SubscriberListID=list_id)["ErrorCode"] == 99999
    assert stored_state(engine) == before


# --- List.Clone ------------------------------------------------------------------------------------
def test_clone_copies_settings_and_custom_fields_but_no_subscribers(api, user, engine):
    other = make_list(engine, user, "Other")
    source = make_list(engine, user, "Source")
    email_id = make_email(engine, user)
    set_list(engine, source, opt_in_mode="Double", sender_name="Garden Co", description="Weekly",
             opt_out_scope="All lists", hide_in_subscriber_area=True, opt_in_subscribe_to_list_id=other,
             opt_in_confirmation_email_id=email_id, options='{"Header": "Hi"}',
             subscription_confirmed_page_url="https://garden.example/ok")
    name = make_custom_field(engine, user, source, "Nickname", is_required=True, merge_tag_alias="nick",
                             default_value="friend")
    make_custom_field(engine, user, source, "Colour", field_type="Drop down",
                      options=[{"label": "Red", "value": "r", "selected": True}])
    make_custom_field(engine, user, source, "Global", is_global=True)  # the owner's global field applies already: not copied
    make_subscriber(engine, source, "a@example.com", {name: "Al"})
    make_segment(engine, user, source)
    set_list(engine, source, archived_at=engine.clock())

    answer = api("List.Clone", user.session, SubscriberListID=source, Name="  Copy ")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "ListID": answer["ListID"],
                      "CustomFieldsCloned": 2}
    copy, original = load_row(engine, SubscriberList, answer["ListID"]), load_row(engine, SubscriberList, source)
    assert (copy.name, copy.owner_user_id, copy.archived_at, copy.opt_in_confirmation_email_id) == (
        "Copy", user.id, None, None)
    for key in ("opt_in_mode", "sender_name", "description", "opt_out_scope", "hide_in_subscriber_area",
                "opt_in_subscribe_to_list_id", "options", "subscription_confirmed_page_url"):
        assert getattr(copy, key) == getattr(original, key), key
    with engine.uow() as uow:
        fields = {f.name: f for f in uow.session.scalars(select(CustomField).where(CustomField.list_id == copy.id))}
        assert set(fields) == {"Nickname", "Colour"}
        # An alias names one field of the account: the copy goes without it (README).
        assert (fields["Nickname"].is_required, fields["Nickname"].merge_tag_alias,
                fields["Nickname"].default_value) == (True, "", "friend")
        assert "Red" in fields["Colour"].options and fields["Colour"].field_type == "Drop down"
        assert uow.session.scalar(select(Subscriber).where(Subscriber.list_id == copy.id)) is None
        assert uow.session.scalar(select(Segment).where(Segment.list_id == copy.id)) is None
        # The source is untouched.
        assert uow.session.scalar(select(CustomField.id).where(CustomField.list_id == source, CustomField.name == "Nickname"))
    assert api("List.Get", user.session, ListID=copy.id)["List"]["TotalSubscriberCount"] == 0


def test_clone_without_custom_fields(api, user, engine):
    source = make_list(engine, user, "Source")
    make_custom_field(engine, user, source, "Nickname")
    answer = api("List.Clone", user.session, SubscriberListID=source, Name="Copy", IncludeCustomFields="false")
    assert answer["CustomFieldsCloned"] == 0
    with engine.uow() as uow:
        assert uow.session.scalar(select(CustomField).where(CustomField.list_id == answer["ListID"])) is None


def test_clone_on_api_v1(client, user, engine):
    source = make_list(engine, user, "Source")
    response = client.post("/api/v1/list.clone", json={"SessionID": user.session, "SubscriberListID": source,
                                                        "Name": "Copy"})
    assert response.status_code == 200 and load_row(engine, SubscriberList, response.get_json()["ListID"]).name == "Copy"
    response = client.post("/api/v1/list.clone", json={"SessionID": user.session, "SubscriberListID": source})
    assert response.status_code == 422 and response.get_json()["Errors"][0]["Code"] == 2


@pytest.mark.parametrize("params,code", [
    ({"SubscriberListID": None}, 1), ({"SubscriberListID": ""}, 1), ({"SubscriberListID": "x"}, 2), ({"Name": None}, 2), ({"Name": "  "}, 2),
])
def test_clone_missing_parameters(api, user, engine, params, code):
    source = make_list(engine, user)
    full = {"SubscriberListID": source, "Name": "Copy", **params}
    before = stored_state(engine)
    answer = api("List.Clone", user.session, **{k: v for k, v in full.items() if v is not None})
    assert answer["ErrorCode"] == [code]
    assert stored_state(engine) == before


def test_clone_of_a_stranger_s_list_is_2(api, user, other_user, engine):
    theirs = make_list(engine, other_user, "Theirs")
    make_custom_field(engine, other_user, theirs, "Secret")
    before = stored_state(engine)
    assert api("List.Clone", user.session, SubscriberListID=theirs, Name="Mine")["ErrorCode"] == [2]
    assert api("List.Clone", user.session, SubscriberListID=theirs + 50, Name="Mine")["ErrorCode"] == [2]
    assert stored_state(engine) == before


def test_clone_beyond_the_list_limit_is_3(api, user, engine):
    source = make_list(engine, user)
    make_custom_field(engine, user, source, "Nickname")
    with engine.uow() as uow:
        uow.session.get(User, user.id).group.limit_lists = 1
        uow.commit()
    before = stored_state(engine)
    answer = api("List.Clone", user.session, SubscriberListID=source, Name="Copy")
    assert answer["ErrorCode"] == [3]
    assert stored_state(engine) == before


# --- List.Assets -----------------------------------------------------------------------------------
def test_assets_bring_segments_fields_tags_and_autoresponders(api, user, other_user, engine):
    list_id = make_list(engine, user, "Shop")
    elsewhere = make_list(engine, user, "Elsewhere")
    field_id = make_custom_field(engine, user, list_id, "Nickname")
    global_id = make_custom_field(engine, user, list_id, "Country", is_global=True)
    make_custom_field(engine, user, elsewhere, "Not here")
    segment_id = make_segment(engine, user, list_id, "Buyers")
    make_segment(engine, user, elsewhere, "Not here")
    tag = api("Subscriber.Tags.Create", user.session, ListID=list_id, TagName="VIP")
    assert tag["Success"] is True, tag
    email_id = make_email(engine, user)
    responder = api("AutoResponder.Create", user.session, SubscriberListID=list_id, AutoResponderName="Welcome",
                    AutoResponderTriggerType="OnSubscription", EmailID=email_id, TriggerTimeType="Immediately")
    assert responder["Success"] is True, responder
    before = stored_state(engine)
    answer = api("List.Assets", user.session, ListID=list_id)
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    assert answer["List"]["ListID"] == str(list_id) and answer["List"]["Name"] == "Shop"
    assert [s["SegmentID"] for s in answer["Segments"]["Segments"]] == [str(segment_id)]
    assert sorted(int(f["CustomFieldID"]) for f in answer["CustomFields"]["CustomFields"]) == sorted([field_id, global_id])
    assert [t["TagName"] for t in answer["SubscriberTags"]["Tags"]] == ["vip"]  # tag names are stored lower-case
    assert [r["AutoResponderName"] for r in answer["AutoResponders"]["AutoResponders"]] == ["Welcome"]
    assert all(answer[k]["Success"] is True for k in ("Segments", "CustomFields", "SubscriberTags", "AutoResponders"))
    assert stored_state(engine) == before


@pytest.mark.parametrize("value", [None, "", "abc"])
def test_assets_without_a_list_id_is_1(api, user, value):
    params = {} if value is None else {"ListID": value}
    assert api("List.Assets", user.session, **params)["ErrorCode"] == [1]


def test_assets_of_a_stranger_s_list_is_1(api, user, other_user, engine):
    theirs = make_list(engine, other_user)
    make_custom_field(engine, other_user, theirs, "Secret")
    answer = api("List.Assets", user.session, ListID=theirs)
    assert answer["Success"] is False and answer["ErrorCode"] == [1] and "CustomFields" not in answer


# --- Subscribers.Delete.All ------------------------------------------------------------------------
def _tagged_list(api, engine, user, name="Shop"):
    list_id = make_list(engine, user, name)
    field_id = make_custom_field(engine, user, list_id, "Nickname")
    ids = [make_subscriber(engine, list_id, f"s{i}@example.com", {field_id: f"n{i}"}) for i in range(5)]
    tag_id = api("Subscriber.Tags.Create", user.session, ListID=list_id, TagName="vip")["TagID"]
    assert api("Subscriber.Tag", user.session, SubscriberListID=list_id, TagID=tag_id,
               SubscriberID=",".join(map(str, ids[:3])))["Success"] is True
    return list_id, field_id, tag_id


def test_delete_all_empties_the_list_and_only_it(api, user, other_user, engine):
    from engine.models import SubscriberFieldValue, SubscriberTagAssignment

    list_id, field_id, tag_id = _tagged_list(api, engine, user)
    kept_list, _, kept_tag = _tagged_list(api, engine, user, "Kept")
    theirs, _, _ = _tagged_list(api, engine, other_user, "Theirs")
    answer = api("Subscribers.Delete.All", user.session, ListID=list_id)
    assert answer == {"Success": True, "ErrorCode": 0, "TotalDeleted": 5}
    with engine.uow() as uow:
        s = uow.session
        by_list = lambda lid: s.scalars(select(Subscriber.id).where(Subscriber.list_id == lid)).all()  # noqa: E731
        assert by_list(list_id) == [] and len(by_list(kept_list)) == 5 and len(by_list(theirs)) == 5
        assert s.scalar(select(SubscriberFieldValue).where(SubscriberFieldValue.field_id == field_id)) is None
        assert s.scalar(select(SubscriberTagAssignment).where(SubscriberTagAssignment.tag_id == tag_id)) is None
        assert len(s.scalars(select(SubscriberTagAssignment).where(SubscriberTagAssignment.tag_id == kept_tag)).all()) == 3
        # The list, its custom field and (without DeleteListTags) its tag stay.
        assert s.get(SubscriberList, list_id) and s.get(CustomField, field_id) and s.get(SubscriberTag, tag_id)
    assert api("Subscribers.Delete.All", user.session, ListID=list_id)["TotalDeleted"] == 0


def test_delete_all_with_delete_list_tags_removes_the_tags(api, user, engine):
    list_id, _, tag_id = _tagged_list(api, engine, user)
    assert api("Subscribers.Delete.All", user.session, ListID=list_id, DeleteListTags="true")["Success"] is True
    assert load_row(engine, SubscriberTag, tag_id) is None


def test_delete_all_skips_pending_autoresponder_mails(api, user, engine):
    from engine.models import AutoResponderSend

    list_id = make_list(engine, user, "Shop")
    email_id = make_email(engine, user)
    assert api("AutoResponder.Create", user.session, SubscriberListID=list_id, AutoResponderName="Later",
               AutoResponderTriggerType="OnSubscription", EmailID=email_id, TriggerTimeType="days_later",
               TriggerTime=3)["Success"] is True
    assert api("Subscriber.Subscribe", user.session, ListID=list_id, EmailAddress="a@example.com",
               IPAddress="192.0.2.1")["Success"] is True
    with engine.uow() as uow:
        assert [r.state for r in uow.session.scalars(select(AutoResponderSend))] == ["pending"]
    api("Subscribers.Delete.All", user.session, ListID=list_id)
    with engine.uow() as uow:
        assert [r.state for r in uow.session.scalars(select(AutoResponderSend))] == ["skipped"]


@pytest.mark.parametrize("value,code", [(None, 1), ("abc", 3), ("0", 3)])
def test_delete_all_missing_or_malformed_list_id(api, user, engine, value, code):
    _tagged_list(api, engine, user)
    before = stored_state(engine)
    params = {} if value is None else {"ListID": value}
    assert api("Subscribers.Delete.All", user.session, **params)["ErrorCode"] == code
    assert stored_state(engine) == before


def test_delete_all_of_a_stranger_s_list_is_4(api, user, other_user, engine):
    theirs, _, _ = _tagged_list(api, engine, other_user)
    before = stored_state(engine)
    assert api("Subscribers.Delete.All", user.session, ListID=theirs)["ErrorCode"] == 4
    assert api("Subscribers.Delete.All", user.session, ListID=theirs + 99)["ErrorCode"] == 4
    assert stored_state(engine) == before


def test_delete_all_needs_the_subscribers_delete_permission(api, engine):
    reader = make_reader(engine, api)
    list_id = make_list(engine, reader)
    make_subscriber(engine, list_id, "a@example.com")
    before = stored_state(engine)
    assert api("Subscribers.Delete.All", reader.session, ListID=list_id)["ErrorCode"] == 99999
    assert stored_state(engine) == before


def test_list_lifecycle_commands_require_credentials(api, user, engine):
    list_id = make_list(engine, user)
    before = stored_state(engine)
    for command in ("List.Archive", "List.Unarchive", "List.Clone", "List.Assets", "Subscribers.Delete.All"):
        assert api(command, "stale-session", SubscriberListID=list_id, ListID=list_id, Name="X")["ErrorCode"] == 99998
    assert stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, NEVER_EMITTED)
