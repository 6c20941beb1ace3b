"""Segments and the campaign recipient preview through HTTP: every documented code and stored state."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.models import CampaignRecipient, CustomField, Segment, Subscriber, SubscriberFieldValue, UserGroup
from protocol.commands import audience as audience_commands
from protocol.commands import segments as segment_commands
from protocol.registry import COMMANDS
from tests.builders import make_list, make_segment, set_campaign
from tests.helpers import make_user, stored_state




# --- builders ---------------------------------------------------------------------------------------
def add_subscribers(engine, list_id: int, *addresses: str, status: str = "Subscribed") -> list[int]:
    with engine.uow() as uow:
        rows = [Subscriber(list_id=list_id, email_address=a, email_normalized=a.lower(), subscription_status=status,
                           subscription_date=uow.clock()) for a in addresses]
        uow.session.add_all(rows)
        uow.commit()
        return [r.id for r in rows]


def add_field(engine, owner, list_id: int | None, name: str = "Country", values: dict | None = None) -> int:
    with engine.uow() as uow:
        row = CustomField(owner_user_id=owner.id, list_id=list_id, name=name, created_at=uow.clock())
        uow.session.add(row)
        uow.session.flush()
        for subscriber_id, text in (values or {}).items():
            uow.session.add(SubscriberFieldValue(subscriber_id=subscriber_id, field_id=row.id, value_text=text))
        uow.commit()
        return row.id


def stored(engine, segment_id: int) -> Segment | None:
    with engine.uow() as uow:
        segment = uow.session.get(Segment, segment_id)
        if segment is not None:
            uow.session.expunge(segment)
        return segment


def all_segments(engine) -> list[int]:
    with engine.uow() as uow:
        return list(uow.session.scalars(select(Segment.id).order_by(Segment.id)))


def rule(field_id="EmailAddress", operator="contains", value="x"):
    return {"type": "fields", "field_id": str(field_id), "operator": operator, "value": value}


def create(api, user, list_id, name="Gmail", operator="or", rules=None, **extra):
    params = dict(SubscriberListID=list_id, SegmentName=name, SegmentOperator=operator, **extra)
    if rules is not None:
        params["RulesJson"] = rules if isinstance(rules, str) else json.dumps(rules)
    return api("Segment.Create", user.session, **params)


@pytest.fixture
def newsletter(engine, user):
    list_id = make_list(engine, user)
    add_subscribers(engine, list_id, "ann@gmail.com", "Bob@GMAIL.com", "carl@example.com")
    return list_id


# --- Segment.Create ---------------------------------------------------------------------------------------
def test_create_validates_and_stores_the_criteria(api, user, engine, newsletter):
    answer = create(api, user, newsletter, operator="OR", rules=[[rule("EmailAddress", "ends with", "@gmail.com")]])
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "SegmentID": answer["SegmentID"]}
    assert isinstance(answer["SegmentID"], int)
    segment = stored(engine, answer["SegmentID"])
    assert (segment.name, segment.list_id, segment.owner_user_id, segment.rules_operator) == \
        ("Gmail", newsletter, user.id, "or")
    assert json.loads(segment.rules_json) == [[rule("EmailAddress", "ends with", "@gmail.com")]]
    listed = api("Segments.Get", user.session, SubscriberListID=newsletter)["Segments"]
    assert listed[0]["SubscriberCount"] == "2"


def test_create_from_the_legacy_rule_arrays(api, user, engine, newsletter):
    answer = api("Segment.Create", user.session, SubscriberListID=newsletter, SegmentName="Legacy",
                 SegmentOperator="and", **{"SegmentRuleField[]": ["EmailAddress", "EmailAddress"],
                                          "SegmentRuleOperator[]": ["Contains", "Ends with"],
                                          "SegmentRuleFilter[]": ["b", "gmail.com"]})
    assert answer["Success"] is True
    segment = stored(engine, answer["SegmentID"])
    assert json.loads(segment.rules_json) == [rule("EmailAddress", "Contains", "b"),
                                              rule("EmailAddress", "Ends with", "gmail.com")]
    assert api("Segments.Get", user.session, SubscriberListID=newsletter)["Segments"][0]["SubscriberCount"] == "1"


def test_create_accepts_RulesJSON_spelling_and_a_json_body(api, user, engine, newsletter):
    field_id = add_field(engine, user, newsletter)
    doc = json.dumps([[rule(f"CustomField{field_id}", "is", "UK")]])
    answer = api.json({"Command": "segment.create", "SessionID": user.session, "SubscriberListID": newsletter,
                       "SegmentName": "UK", "SegmentOperator": "and", "RulesJSON": doc})
    assert answer["Success"] is True and stored(engine, answer["SegmentID"]).rules_json == doc.replace(" ", "")


def test_create_without_rules_makes_an_empty_segment(api, user, engine, newsletter):
    answer = create(api, user, newsletter)
    assert stored(engine, answer["SegmentID"]).rules_json == ""
    assert api("Segments.Get", user.session, SubscriberListID=newsletter)["Segments"][0]["SubscriberCount"] == "0"


@pytest.mark.parametrize("rules", [
    "[]", "[[]]", "[[{}]]", "[[[]]]", '[[{"type":"nonsense"}]]', "{not json", '[[{"type":"suppressions","operator":"maybe"}]]',
    json.dumps([[rule("FirstName", "is", "x")]]), json.dumps([[rule("EmailAddress", "resembles", "x")]]),
    json.dumps([[rule("SubscriptionStatus", "is not", "Subscribd")]]),
    json.dumps([[rule("EmailAddress", "matches regex", "(a+)+$")]]),
])
def test_create_rejects_unusable_criteria_with_7_and_stores_nothing(api, user, engine, newsletter, rules):
    answer = create(api, user, newsletter, rules=rules)
    assert answer["Success"] is False and answer["ErrorCode"] == [7] and answer["ErrorText"][0].startswith("Invalid RulesJson")
    assert all_segments(engine) == []


def test_create_rejects_rules_sent_as_an_array_instead_of_a_string(api, user, engine, newsletter):
    answer = api.json({"Command": "Segment.Create", "SessionID": user.session, "SubscriberListID": newsletter,
                       "SegmentName": "x", "SegmentOperator": "or", "RulesJson": [[rule()]]})
    assert answer["ErrorCode"] == [7] and "JSON-encoded string" in answer["ErrorText"][0]
    assert all_segments(engine) == []


def test_create_refuses_another_accounts_custom_field(api, user, other_user, engine, newsletter):
    theirs = add_field(engine, other_user, make_list(engine, other_user, "Theirs"))
    answer = create(api, user, newsletter, rules=[[rule(theirs, "is", "x")]])
    assert answer["ErrorCode"] == [7] and f"custom field {theirs} does not exist" in answer["ErrorText"][0]
    assert all_segments(engine) == []


# --- Segment.Update ---------------------------------------------------------------------------------------
@pytest.fixture
def segment(api, user, newsletter):
    return create(api, user, newsletter, rules=[[rule("EmailAddress", "contains", "gmail")]])["SegmentID"]


def test_update_renames_and_keeps_everything_else(api, user, engine, segment, newsletter):
    before = stored(engine, segment)
    answer = api("Segment.Update", user.session, SegmentID=segment, SegmentName="Renamed")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    after = stored(engine, segment)
    assert (after.name, after.rules_json, after.rules_operator, after.list_id) == \
        ("Renamed", before.rules_json, before.rules_operator, newsletter)


def test_update_changes_operator_rules_and_list(api, user, engine, segment):
    other_list = make_list(engine, user, "Second")
    answer = api("Segment.Update", user.session, SegmentID=segment, SegmentName="S", SegmentOperator="AND",
                 SubscriberListID=other_list, RulesJson=json.dumps([[rule("EmailAddress", "is_not_empty", "")]]))
    assert answer["Success"] is True
    after = stored(engine, segment)
    assert (after.rules_operator, after.list_id, json.loads(after.rules_json)[0][0]["operator"]) == \
        ("and", other_list, "is_not_empty")


@pytest.mark.parametrize("value", ["12abc", "0", "-4"])
def test_update_ignores_a_non_numeric_list_id(api, user, engine, segment, newsletter, value):
    assert api("Segment.Update", user.session, SegmentID=segment, SegmentName="S", SubscriberListID=value)["Success"]
    assert stored(engine, segment).list_id == newsletter


def test_moving_a_segment_revalidates_its_rules_against_the_new_list(api, user, engine, newsletter):
    field_id = add_field(engine, user, newsletter)
    segment_id = create(api, user, newsletter, rules=[[rule(field_id, "is", "UK")]])["SegmentID"]
    elsewhere = make_list(engine, user, "Elsewhere")
    before = stored_state(engine)
    answer = api("Segment.Update", user.session, SegmentID=segment_id, SegmentName="S", SubscriberListID=elsewhere)
    assert answer["ErrorCode"] == [7] and stored(engine, segment_id).list_id == newsletter
    assert stored(engine, segment_id).name == "Gmail" and stored_state(engine) == before


# --- Segments.Get -----------------------------------------------------------------------------------------
def test_get_lists_the_lists_segments_with_counts(api, user, engine, newsletter):
    a = create(api, user, newsletter, name="alpha", rules=[[rule("EmailAddress", "contains", "gmail")]])["SegmentID"]
    b = create(api, user, newsletter, name="Beta", rules=[[rule("EmailAddress", "is", "CARL@example.com")]])["SegmentID"]
    create(api, user, make_list(engine, user, "Other"), name="elsewhere")
    answer = api("Segments.Get", user.session, SubscriberListID=newsletter)
    assert answer["Success"] is True and answer["ErrorText"] == "" and answer["TotalSegmentCount"] == 2
    first, second = answer["Segments"]
    assert (first["SegmentID"], first["SegmentName"], second["SegmentName"]) == (str(b), "Beta", "alpha")  # name DESC
    assert first == {"SegmentID": str(b), "SegmentName": "Beta", "SubscriberListID": str(newsletter),
                     "SegmentOperator": "or", "SegmentRules": "", "SubscriberCount": "1",
                     "SegmentRulesJson": json.dumps([[rule("EmailAddress", "is", "CARL@example.com")]],
                                                    separators=(",", ":")),
                     "CreationDate": "2026-11-23 12:00:00"}
    ordered = api("Segments.Get", user.session, SubscriberListID=newsletter, OrderField="SubscriberCount",
                  OrderType="asc")["Segments"]
    assert [s["SegmentID"] for s in ordered] == [str(b), str(a)]
    by_id = api("Segments.Get", user.session, SubscriberListID=newsletter, OrderField="segmentid", OrderType="ASC")
    assert [s["SegmentID"] for s in by_id["Segments"]] == [str(a), str(b)]
    one = api("Segments.Get", user.session, SubscriberListID=newsletter, SegmentID=a, IncludeTotals="false")
    assert [s["SegmentID"] for s in one["Segments"]] == [str(a)] and "SubscriberCount" not in one["Segments"][0]
    unknown_order = api("Segments.Get", user.session, SubscriberListID=newsletter, OrderField="1;DROP", OrderType="up")
    assert [s["SegmentName"] for s in unknown_order["Segments"]] == ["Beta", "alpha"]


def test_get_on_a_list_without_segments_is_an_empty_list(api, user, engine):
    answer = api("Segments.Get", user.session, SubscriberListID=make_list(engine, user))
    assert answer["Segments"] == [] and answer["TotalSegmentCount"] == 0


# --- Segments.Delete ----------------------------------------------------------------------------------------
def test_delete_removes_segments_and_the_campaign_targeting_that_used_them(api, user, engine, newsletter, segment):
    keep = create(api, user, newsletter, name="keep")["SegmentID"]
    campaign = api("Campaign.Create", user.session, CampaignName="C")["CampaignID"]
    api("Campaign.Update", user.session, CampaignID=campaign,
        RecipientListsAndSegments=f"{newsletter}:{segment},{newsletter}:{keep}")
    answer = api("Segments.Delete", user.session, Segments=str(segment))
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    assert all_segments(engine) == [keep]
    with engine.uow() as uow:
        assert list(uow.session.scalars(select(CampaignRecipient.segment_id))) == [keep]


def test_delete_is_all_or_nothing(api, user, other_user, engine, newsletter, segment):
    theirs = create(api, other_user, make_list(engine, other_user, "Theirs"))["SegmentID"]
    campaign = api("Campaign.Create", user.session, CampaignName="C")["CampaignID"]
    assert api("Campaign.Update", user.session, CampaignID=campaign,
               RecipientListsAndSegments=f"{newsletter}:{segment}")["Success"]
    before = stored_state(engine)
    answer = api("Segments.Delete", user.session, Segments=f"{segment},{theirs}")
    assert answer["ErrorCode"] == {"segments": 1} and all_segments(engine) == sorted([segment, theirs])
    assert stored_state(engine) == before  # the campaign still targets the segment


# --- Campaign.Recipients.Get ---------------------------------------------------------------------------------
def campaign_for(api, user, engine, targets: str) -> int:
    campaign = api("Campaign.Create", user.session, CampaignName="Preview")["CampaignID"]
    assert api("Campaign.Update", user.session, CampaignID=campaign, RecipientListsAndSegments=targets)["Success"]
    return campaign


def test_recipients_preview(api, user, engine, newsletter, segment):
    second = make_list(engine, user, "Second")
    add_subscribers(engine, second, "ANN@gmail.com", "dora@example.com")
    add_subscribers(engine, second, "erin@example.com", status="Unsubscribed")
    campaign = campaign_for(api, user, engine, f"{newsletter}:{segment},{second}:0")
    answer = api("Campaign.Recipients.Get", user.session, CampaignID=campaign)
    assert answer["Success"] is True and answer["CampaignID"] == campaign and answer["TotalRecipients"] == 3
    assert [r["EmailAddress"] for r in answer["Recipients"]] == ["ann@gmail.com", "Bob@GMAIL.com", "dora@example.com"]
    assert all(isinstance(r["SubscriberID"], int) for r in answer["Recipients"])
    assert answer["CompiledSQL"].startswith("SELECT") and "'%gmail%'" in answer["CompiledSQL"]
    only = api("Campaign.Recipients.Get", user.session, CampaignID=campaign, OnlyTotal="true")
    assert only["TotalRecipients"] == 3 and only["Recipients"] == []
    page = api("Campaign.Recipients.Get", user.session, CampaignID=campaign, RecordsPerRequest=1, RecordsFrom=2)
    assert [r["EmailAddress"] for r in page["Recipients"]] == ["dora@example.com"]


def test_recipients_preview_of_a_bundle_and_for_an_administrator(api, user, admin, engine, newsletter):
    campaign = api("Campaign.Create", user.session, CampaignName="Bundle")["CampaignID"]
    bundle = {"operator": "or", "criteria": [{"list_id": newsletter, "operator": "and", "rules": [
        rule("EmailAddress", "contains", "gmail"), rule("EmailAddress", "does not contain", "bob")]}]}
    assert api("Campaign.Update", user.session, CampaignID=campaign, RulesJsonBundle=json.dumps(bundle))["Success"]
    answer = api("Campaign.Recipients.Get", admin.session, CampaignID=campaign)
    assert answer["TotalRecipients"] == 1 and answer["Recipients"][0]["EmailAddress"] == "ann@gmail.com"


def test_recipients_preview_needs_campaign_get(api, engine, newsletter):
    with engine.uow() as uow:
        group = UserGroup(name="Writers", permissions="Campaign.Create,Campaign.Update", created_at=uow.clock())
        uow.session.add(group)
        uow.commit()
        group_id = group.id
    writer = make_user(engine, api, "writer", group_id=group_id)
    campaign = api("Campaign.Create", writer.session, CampaignName="C")["CampaignID"]
    assert api("Campaign.Recipients.Get", writer.session, CampaignID=campaign)["ErrorCode"] == 99999


# --- every documented code, through HTTP ------------------------------------------------------------------------
def _list(t, owner=None):
    return make_list(t.engine, owner or t.user, "L")


def _segment(t, owner=None):
    owner = owner or t.user
    return create(t.api, owner, _list(t, owner))["SegmentID"]


def _campaign(t, **columns):
    campaign = t.api("Campaign.Create", t.user.session, CampaignName="C")["CampaignID"]
    if columns:
        set_campaign(t.engine, campaign, **columns)
    return campaign


def _targeting(t, status="Draft"):
    list_id = _list(t)
    campaign = campaign_for(t.api, t.user, t.engine, f"{list_id}:0")
    set_campaign(t.engine, campaign, status=status)
    return campaign


def _moved_segment_campaign(t):
    list_id = _list(t)
    segment_id = create(t.api, t.user, list_id)["SegmentID"]
    campaign = campaign_for(t.api, t.user, t.engine, f"{list_id}:{segment_id}")
    t.api("Segment.Update", t.user.session, SegmentID=segment_id, SegmentName="moved", SubscriberListID=_list(t))
    return campaign


def _foreign_bundle(t):
    theirs = make_list(t.engine, t.other, "Theirs")
    return _campaign(t, rules_json_bundle=json.dumps(
        {"operator": "or", "criteria": [{"list_id": theirs, "rules": [rule("EmailAddress", "is_not_empty", "")]}]}))


ERROR_CASES = [
    ("Segment.Create", 1, lambda t: dict(SegmentName="x", SegmentOperator="or")),
    ("Segment.Create", 1, lambda t: dict(SubscriberListID="", SegmentName="", SegmentOperator="")),
    ("Segment.Create", 2, lambda t: dict(SubscriberListID=_list(t), SegmentOperator="or")),
    ("Segment.Create", 2, lambda t: dict(SubscriberListID=_list(t), SegmentName="   ", SegmentOperator="or")),
    ("Segment.Create", 2, lambda t: dict(SubscriberListID=_list(t), SegmentName="x" * 256, SegmentOperator="or")),
    ("Segment.Create", 3, lambda t: dict(SubscriberListID=_list(t), SegmentName="x")),
    ("Segment.Create", 3, lambda t: dict(SubscriberListID=_list(t), SegmentName="x", SegmentOperator="xor")),
    ("Segment.Create", 4, lambda t: dict(SubscriberListID=999999, SegmentName="x", SegmentOperator="or")),
    ("Segment.Create", 4, lambda t: dict(SubscriberListID="abc", SegmentName="x", SegmentOperator="or")),
    ("Segment.Create", 4, lambda t: dict(SubscriberListID=_list(t, t.other), SegmentName="x", SegmentOperator="or")),
    ("Segment.Create", 7, lambda t: dict(SubscriberListID=_list(t), SegmentName="x", SegmentOperator="or",
                                         RulesJson="[[]]")),
    ("Segment.Create", 7, lambda t: dict(SubscriberListID=_list(t), SegmentName="x", SegmentOperator="or",
                                         **{"SegmentRuleField[]": ["EmailAddress"], "SegmentRuleFilter[]": ["x"]})),
    ("Segment.Update", 1, lambda t: dict(SegmentName="x")),
    ("Segment.Update", 2, lambda t: dict(SegmentID=_segment(t))),
    ("Segment.Update", 4, lambda t: dict(SegmentID=999999, SegmentName="x")),
    ("Segment.Update", 4, lambda t: dict(SegmentID="seven", SegmentName="x")),
    ("Segment.Update", 4, lambda t: dict(SegmentID=_segment(t, t.other), SegmentName="x")),
    ("Segment.Update", 5, lambda t: dict(SegmentID=_segment(t), SegmentName="x", SegmentOperator="both")),
    ("Segment.Update", 6, lambda t: dict(SegmentID=_segment(t), SegmentName="x", SubscriberListID=999999)),
    ("Segment.Update", 6, lambda t: dict(SegmentID=_segment(t), SegmentName="x", SubscriberListID=_list(t, t.other))),
    ("Segment.Update", 7, lambda t: dict(SegmentID=_segment(t), SegmentName="x", RulesJson='[[{"type":"tags"}]]')),
    ("Segments.Get", 1, lambda t: {}),
    ("Segments.Get", 1, lambda t: dict(SubscriberListID="abc")),
    ("Segments.Get", 1, lambda t: dict(SubscriberListID=999999)),
    ("Segments.Get", 1, lambda t: dict(SubscriberListID=_list(t, t.other))),
    ("Segments.Delete", 1, lambda t: {}),
    ("Segments.Delete", 1, lambda t: dict(Segments="1,x")),
    ("Segments.Delete", 1, lambda t: dict(Segments="999999")),
    ("Segments.Delete", 1, lambda t: dict(Segments=str(_segment(t, t.other)))),
    ("Campaign.Recipients.Get", 1, lambda t: {}),
    ("Campaign.Recipients.Get", 2, lambda t: dict(CampaignID="abc")),
    ("Campaign.Recipients.Get", 3, lambda t: dict(CampaignID=999999)),
    ("Campaign.Recipients.Get", 3, lambda t: dict(CampaignID=t.api("Campaign.Create", t.other.session,
                                                                   CampaignName="theirs")["CampaignID"])),
    ("Campaign.Recipients.Get", 4, lambda t: dict(CampaignID=_targeting(t, "Sent"))),
    ("Campaign.Recipients.Get", 4, lambda t: dict(CampaignID=_targeting(t, "Sending"))),
    ("Campaign.Recipients.Get", 5, lambda t: dict(CampaignID=_campaign(t))),
    ("Campaign.Recipients.Get", 5, lambda t: dict(CampaignID=_campaign(t, rules_json_bundle='{"operator":"or"}'))),
    ("Campaign.Recipients.Get", 5, lambda t: dict(CampaignID=_campaign(t, rules_json_bundle=json.dumps(
        {"operator": "or", "criteria": [{"list_id": _list(t), "rules": [[{"type": "nonsense"}]]}]})))),
    ("Campaign.Recipients.Get", 6, lambda t: dict(CampaignID=_foreign_bundle(t))),
    ("Campaign.Recipients.Get", 6, lambda t: dict(CampaignID=_moved_segment_campaign(t))),
]


@pytest.mark.parametrize("command,code,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _) in enumerate(ERROR_CASES)])
def test_documented_code(api, user, other_user, engine, command, code, params):
    t = SimpleNamespace(api=api, user=user, other=other_user, engine=engine)
    prepared = params(t)
    before = all_segments(engine)
    everything = stored_state(engine)
    answer = api(command, user.session, **prepared)
    assert answer["Success"] is False, answer
    shape = COMMANDS[command.lower()].error_shape
    if shape == "keyed":
        assert answer["ErrorCode"] == {"segments": code} and isinstance(answer["ErrorText"], str)
    elif shape == "scalar":
        assert answer["ErrorCode"] == code and isinstance(answer["ErrorMessage"], str), answer
    else:
        # a list answer names every missing required parameter; the case's code comes first
        assert answer["ErrorCode"][0] == code and len(answer["ErrorText"]) == len(answer["ErrorCode"]), answer
    assert all_segments(engine) == before  # a refused command changes nothing
    assert stored_state(engine) == everything  # …not even a segment's name, rules or list


def test_every_documented_code_has_a_case():
    for command in segment_commands.COMMANDS + audience_commands.COMMANDS:
        covered = {code for name, code, _ in ERROR_CASES if name == command.name}
        assert covered == set(command.errors), command.name


@pytest.mark.parametrize("command", [c.name for c in segment_commands.COMMANDS + audience_commands.COMMANDS])
def test_credentials_are_required(api, user, engine, segment, newsletter, command):
    before = stored_state(engine)
    assert api(command, SegmentID=segment, SegmentName="x", SubscriberListID=newsletter, SegmentOperator="or",
               Segments=str(segment), CampaignID=1)["ErrorCode"] == 99998
    assert stored_state(engine) == before


@pytest.mark.parametrize("command", [c.name for c in segment_commands.COMMANDS])
def test_segment_commands_need_their_permission(api, engine, command):
    with engine.uow() as uow:
        group = UserGroup(name="Readers", permissions="Campaigns.Get", created_at=uow.clock())
        uow.session.add(group)
        uow.commit()
        group_id = group.id
    reader = make_user(engine, api, "reader", group_id=group_id)
    list_id = make_list(engine, reader)
    segment_id = make_segment(engine, reader, list_id)
    before = stored_state(engine)
    answer = api(command, reader.session, SegmentID=segment_id, SegmentName="x", SubscriberListID=list_id,
                 SegmentOperator="or", Segments=str(segment_id))
    assert answer["ErrorCode"] == 99999
    assert stored_state(engine) == before
