"""Subscriber tags through HTTP: Subscriber.Tags.Create/Update/Get/Delete, Subscriber.Tag/Untag,
Subscriber.Get's SubscriberTags — every documented code, and the stored state after each call."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.models import Subscriber, SubscriberList, SubscriberTag, SubscriberTagAssignment, UserGroup
from protocol.commands import subscriber_tags as tag_commands
from protocol.registry import COMMANDS
from tests.builders import make_custom_field, make_list, make_subscriber
from tests.helpers import make_user

# Documented, but nothing Sendmill does can produce it: criteria the parser accepts always compile.
NEVER_EMITTED = {"Subscriber.Tag": {8}, "Subscriber.Untag": {8}}


# --- builders and stored state ---------------------------------------------------------------------
def stored_tags(engine) -> list[tuple]:
    with engine.uow() as uow:
        return [(t.id, t.list_id, t.owner_user_id, t.name, t.description) for t in
                uow.session.scalars(select(SubscriberTag).order_by(SubscriberTag.id))]


def assignments(engine) -> set[tuple[int, int]]:
    with engine.uow() as uow:
        return set(uow.session.execute(select(SubscriberTagAssignment.subscriber_id, SubscriberTagAssignment.tag_id)))


def state(engine) -> tuple:
    return stored_tags(engine), assignments(engine)


def create_tag(api, user, list_id, name="VIP", **extra) -> int:
    answer = api("Subscriber.Tags.Create", user.session, ListID=list_id, TagName=name, **extra)
    assert answer["Success"] is True, answer
    return answer["TagID"]


@pytest.fixture
def shop(engine, user):
    list_id = make_list(engine, user, "Shop")
    ids = [make_subscriber(engine, list_id, address) for address in
           ("ann@gmail.com", "bob@example.com", "carl@gmail.com")]
    return SimpleNamespace(list_id=list_id, ann=ids[0], bob=ids[1], carl=ids[2])


# --- Subscriber.Tags.Create ------------------------------------------------------------------------
def test_create_trims_lowercases_and_stores_the_tag(api, user, engine, shop):
    answer = api("Subscriber.Tags.Create", user.session, ListID=shop.list_id, TagName="  VIP Customer ",
                 TagDescription="High-value customers")
    assert answer == {"Success": True, "ErrorCode": 0, "TagID": answer["TagID"]} and isinstance(answer["TagID"], int)
    assert stored_tags(engine) == [(answer["TagID"], shop.list_id, user.id, "vip customer", "High-value customers")]


def test_create_accepts_the_v56_parameter_names(api, user, engine, shop):
    answer = api("Subscriber.Tags.Create", user.session, SubscriberListID=shop.list_id, Tag="Früh_50%-off")
    assert answer["Success"] is True and stored_tags(engine)[0][3] == "früh_50%-off"


def test_names_are_unique_per_list_whatever_their_case(api, user, engine, shop):
    first = create_tag(api, user, shop.list_id, "Café")
    answer = api("Subscriber.Tags.Create", user.session, ListID=shop.list_id, TagName="CAFÉ")
    assert answer["ErrorCode"] == 5 and "already has a tag named 'café'" in answer["ErrorText"]
    # Another spelling is another tag on every database (MariaDB's collation would call it the same).
    second = create_tag(api, user, shop.list_id, "Cafe")
    elsewhere = create_tag(api, user, make_list(engine, user, "Other"), "café")
    assert [t[0] for t in stored_tags(engine)] == [first, second, elsewhere]


# --- Subscriber.Tags.Update ------------------------------------------------------------------------
def test_update_renames_and_describes_only_what_is_given(api, user, engine, shop):
    tag_id = create_tag(api, user, shop.list_id, "vip", TagDescription="old")
    assert api("Subscriber.Tags.Update", user.session, ListID=shop.list_id, TagID=tag_id,
               TagDescription="new")["Success"] is True
    assert stored_tags(engine)[0][3:] == ("vip", "new")
    answer = api("Subscriber.Tags.Update", user.session, ListID=shop.list_id, TagID=tag_id, TagName=" Premium ")
    assert answer == {"Success": True, "ErrorCode": 0}
    assert stored_tags(engine)[0][3:] == ("premium", "new")
    # Renaming to its own name (other case) is not a clash with itself.
    assert api("Subscriber.Tags.Update", user.session, ListID=shop.list_id, TagID=tag_id, TagName="PREMIUM")["Success"]


def test_update_refuses_a_name_another_tag_has(api, user, engine, shop):
    create_tag(api, user, shop.list_id, "vip")
    other = create_tag(api, user, shop.list_id, "new")
    before = state(engine)
    assert api("Subscriber.Tags.Update", user.session, ListID=shop.list_id, TagID=other,
               TagName="VIP")["ErrorCode"] == 5
    assert state(engine) == before


# --- Subscriber.Tags.Get ---------------------------------------------------------------------------
def test_get_lists_the_lists_tags_by_name_with_counts(api, user, engine, shop):
    vip = create_tag(api, user, shop.list_id, "vip", TagDescription="High-value")
    alpha = create_tag(api, user, shop.list_id, "alpha")
    create_tag(api, user, make_list(engine, user, "Other"), "elsewhere")
    api("Subscriber.Tag", user.session, SubscriberListID=shop.list_id, TagID=vip, SubscriberID=f"{shop.ann},{shop.bob}")
    answer = api("Subscriber.Tags.Get", user.session, ListID=shop.list_id)
    assert answer == {"Success": True, "ErrorCode": 0, "TagCount": 2, "Tags": [
        {"TagID": alpha, "TagName": "alpha", "TagDescription": "", "SubscriberCount": 0},
        {"TagID": vip, "TagName": "vip", "TagDescription": "High-value", "SubscriberCount": 2}]}


# --- Subscriber.Tags.Delete ------------------------------------------------------------------------
def test_delete_removes_the_tags_and_their_assignments(api, user, engine, shop):
    vip, keep = create_tag(api, user, shop.list_id, "vip"), create_tag(api, user, shop.list_id, "keep")
    api("Subscriber.Tag", user.session, SubscriberListID=shop.list_id, TagID=f"{vip},{keep}", SubscriberID=shop.ann)
    answer = api("Subscriber.Tags.Delete", user.session, SubscriberListID=shop.list_id, TagIDs=str(vip))
    assert answer == {"Success": True, "ErrorCode": 0}
    assert [t[0] for t in stored_tags(engine)] == [keep] and assignments(engine) == {(shop.ann, keep)}


def test_delete_is_all_or_nothing(api, user, other_user, engine, shop):
    vip = create_tag(api, user, shop.list_id, "vip")
    elsewhere = create_tag(api, user, make_list(engine, user, "Other"), "vip")
    before = state(engine)
    answer = api("Subscriber.Tags.Delete", user.session, SubscriberListID=shop.list_id, TagIDs=f"{vip},{elsewhere}")
    assert answer["ErrorCode"] == 6 and f"tag {elsewhere} is not a tag of list" in answer["ErrorText"]
    assert state(engine) == before


# --- Subscriber.Tag / Subscriber.Untag --------------------------------------------------------------
def test_tag_by_ids_is_idempotent_and_untag_takes_it_off(api, user, engine, shop):
    vip, news = create_tag(api, user, shop.list_id, "vip"), create_tag(api, user, shop.list_id, "news")
    answer = api("Subscriber.Tag", user.session, ListID=shop.list_id, TagID=[vip, news], SubscriberID=shop.ann)
    assert answer == {"Success": True, "ErrorCode": 0}
    assert api("Subscriber.Tag", user.session, SubscriberListID=shop.list_id, TagID=vip,
               SubscriberID=f"{shop.ann},{shop.bob}")["Success"]
    assert assignments(engine) == {(shop.ann, vip), (shop.ann, news), (shop.bob, vip)}
    assert api("Subscriber.Untag", user.session, SubscriberListID=shop.list_id, TagID=vip,
               SubscriberID=f"{shop.ann},{shop.carl}")["Success"]
    assert assignments(engine) == {(shop.ann, news), (shop.bob, vip)}


def test_tag_and_untag_by_criteria(api, user, engine, shop):
    vip = create_tag(api, user, shop.list_id, "vip")
    gmail = json.dumps([[{"type": "fields", "field_id": "EmailAddress", "operator": "ends with", "value": "@gmail.com"}]])
    assert api("Subscriber.Tag", user.session, SubscriberListID=shop.list_id, TagID=vip, RulesJSON=gmail,
               RulesOperator="or")["Success"]
    assert assignments(engine) == {(shop.ann, vip), (shop.carl, vip)}
    # With SubscriberID too: only the listed subscribers that also match.
    assert api("Subscriber.Untag", user.session, SubscriberListID=shop.list_id, TagID=vip, RulesJSON=gmail,
               RulesOperator="OR", SubscriberID=f"{shop.carl},{shop.bob}")["Success"]
    assert assignments(engine) == {(shop.ann, vip)}
    # Criteria can test tags: tag everyone who does not carry vip yet with "rest".
    rest = create_tag(api, user, shop.list_id, "rest")
    untagged = json.dumps([[{"type": "tags", "operator": "does not have this tag", "value": str(vip)}]])
    assert api("Subscriber.Tag", user.session, SubscriberListID=shop.list_id, TagID=rest, RulesJSON=untagged,
               RulesOperator="and")["Success"]
    assert assignments(engine) == {(shop.ann, vip), (shop.bob, rest), (shop.carl, rest)}


def test_segments_select_by_tag_and_refuse_a_tag_of_another_list(api, user, engine, shop):
    vip, news = create_tag(api, user, shop.list_id, "vip"), create_tag(api, user, shop.list_id, "news")
    api("Subscriber.Tag", user.session, SubscriberListID=shop.list_id, TagID=vip, SubscriberID=f"{shop.ann},{shop.bob}")
    api("Subscriber.Tag", user.session, SubscriberListID=shop.list_id, TagID=news, SubscriberID=shop.bob)
    counts = {}
    for name, rule in (("vip", {"operator": "has this tag", "value": str(vip)}),
                       ("both", {"operator": "has all of these tags", "value": f"{vip},{news}"}),
                       ("either", {"operator": "has any of these tags", "value": [vip, news]}),
                       ("not vip", {"operator": "does not have this tag", "value": vip}),
                       ("none", {"operator": "has no tags"})):
        answer = api("Segment.Create", user.session, SubscriberListID=shop.list_id, SegmentName=name,
                     SegmentOperator="and", RulesJson=json.dumps([[{"type": "tags", **rule}]]))
        assert answer["Success"] is True, answer
    for row in api("Segments.Get", user.session, SubscriberListID=shop.list_id)["Segments"]:
        counts[row["SegmentName"]] = row["SubscriberCount"]
    assert counts == {"vip": "2", "both": "1", "either": "2", "not vip": "1", "none": "1"}
    elsewhere = create_tag(api, user, make_list(engine, user, "Other"), "vip")
    answer = api("Segment.Create", user.session, SubscriberListID=shop.list_id, SegmentName="x", SegmentOperator="or",
                 RulesJson=json.dumps([[{"type": "tags", "operator": "has this tag", "value": str(elsewhere)}]]))
    assert answer["ErrorCode"] == [7] and f"tag {elsewhere} does not exist for list {shop.list_id}" in \
        answer["ErrorText"][0]
    # Deleting a tag a stored segment names makes that segment select nobody (it fails closed).
    api("Subscriber.Tags.Delete", user.session, SubscriberListID=shop.list_id, TagIDs=str(news))
    counts = {r["SegmentName"]: r["SubscriberCount"] for r in
              api("Segments.Get", user.session, SubscriberListID=shop.list_id)["Segments"]}
    assert (counts["vip"], counts["both"], counts["either"]) == ("2", "0", "0")


def test_subscriber_get_shows_the_subscribers_tags(api, user, engine, shop):
    vip, news = create_tag(api, user, shop.list_id, "vip"), create_tag(api, user, shop.list_id, "news")
    api("Subscriber.Tag", user.session, SubscriberListID=shop.list_id, TagID=f"{vip},{news}", SubscriberID=shop.ann)
    answer = api("Subscriber.Get", user.session, ListID=shop.list_id, SubscriberID=shop.ann)
    assert answer["SubscriberTags"] == [{"TagID": news, "TagName": "news"}, {"TagID": vip, "TagName": "vip"}]
    assert api("Subscriber.Get", user.session, ListID=shop.list_id, SubscriberID=shop.bob)["SubscriberTags"] == []


def test_deleting_subscribers_or_the_list_takes_their_tags_along(api, user, engine, shop):
    vip = create_tag(api, user, shop.list_id, "vip")
    api("Subscriber.Tag", user.session, SubscriberListID=shop.list_id, TagID=vip, SubscriberID=f"{shop.ann},{shop.bob}")
    assert api("Subscribers.Delete", user.session, SubscriberListID=shop.list_id, Subscribers=shop.ann)["Success"]
    assert assignments(engine) == {(shop.bob, vip)}
    assert api("Lists.Delete", user.session, Lists=shop.list_id)["Success"]
    assert state(engine) == ([], set())
    with engine.uow() as uow:
        assert uow.session.scalar(select(SubscriberList.id)) is None and uow.session.scalar(select(Subscriber.id)) is None


# --- tags by import column ----------------------------------------------------------------------------
def tag_names(engine, list_id: int) -> dict[str, set[str]]:
    """Address → the names of its tags, on one list."""
    from engine.models import SubscriberTag as T

    with engine.uow() as uow:
        found = {address: set() for address in uow.session.scalars(
            select(Subscriber.email_normalized).where(Subscriber.list_id == list_id))}
        for address, name in uow.session.execute(
                select(Subscriber.email_normalized, T.name).join(SubscriberTagAssignment,
                                                                  SubscriberTagAssignment.subscriber_id == Subscriber.id)
                .join(T, T.id == SubscriberTagAssignment.tag_id).where(Subscriber.list_id == list_id)):
            found[address].add(name)
        return found


def test_an_import_column_named_tags_tags_the_rows_and_creates_missing_tags(api, user, engine, shop):
    vip = create_tag(api, user, shop.list_id, "vip")
    data = "EmailAddress,Tags\nann@gmail.com,VIP | Früh\nnew@example.com,\" vip, news ,\"\nbad@example.com,no/slash\n"
    answer = api("Subscribers.Import", user.session, ListID=shop.list_id, ImportData=data)
    assert (answer["TotalImported"], answer["TotalDuplicates"], answer["TotalFailed"]) == (1, 1, 1)
    assert answer["FailedData"][0]["EmailAddress"] == "bad@example.com" and "tags:" in answer["FailedData"][0]["Reason"]
    tags = tag_names(engine, shop.list_id)
    # ann is already on the list and updating was not asked for: she is left as she was.
    assert tags["ann@gmail.com"] == set() and tags["new@example.com"] == {"vip", "news"}
    assert [(t[3]) for t in stored_tags(engine)] == ["vip", "news"] and stored_tags(engine)[0][0] == vip
    answer = api("Subscribers.Import", user.session, ListID=shop.list_id, ImportData=data, UpdateExisting="1",
                 MappedFields='{"EmailAddress": "EmailAddress", "Tags": "Tags"}')
    assert answer["TotalUpdated"] == 2
    tags = tag_names(engine, shop.list_id)
    assert tags["ann@gmail.com"] == {"vip", "früh"} and tags["new@example.com"] == {"vip", "news"}  # only added


def test_a_custom_field_named_tags_keeps_its_column(api, user, engine, shop):
    field_id = make_custom_field(engine, user, shop.list_id, "Tags")
    answer = api("Subscribers.Import", user.session, ListID=shop.list_id, ImportData="EmailAddress,Tags\nz@x.org,a|b\n")
    assert answer["TotalImported"] == 1 and stored_tags(engine) == []
    with engine.uow() as uow:
        from engine.models import SubscriberFieldValue
        assert uow.session.scalar(select(SubscriberFieldValue.value_text).where(
            SubscriberFieldValue.field_id == field_id)) == "a|b"


# --- every documented code, through HTTP ----------------------------------------------------------------
def _list(t, owner=None):
    return make_list(t.engine, owner or t.user, "L")


def _tag(t, owner=None, list_id=None):
    owner = owner or t.user
    return create_tag(t.api, owner, list_id or _list(t, owner), "t")


def _tagged(t):
    """(list, tag, subscriber) with the subscriber carrying the tag."""
    list_id = _list(t)
    tag_id = _tag(t, list_id=list_id)
    sid = make_subscriber(t.engine, list_id, "x@example.com")
    t.api("Subscriber.Tag", t.user.session, SubscriberListID=list_id, TagID=tag_id, SubscriberID=sid)
    return list_id, tag_id, sid


def _with_tag(t, **extra):
    list_id, tag_id, sid = _tagged(t)
    return {"SubscriberListID": list_id, "TagID": tag_id, **{k: v(list_id, tag_id, sid) for k, v in extra.items()}}


def _rename_onto_another(t):
    list_id = _list(t)
    _tag(t, list_id=list_id)  # named "t"
    return dict(ListID=list_id, TagID=create_tag(t.api, t.user, list_id, "a"), TagName=" T")


RULE = json.dumps([[{"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "x"}]])
CREATE, UPDATE, GET, DELETE = "Subscriber.Tags.Create", "Subscriber.Tags.Update", "Subscriber.Tags.Get", \
    "Subscriber.Tags.Delete"
TAGGING_CASES = [
    (1, lambda t: dict(SubscriberListID=_list(t), SubscriberID=1)),
    (2, lambda t: dict(TagID=1, SubscriberID=1)),
    (4, lambda t: dict(SubscriberListID="abc", TagID=1, SubscriberID=1)),
    (4, lambda t: dict(SubscriberListID=999999, TagID=1, SubscriberID=1)),
    (4, lambda t: dict(SubscriberListID=_list(t, t.other), TagID=1, SubscriberID=1)),
    (5, lambda t: _with_tag(t, SubscriberID=lambda lst, tag, sid: "1,x")),
    (5, lambda t: _with_tag(t, SubscriberID=lambda lst, tag, sid: f"{sid},{make_subscriber(t.engine, _list(t), 'y@x.org')}")),
    (6, lambda t: _with_tag(t)),
    (6, lambda t: _with_tag(t, TagID=lambda lst, tag, sid: "x")),
    (6, lambda t: _with_tag(t, TagID=lambda lst, tag, sid: f"{tag},{_tag(t)}", SubscriberID=lambda lst, tag, sid: sid)),
    (7, lambda t: _with_tag(t, RulesJSON=lambda lst, tag, sid: RULE)),
    (7, lambda t: _with_tag(t, RulesJSON=lambda lst, tag, sid: RULE, RulesOperator=lambda lst, tag, sid: "xor")),
    (7, lambda t: _with_tag(t, RulesJSON=lambda lst, tag, sid: "[[{}]]", RulesOperator=lambda lst, tag, sid: "or")),
    (7, lambda t: _with_tag(t, RulesJSON=lambda lst, tag, sid: '[[{"type":"tags","operator":"has this tag",'
                                                                '"value":"999999"}]]',
                            RulesOperator=lambda lst, tag, sid: "or")),
]
ERROR_CASES = [
    (CREATE, 1, lambda t: dict(TagName="x")),
    (CREATE, 2, lambda t: dict(ListID=_list(t))),
    (CREATE, 2, lambda t: dict(ListID=_list(t), TagName="   ")),
    (CREATE, 3, lambda t: dict(ListID=_list(t), TagName="no/slash")),
    (CREATE, 3, lambda t: dict(ListID=_list(t), TagName="x" * 251)),
    (CREATE, 4, lambda t: dict(ListID="abc", TagName="x")),
    (CREATE, 4, lambda t: dict(ListID=_list(t, t.other), TagName="x")),
    (CREATE, 5, lambda t: dict(ListID=_tagged(t)[0], TagName="T")),
    (CREATE, 6, lambda t: dict(ListID=_list(t), TagName="x", TagDescription="d" * 1001)),
    (UPDATE, 1, lambda t: dict(TagID=_tag(t), TagName="x")),
    (UPDATE, 2, lambda t: dict(ListID=_list(t), TagName="x")),
    (UPDATE, 3, lambda t: dict(ListID=(lst := _list(t)), TagID=_tag(t, list_id=lst), TagName="a,b")),
    (UPDATE, 4, lambda t: dict(ListID=(lst := _list(t)), TagID=_tag(t, list_id=lst), TagName="   ")),
    (UPDATE, 4, lambda t: dict(ListID=_list(t), TagID=_tag(t), TagName="x")),  # the tag of another list
    (UPDATE, 4, lambda t: dict(ListID=(lst := _list(t, t.other)), TagID=_tag(t, t.other, lst), TagName="x")),
    (UPDATE, 4, lambda t: dict(ListID=_list(t), TagID="abc")),
    (UPDATE, 5, lambda t: _rename_onto_another(t)),
    (UPDATE, 6, lambda t: dict(ListID=(lst := _list(t)), TagID=_tag(t, list_id=lst), TagDescription="d" * 1001)),
    (GET, 1, lambda t: {}),
    (GET, 2, lambda t: dict(ListID="abc")),
    (GET, 2, lambda t: dict(SubscriberListID=_list(t, t.other))),
    (DELETE, 2, lambda t: dict(TagIDs="1")),
    (DELETE, 4, lambda t: dict(SubscriberListID=999999, TagIDs="1")),
    (DELETE, 4, lambda t: dict(ListID=(lst := _list(t, t.other)), TagIDs=str(_tag(t, t.other, lst)))),
    (DELETE, 5, lambda t: dict(SubscriberListID=_list(t))),
    (DELETE, 5, lambda t: dict(SubscriberListID=_list(t), TagIDs=",")),
    (DELETE, 5, lambda t: dict(SubscriberListID=_list(t), TagIDs="1,x")),
    (DELETE, 6, lambda t: dict(SubscriberListID=_list(t), TagIDs=str(_tag(t)))),
    *[("Subscriber.Tag", code, params) for code, params in TAGGING_CASES],
    *[("Subscriber.Untag", code, params) for code, params in TAGGING_CASES],
]


@pytest.mark.parametrize("command,code,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _) in enumerate(ERROR_CASES)])
def test_documented_code(api, user, other_user, engine, command, code, params):
    t = SimpleNamespace(api=api, user=user, other=other_user, engine=engine)
    prepared = params(t)
    before = state(engine)
    answer = api(command, user.session, **prepared)
    assert answer["Success"] is False and answer["ErrorCode"] == code, answer
    assert isinstance(answer["ErrorText"], str) and answer["ErrorText"]
    assert COMMANDS[command.lower()].error_shape == "scalar"
    assert state(engine) == before  # a refused command changes nothing


def test_every_documented_code_has_a_case():
    for command in tag_commands.COMMANDS:
        covered = {code for name, code, _ in ERROR_CASES if name == command.name}
        assert covered == set(command.errors) - NEVER_EMITTED.get(command.name, set()), command.name


@pytest.mark.parametrize("command", [c.name for c in tag_commands.COMMANDS])
def test_credentials_are_required(api, command):
    assert api(command, ListID=1, SubscriberListID=1, TagName="x", TagID=1, TagIDs="1",
               SubscriberID=1)["ErrorCode"] == 99998


@pytest.mark.parametrize("command", [c.name for c in tag_commands.COMMANDS])
def test_tag_commands_need_their_permission(api, engine, command):
    with engine.uow() as uow:
        group = UserGroup(name="Readers", permissions="Lists.Get,Subscribers.Get", created_at=uow.clock())
        uow.session.add(group)
        uow.commit()
        group_id = group.id
    reader = make_user(engine, api, "reader", group_id=group_id)
    answer = api(command, reader.session, ListID=1, SubscriberListID=1, TagName="x", TagID=1, TagIDs="1",
                 SubscriberID=1)
    assert answer["ErrorCode"] == 99999
