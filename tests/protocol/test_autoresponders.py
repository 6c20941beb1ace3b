"""Autoresponders through HTTP: Create / Get / Update / Duplicate and AutoResponders.Get / AcrossLists.Get /
Copy / Delete — the stored rows after every call, owner checks, and every documented code."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.models import AutoResponder, AutoResponderSend, Email, UserGroup
from protocol.commands import autoresponder_reports, autoresponders
from protocol.registry import COMMANDS
from tests.builders import load_row, make_custom_field, make_email, make_list, make_segment
from tests.helpers import make_user

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)  # the FakeClock's start
URL = "https://shop.example/offer?id=7"


# --- builders and stored state ---------------------------------------------------------------------------
@pytest.fixture
def shop(api, engine, user):
    list_id = make_list(engine, user, "Shop")
    return SimpleNamespace(
        list_id=list_id, email_id=make_email(engine, user, subject="Welcome", html_content="<p>Hi</p>"),
        campaign_id=api("Campaign.Create", user.session, CampaignName="Launch")["CampaignID"],
        birthday=make_custom_field(engine, user, list_id, "Birthday", field_type="Date field"),
        nickname=make_custom_field(engine, user, list_id, "Nickname"),
        segment_id=make_segment(engine, user, list_id))


def create(api, user, shop, **params) -> dict:
    base = dict(SubscriberListID=shop.list_id, AutoResponderName="Welcome", AutoResponderTriggerType="OnSubscription",
                EmailID=shop.email_id, TriggerTimeType="Immediately")
    return api("AutoResponder.Create", user.session, **{**base, **params})


def made(api, user, shop, **params) -> int:
    answer = create(api, user, shop, **params)
    assert answer["Success"] is True, answer
    return answer["AutoResponderID"]


def rows(engine) -> list[tuple]:
    """Every autoresponder as stored (its columns), by ID."""
    with engine.uow() as uow:
        found = uow.session.scalars(select(AutoResponder).order_by(AutoResponder.id)).all()
        return [tuple(getattr(r, c.key) for c in AutoResponder.__table__.columns) for r in found]


def stored(engine, responder_id: int) -> AutoResponder:
    return load_row(engine, AutoResponder, responder_id)


def add_send(engine, responder_id: int, subscriber_id: int = 1, occurrence: str = "/0", **columns) -> int:
    """A ledger row as the sending side will write it (phase 2); here the readers are under test."""
    with engine.uow() as uow:
        row = AutoResponderSend(autoresponder_id=responder_id, subscriber_id=subscriber_id, occurrence=occurrence,
                                email_address=f"s{subscriber_id}@example.com", due_at=columns.pop("due_at", NOW),
                                created_at=NOW, **columns)
        uow.session.add(row)
        uow.commit()
        return row.id


# --- AutoResponder.Create ------------------------------------------------------------------------------------
def test_create_a_welcome_email_and_read_it_back(api, user, engine, shop):
    answer = create(api, user, shop)
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "AutoResponderID": answer["AutoResponderID"]}
    r = stored(engine, answer["AutoResponderID"])
    assert (r.owner_user_id, r.list_id, r.name, r.trigger_type, r.trigger_value, r.email_id, r.trigger_time_type,
            r.trigger_time, r.status, r.segment_id, r.repeat_status) == \
        (user.id, shop.list_id, "Welcome", "OnSubscription", "", shop.email_id, "Immediately", 0, "Enabled", None, None)
    assert r.enabled_at == NOW and r.created_at == NOW
    got = api("AutoResponder.Get", user.session, AutoResponderID=r.id)
    assert got == {"Success": True, "ErrorCode": 0, "ErrorText": "", "AutoResponder": {
        "AutoResponderID": r.id, "AutoResponderName": "Welcome", "RelListID": shop.list_id, "RelSegmentID": None,
        "RelEmailID": shop.email_id, "AutoResponderTriggerType": "OnSubscription", "AutoResponderTriggerValue": "",
        "AutoResponderTriggerValue2": "", "TriggerTimeType": "Immediately", "TriggerTime": 0, "Status": "Enabled",
        "RepeatSettings": None}}


def test_create_with_delay_repeat_segment_and_paused(api, user, engine, shop, clock):
    responder_id = made(api, user, shop, AutoResponderName="Series", TriggerTimeType="days_later", TriggerTime="7",
                        Repeat="r6/p1m", SegmentID=shop.segment_id, Status="disabled")
    r = stored(engine, responder_id)
    assert (r.trigger_time_type, r.trigger_time, r.segment_id, r.status, r.enabled_at) == \
        ("Days later", 7, shop.segment_id, "Disabled", None)
    assert (r.repeat_status, r.repeat_count, r.repeat_interval, r.repeat_unit) == ("Enabled", 6, 1, "M")
    got = api("AutoResponder.Get", user.session, AutoResponderID=responder_id, RetrieveStatistics="true")
    assert got["AutoResponder"]["RepeatSettings"] == {"Status": "Enabled", "Pattern": "R6/P1M", "Occurrences": 6,
                                                      "Interval": 1, "Unit": "M"}
    # Nothing has been sent: the lifetime counters are zero, not invented.
    stats = {k: v for k, v in got["AutoResponder"].items() if k.startswith(("Total", "Unique"))}
    assert stats["TotalRevenue"] == "0.00" and set(stats.values()) == {0, "0.00"} and len(stats) == 17


@pytest.mark.parametrize("trigger, value, value2, stored_values", [
    ("OnSubscriberLinkClick", URL, "", (URL, "")),
    ("OnSubscriberLinkClick", URL, "$C", (URL, "$C")),
    ("OnSubscriberCampaignOpen", "$C", "ignored", ("$C", "")),
    ("OnSubscriberDate", "$F", "", ("$F", "")),
    ("OnSubscriberDate", "CustomField$F", " yearly - 3 ", ("$F", "Yearly-3")),
    ("OnSubscriberDate", "$F", "7", ("$F", "+7")),
    ("OnSubscription", "anything", "else", ("", "")),
])
def test_trigger_values_are_checked_and_normalised(api, user, engine, shop, trigger, value, value2, stored_values):
    names = {"$C": str(shop.campaign_id), "$F": str(shop.birthday)}

    def put(text):
        for key, real in names.items():
            text = text.replace(key, real)
        return text

    params = dict(AutoResponderTriggerType=trigger, AutoResponderTriggerValue=put(value))
    if value2:
        params["AutoResponderTriggerValue2"] = put(value2)
    r = stored(engine, made(api, user, shop, **params))
    assert (r.trigger_value, r.trigger_value2) == tuple(put(v) for v in stored_values)


@pytest.mark.parametrize("trigger", ["OnSubscriberCampaignConversion", "OnSubscriberForwardToFriend"])
def test_triggers_sendmill_cannot_observe_are_refused(api, user, engine, shop, trigger):
    answer = create(api, user, shop, AutoResponderTriggerType=trigger, AutoResponderTriggerValue="1")
    assert answer["ErrorCode"] == [6] and "Sendmill does not record" in answer["ErrorText"][0]
    assert rows(engine) == []


def test_a_missing_parameter_is_named_and_all_are_listed(api, user, engine, shop):
    answer = api("AutoResponder.Create", user.session, AutoResponderTriggerType="OnSubscription",
                 TriggerTimeType="Immediately")
    assert answer["ErrorCode"] == ["subscriberlistid", "autorespondername", 8]
    assert answer["ErrorText"][0].startswith("Missing required parameter subscriberlistid")
    assert rows(engine) == []


# --- AutoResponder.Update ------------------------------------------------------------------------------------
def test_update_changes_only_what_is_given(api, user, engine, shop, clock):
    responder_id = made(api, user, shop, TriggerTimeType="Hours later", TriggerTime=2, Repeat="R3/P2W",
                        SegmentID=shop.segment_id)
    before = stored(engine, responder_id)
    clock.advance(hours=1)
    answer = api("AutoResponder.Update", user.session, AutoResponderID=responder_id, AutoResponderName="Renamed")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    after = stored(engine, responder_id)
    assert after.name == "Renamed" and after.updated_at == clock()
    for column in ("trigger_time_type", "trigger_time", "repeat_status", "repeat_count", "segment_id", "status",
                   "email_id", "enabled_at"):
        assert getattr(after, column) == getattr(before, column), column


def test_pausing_and_enabling_moves_the_forward_looking_mark(api, user, engine, shop, clock):
    responder_id = made(api, user, shop)
    clock.advance(days=1)
    assert api("AutoResponder.Update", user.session, AutoResponderID=responder_id, Status="Disabled")["Success"]
    assert (stored(engine, responder_id).status, stored(engine, responder_id).enabled_at) == ("Disabled", NOW)
    clock.advance(days=1)
    assert api("AutoResponder.Update", user.session, AutoResponderID=responder_id, Status="Enabled")["Success"]
    assert stored(engine, responder_id).enabled_at == clock()
    enabled_at = clock()
    clock.advance(days=1)  # enabling what is enabled moves nothing
    assert api("AutoResponder.Update", user.session, AutoResponderID=responder_id, Status="Enabled")["Success"]
    assert stored(engine, responder_id).enabled_at == enabled_at


def test_update_clears_scope_and_repeat_and_changes_timing(api, user, engine, shop):
    responder_id = made(api, user, shop, SegmentID=shop.segment_id, Repeat="R2/P1D")
    assert api("AutoResponder.Update", user.session, AutoResponderID=responder_id, SegmentID=0, Repeat="null",
               TriggerTimeType="Weeks later", TriggerTime=2)["Success"]
    r = stored(engine, responder_id)
    assert (r.segment_id, r.repeat_status, r.trigger_time_type, r.trigger_time) == (None, "Disabled", "Weeks later", 2)
    got = api("AutoResponder.Get", user.session, AutoResponderID=responder_id)["AutoResponder"]
    assert got["RepeatSettings"] == {"Status": "Disabled"} and got["RelSegmentID"] is None
    assert api("AutoResponder.Update", user.session, AutoResponderID=responder_id, TriggerTime=5)["Success"]
    assert stored(engine, responder_id).trigger_time == 5
    assert api("AutoResponder.Update", user.session, AutoResponderID=responder_id,
               TriggerTimeType="Immediately")["Success"]
    assert (stored(engine, responder_id).trigger_time_type, stored(engine, responder_id).trigger_time) == \
        ("Immediately", 0)


def test_changing_the_trigger_needs_the_new_value(api, user, engine, shop):
    responder_id = made(api, user, shop, AutoResponderTriggerType="OnSubscriberLinkClick",
                        AutoResponderTriggerValue=URL)
    before = rows(engine)
    answer = api("AutoResponder.Update", user.session, AutoResponderID=responder_id,
                 AutoResponderTriggerType="OnSubscriberCampaignOpen")
    assert answer["ErrorCode"] == ["autorespondertriggervalue"] and rows(engine) == before
    assert api("AutoResponder.Update", user.session, AutoResponderID=responder_id,
               AutoResponderTriggerType="OnSubscriberCampaignOpen",
               AutoResponderTriggerValue=shop.campaign_id)["Success"]
    assert stored(engine, responder_id).trigger_value == str(shop.campaign_id)
    assert api("AutoResponder.Update", user.session, AutoResponderID=responder_id,
               AutoResponderTriggerType="OnSubscription")["Success"]
    assert (stored(engine, responder_id).trigger_type, stored(engine, responder_id).trigger_value) == \
        ("OnSubscription", "")


def test_moving_to_another_list_revalidates_scope_and_trigger(api, user, engine, shop):
    other_list = make_list(engine, user, "Other")
    scoped = made(api, user, shop, SegmentID=shop.segment_id)
    before = rows(engine)
    assert api("AutoResponder.Update", user.session, AutoResponderID=scoped,
               SubscriberListID=other_list)["ErrorCode"] == [11]
    assert rows(engine) == before
    assert api("AutoResponder.Update", user.session, AutoResponderID=scoped, SubscriberListID=other_list,
               SegmentID=0)["Success"]
    assert (stored(engine, scoped).list_id, stored(engine, scoped).segment_id) == (other_list, None)
    dated = made(api, user, shop, AutoResponderTriggerType="OnSubscriberDate", AutoResponderTriggerValue=shop.birthday)
    answer = api("AutoResponder.Update", user.session, AutoResponderID=dated, SubscriberListID=other_list)
    assert answer["ErrorCode"] == [14] and "is not a date field of list" in answer["ErrorText"][0]
    assert stored(engine, dated).list_id == shop.list_id


# --- AutoResponders.Get / AcrossLists.Get -------------------------------------------------------------------
def test_listing_filters_orders_and_pages(api, user, other_user, engine, shop):
    welcome = made(api, user, shop, AutoResponderName="Welcome 100%")
    clicks = made(api, user, shop, AutoResponderName="welcome_clicks", AutoResponderTriggerType="OnSubscriberLinkClick",
                  AutoResponderTriggerValue=URL, Status="Disabled")
    opens = made(api, user, shop, AutoResponderName="Opened", AutoResponderTriggerType="OnSubscriberCampaignOpen",
                 AutoResponderTriggerValue=shop.campaign_id)
    elsewhere = made(api, user, SimpleNamespace(**{**vars(shop), "list_id": make_list(engine, user, "Two")}),
                     AutoResponderName="Elsewhere", SegmentID=0)

    def ids(command="AutoResponders.Get", **params):
        answer = api(command, user.session, **params)
        assert answer["Success"] is True, answer
        return answer["TotalResponderCount"], [r["AutoResponderID"] for r in answer["AutoResponders"]]

    assert ids(SubscriberListID=shop.list_id) == (3, [opens, welcome, clicks])  # by name, case-insensitively
    assert ids(SubscriberListID=shop.list_id, OrderField="autoresponderid", OrderType="desc") == \
        (3, [opens, clicks, welcome])
    assert ids(SubscriberListID=shop.list_id, RecordsPerRequest=1, RecordsFrom=1) == (3, [welcome])
    assert ids(SubscriberListID=shop.list_id, SearchKeyword="WELCOME") == (2, [welcome, clicks])
    assert ids(SubscriberListID=shop.list_id, SearchKeyword="0%") == (1, [welcome])  # % is a character, not a wildcard
    assert ids(SubscriberListID=shop.list_id, SearchKeyword="e_c") == (1, [clicks])
    assert ids(SubscriberListID=shop.list_id, TriggerType="onsubscriberlinkclick") == (1, [clicks])
    assert ids(SubscriberListID=shop.list_id, TriggerType="OnSubscriberLinkClick", TriggerValue="https://x") == (0, [])
    assert ids(SubscriberListID=shop.list_id, TriggerValue=URL) == (3, [opens, welcome, clicks])  # needs TriggerType
    assert ids(SubscriberListID=shop.list_id, TriggerType="OnNothing") == (0, [])  # a typo never widens
    assert ids(SubscriberListID=shop.list_id, Status="Disabled") == (1, [clicks])
    assert ids(SubscriberListID=shop.list_id, OrderField="1;DROP") == (3, [opens, welcome, clicks])
    row = api("AutoResponders.Get", user.session, SubscriberListID=shop.list_id)["AutoResponders"][0]
    assert row["TotalSent"] == 0 and row["TotalRevenue"] == "0.00" and row["AutoResponderTriggerValue"] == \
        str(shop.campaign_id)
    # Across lists: every list of the caller, never another account's.
    made(api, other_user, SimpleNamespace(list_id=make_list(engine, other_user, "Theirs"),
                                          email_id=make_email(engine, other_user)))
    assert ids("AutoResponders.AcrossLists.Get") == (4, [elsewhere, opens, welcome, clicks])
    assert ids("AutoResponders.AcrossLists.Get", OrderField="RelListID", OrderType="DESC")[1][0] == elsewhere
    assert ids("AutoResponders.AcrossLists.Get", SubscriberListID=shop.list_id, Status="Enabled") == (2, [opens, welcome])
    theirs = make_list(engine, other_user, "Theirs too")
    assert ids("AutoResponders.AcrossLists.Get", SubscriberListID=theirs) == (0, [])
    assert ids("AutoResponders.AcrossLists.Get", SubscriberListID="abc", RecordsPerRequest="x")[0] == 4


# --- AutoResponders.Delete ------------------------------------------------------------------------------------
def test_delete_removes_autoresponders_and_their_sends(api, user, engine, shop):
    gone, kept = made(api, user, shop), made(api, user, shop, AutoResponderName="Kept")
    add_send(engine, gone)
    add_send(engine, kept)
    answer = api("AutoResponders.Delete", user.session, AutoResponders=f"{gone}")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    assert [r[0] for r in rows(engine)] == [kept]
    with engine.uow() as uow:
        assert list(uow.session.scalars(select(AutoResponderSend.autoresponder_id))) == [kept]
        assert uow.session.get(Email, shop.email_id) is not None  # the email is the user's, it stays


def test_delete_is_all_or_nothing(api, user, other_user, engine, shop):
    mine = made(api, user, shop)
    theirs = made(api, other_user, SimpleNamespace(list_id=make_list(engine, other_user, "T"),
                                                   email_id=make_email(engine, other_user)))
    before = rows(engine)
    answer = api("AutoResponders.Delete", user.session, AutoResponders=f"{mine},{theirs}")
    assert answer["ErrorCode"] == ["autoresponders"] and rows(engine) == before


# --- Duplicate and Copy -------------------------------------------------------------------------------------
def email_of(engine, email_id: int) -> tuple:
    e = load_row(engine, Email, email_id)
    return e.owner_user_id, e.subject, e.html_content


def test_duplicate_copies_the_email_and_starts_disabled(api, user, engine, shop):
    source = made(api, user, shop, SegmentID=shop.segment_id, Repeat="R2/P3D", TriggerTimeType="Days later",
                  TriggerTime=1)
    answer = api("AutoResponder.Duplicate", user.session, AutoResponderID=source)
    assert answer["Success"] is True and set(answer) == {"Success", "ErrorCode", "ErrorText", "AutoResponderID",
                                                         "RelEmailID"}
    copy, original = stored(engine, answer["AutoResponderID"]), stored(engine, source)
    assert (copy.name, copy.status, copy.enabled_at, copy.list_id, copy.segment_id) == \
        ("Copy of Welcome", "Disabled", None, shop.list_id, shop.segment_id)
    assert (copy.repeat_count, copy.trigger_time_type, copy.trigger_time) == (2, "Days later", 1)
    assert copy.email_id == answer["RelEmailID"] != original.email_id
    assert email_of(engine, copy.email_id) == email_of(engine, original.email_id)
    other_list = make_list(engine, user, "Other")
    answer = api("AutoResponder.Duplicate", user.session, AutoResponderID=source, TargetListID=other_list,
                 NamePrefix="Cross - ")
    copy = stored(engine, answer["AutoResponderID"])
    assert (copy.name, copy.list_id, copy.segment_id) == ("Cross - Welcome", other_list, None)


def test_enabling_a_copy_checks_it_against_its_list(api, user, engine, shop):
    dated = made(api, user, shop, AutoResponderTriggerType="OnSubscriberDate", AutoResponderTriggerValue=shop.birthday)
    other_list = make_list(engine, user, "Other")
    copy = api("AutoResponder.Duplicate", user.session, AutoResponderID=dated, TargetListID=other_list)["AutoResponderID"]
    answer = api("AutoResponder.Update", user.session, AutoResponderID=copy, Status="Enabled")
    assert answer["ErrorCode"] == [14] and f"custom field {shop.birthday} is not a date field of list" in \
        answer["ErrorText"][0]
    assert stored(engine, copy).status == "Disabled"
    field_there = make_custom_field(engine, user, other_list, "Anniversary", field_type="Date field")
    assert api("AutoResponder.Update", user.session, AutoResponderID=copy, Status="Enabled",
               AutoResponderTriggerValue=field_there)["Success"]
    assert (stored(engine, copy).status, stored(engine, copy).trigger_value) == ("Enabled", str(field_there))


def test_copy_all_or_one_autoresponder_to_another_list(api, user, engine, shop):
    first = made(api, user, shop, AutoResponderName="First", SegmentID=shop.segment_id)
    second = made(api, user, shop, AutoResponderName="Second")
    target = make_list(engine, user, "Target")
    answer = api("AutoResponders.Copy", user.session, SourceListID=shop.list_id, TargetListID=target, Prefix="Copy - ")
    assert answer["Success"] is True and len(answer["AutoResponderIDs"]) == 2
    copies = [stored(engine, i) for i in answer["AutoResponderIDs"]]
    assert [(c.name, c.list_id, c.segment_id, c.status) for c in copies] == \
        [("Copy - First", target, None, "Disabled"), ("Copy - Second", target, None, "Disabled")]
    assert len({c.email_id for c in copies} | {shop.email_id}) == 3
    answer = api("AutoResponders.Copy", user.session, SourceListID=shop.list_id, TargetListID=target,
                 TargetAutoResponderID=second)
    assert [stored(engine, i).name for i in answer["AutoResponderIDs"]] == ["Second"]
    assert {r[0] for r in rows(engine)} >= {first, second}


# --- what other objects' deletion does to autoresponders --------------------------------------------------
def test_an_email_used_by_an_enabled_autoresponder_cannot_be_deleted(api, user, engine, shop):
    responder_id = made(api, user, shop)
    answer = api("Email.Delete", user.session, EmailID=shop.email_id)
    assert answer["ErrorCode"] == 3 and f"autoresponder {responder_id} uses this email" in answer["ErrorText"]
    assert load_row(engine, Email, shop.email_id) is not None
    api("AutoResponder.Update", user.session, AutoResponderID=responder_id, Status="Disabled")
    assert api("Email.Delete", user.session, EmailID=shop.email_id)["Success"] is True
    assert stored(engine, responder_id).email_id is None
    assert api("AutoResponder.Get", user.session, AutoResponderID=responder_id)["AutoResponder"]["RelEmailID"] == 0
    # Without content it cannot be enabled again until it has an email.
    answer = api("AutoResponder.Update", user.session, AutoResponderID=responder_id, Status="Enabled")
    assert answer["ErrorCode"] == [9] and "needs an email" in answer["ErrorText"][0]
    assert api("AutoResponder.Update", user.session, AutoResponderID=responder_id, Status="Enabled",
               EmailID=make_email(engine, user))["Success"]


def test_deleting_its_segment_disables_a_scoped_autoresponder(api, user, engine, shop):
    scoped, whole = made(api, user, shop, SegmentID=shop.segment_id), made(api, user, shop)
    assert api("Segments.Delete", user.session, Segments=str(shop.segment_id))["Success"]
    assert (stored(engine, scoped).segment_id, stored(engine, scoped).status) == (None, "Disabled")
    assert stored(engine, whole).status == "Enabled"


def test_deleting_the_list_deletes_its_autoresponders(api, user, engine, shop):
    responder_id = made(api, user, shop)
    add_send(engine, responder_id)
    assert api("Lists.Delete", user.session, Lists=str(shop.list_id))["Success"]
    assert rows(engine) == []
    with engine.uow() as uow:
        assert uow.session.scalar(select(AutoResponderSend.id)) is None


# --- every documented code, through HTTP -------------------------------------------------------------------
NEVER_EMITTED = {
    "AutoResponder.Create": {12},         # a failed write is an internal error (100005), never a success-shaped 12
    "AutoResponder.Duplicate": {4, 5},    # likewise for the clone of the email and of the row
    "AutoResponder.SendTest": {5, 6, 99},  # the email and list cannot vanish under it (foreign keys); no demo mode
}


def _theirs(t):
    """An autoresponder of the other account."""
    return made(t.api, t.other, SimpleNamespace(list_id=make_list(t.engine, t.other, "T"),
                                                email_id=make_email(t.engine, t.other)))


def _mine(t, **params):
    return made(t.api, t.user, t.shop, **params)


def _create(t, **params):
    base = dict(SubscriberListID=t.shop.list_id, AutoResponderName="W", AutoResponderTriggerType="OnSubscription",
                EmailID=t.shop.email_id, TriggerTimeType="Immediately")
    return {k: v for k, v in {**base, **params}.items() if v is not None}


def _upd(t, **params):
    return {"AutoResponderID": _mine(t), **params}


CREATE, UPDATE, GET, GETS = "AutoResponder.Create", "AutoResponder.Update", "AutoResponder.Get", "AutoResponders.Get"
DELETE, COPY, DUP = "AutoResponders.Delete", "AutoResponders.Copy", "AutoResponder.Duplicate"
ERROR_CASES = [
    (CREATE, "subscriberlistid", lambda t: _create(t, SubscriberListID=None)),
    (CREATE, "autorespondername", lambda t: _create(t, AutoResponderName="  ")),
    (CREATE, "autorespondertriggertype", lambda t: _create(t, AutoResponderTriggerType=None)),
    (CREATE, "autorespondertriggervalue", lambda t: _create(t, AutoResponderTriggerType="OnSubscriberDate")),
    (CREATE, 5, lambda t: _create(t, TriggerTimeType="Minutes later")),
    (CREATE, 6, lambda t: _create(t, AutoResponderTriggerType="OnUnsubscription")),
    (CREATE, 6, lambda t: _create(t, AutoResponderTriggerType="OnSubscriberForwardToFriend")),
    (CREATE, 7, lambda t: _create(t, TriggerTimeType=None)),
    (CREATE, 7, lambda t: _create(t, TriggerTimeType="Years later")),
    (CREATE, 8, lambda t: _create(t, EmailID=None)),
    (CREATE, 9, lambda t: _create(t, EmailID=999999)),
    (CREATE, 9, lambda t: _create(t, EmailID=make_email(t.engine, t.other))),
    (CREATE, 9, lambda t: _create(t, EmailID="abc")),
    (CREATE, 10, lambda t: _create(t, Status="Paused")),
    (CREATE, 11, lambda t: _create(t, SegmentID=make_segment(t.engine, t.user, make_list(t.engine, t.user, "X")))),
    (CREATE, 11, lambda t: _create(t, SegmentID=999999)),
    (CREATE, 11, lambda t: _create(t, SegmentID="-1")),
    (CREATE, 13, lambda t: _create(t, SubscriberListID=make_list(t.engine, t.other, "T"))),
    (CREATE, 13, lambda t: _create(t, SubscriberListID="abc")),
    (CREATE, 14, lambda t: _create(t, AutoResponderTriggerType="OnSubscriberLinkClick",
                                   AutoResponderTriggerValue="javascript:alert(1)")),
    (CREATE, 14, lambda t: _create(t, AutoResponderTriggerType="OnSubscriberLinkClick", AutoResponderTriggerValue=URL,
                                   AutoResponderTriggerValue2="999999")),
    (CREATE, 14, lambda t: _create(t, AutoResponderTriggerType="OnSubscriberCampaignOpen",
                                   AutoResponderTriggerValue=t.api("Campaign.Create", t.other.session,
                                                                   CampaignName="T")["CampaignID"])),
    (CREATE, 14, lambda t: _create(t, AutoResponderTriggerType="OnSubscriberDate",
                                   AutoResponderTriggerValue=t.shop.nickname)),
    (CREATE, 14, lambda t: _create(t, AutoResponderTriggerType="OnSubscriberDate",
                                   AutoResponderTriggerValue=t.shop.birthday, AutoResponderTriggerValue2="Yearly-400")),
    (CREATE, 14, lambda t: _create(t, AutoResponderTriggerType="OnSubscriberDate",
                                   AutoResponderTriggerValue=t.shop.birthday, AutoResponderTriggerValue2="monthly")),
    (CREATE, 15, lambda t: _create(t, Repeat="P2D")),
    (CREATE, 15, lambda t: _create(t, Repeat="R0/P1D")),
    (CREATE, 15, lambda t: _create(t, Repeat="R2/P121M")),
    (CREATE, 16, lambda t: _create(t, AutoResponderName="x" * 256)),
    (CREATE, 16, lambda t: _create(t, TriggerTimeType="Months later", TriggerTime=121)),
    (CREATE, 16, lambda t: _create(t, TriggerTimeType="Days later", TriggerTime=0)),
    (CREATE, 16, lambda t: _create(t, TriggerTimeType="Days later", TriggerTime="soon")),
    (UPDATE, "autoresponderid", lambda t: dict(AutoResponderName="x")),
    (UPDATE, "autorespondertriggervalue", lambda t: _upd(t, AutoResponderTriggerType="OnSubscriberLinkClick")),
    (UPDATE, "triggertime", lambda t: _upd(t, TriggerTimeType="Days later")),
    (UPDATE, 5, lambda t: dict(AutoResponderID=999999, AutoResponderName="x")),
    (UPDATE, 5, lambda t: dict(AutoResponderID="abc")),
    (UPDATE, 5, lambda t: dict(AutoResponderID=_theirs(t), AutoResponderName="x")),
    (UPDATE, 7, lambda t: _upd(t, AutoResponderTriggerType="OnSubscriberCampaignConversion",
                               AutoResponderTriggerValue="1")),
    (UPDATE, 7, lambda t: _upd(t, AutoResponderTriggerType="Whenever")),
    (UPDATE, 8, lambda t: _upd(t, TriggerTimeType="Eventually", TriggerTime=1)),
    (UPDATE, 9, lambda t: _upd(t, EmailID=make_email(t.engine, t.other))),
    (UPDATE, 10, lambda t: _upd(t, Status="On")),
    (UPDATE, 11, lambda t: _upd(t, SegmentID=make_segment(t.engine, t.other, make_list(t.engine, t.other, "T")))),
    (UPDATE, 13, lambda t: _upd(t, SubscriberListID=make_list(t.engine, t.other, "T"))),
    (UPDATE, 14, lambda t: _upd(t, AutoResponderTriggerType="OnSubscriberCampaignOpen", AutoResponderTriggerValue="x")),
    (UPDATE, 15, lambda t: _upd(t, Repeat="R2/P1Y")),
    (UPDATE, 16, lambda t: _upd(t, AutoResponderName="   ")),
    (UPDATE, 16, lambda t: _upd(t, TriggerTime=3)),  # a delay needs a TriggerTimeType other than Immediately
    (GET, "autoresponderid", lambda t: {}),
    (GET, 2, lambda t: dict(AutoResponderID=999999)),
    (GET, 2, lambda t: dict(AutoResponderID="x")),
    (GET, 2, lambda t: dict(AutoResponderID=_theirs(t))),
    (GETS, "subscriberlistid", lambda t: {}),
    (GETS, "subscriberlistid", lambda t: dict(SubscriberListID="abc")),
    (GETS, "subscriberlistid", lambda t: dict(SubscriberListID=make_list(t.engine, t.other, "T"))),
    (DELETE, "autoresponders", lambda t: {}),
    (DELETE, "autoresponders", lambda t: dict(AutoResponders="1,x")),
    (DELETE, "autoresponders", lambda t: dict(AutoResponders=str(_theirs(t)))),
    (COPY, "sourcelistid", lambda t: dict(TargetListID=t.shop.list_id)),
    (COPY, "targetlistid", lambda t: dict(SourceListID=t.shop.list_id)),
    (COPY, 4, lambda t: dict(SourceListID=make_list(t.engine, t.other, "T"), TargetListID=t.shop.list_id)),
    (COPY, 4, lambda t: dict(SourceListID=t.shop.list_id, TargetListID=make_list(t.engine, t.other, "T"))),
    (COPY, 4, lambda t: dict(SourceListID="abc", TargetListID=t.shop.list_id)),
    (COPY, 5, lambda t: dict(SourceListID=t.shop.list_id, TargetListID=t.shop.list_id, TargetAutoResponderID=_theirs(t))),
    (COPY, 6, lambda t: dict(SourceListID=t.shop.list_id, TargetListID=t.shop.list_id, Prefix="p" * 256)),
    (DUP, 1, lambda t: {}),
    (DUP, 2, lambda t: dict(AutoResponderID=_theirs(t))),
    (DUP, 2, lambda t: dict(AutoResponderID="x")),
    (DUP, 3, lambda t: dict(AutoResponderID=_mine(t), TargetListID=make_list(t.engine, t.other, "T"))),
    (DUP, 6, lambda t: dict(AutoResponderID=_mine(t), NamePrefix="p" * 256)),
]


@pytest.mark.parametrize("command,code,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _) in enumerate(ERROR_CASES)])
def test_documented_code(api, user, other_user, engine, shop, command, code, params):
    t = SimpleNamespace(api=api, user=user, other=other_user, engine=engine, shop=shop)
    prepared = params(t)
    before = rows(engine)
    with engine.uow() as uow:
        emails_before = uow.session.scalars(select(Email.id).order_by(Email.id)).all()
    answer = api(command, user.session, **prepared)
    assert answer["Success"] is False and answer["ErrorCode"][0] == code, answer
    assert len(answer["ErrorText"]) == len(answer["ErrorCode"]), answer
    assert rows(engine) == before  # a refused command changes nothing
    with engine.uow() as uow:
        assert uow.session.scalars(select(Email.id).order_by(Email.id)).all() == emails_before


def test_every_documented_code_has_a_case():
    for command in autoresponders.COMMANDS:
        wire = {command.error_keys.get(code, code) for code in command.errors}
        covered = {code for name, code, _ in ERROR_CASES if name == command.name}
        never = {command.error_keys.get(c, c) for c in NEVER_EMITTED.get(command.name, ())}
        assert covered == wire - never, command.name


ALL = [c.name for c in autoresponders.COMMANDS + autoresponder_reports.COMMANDS]
ANY_PARAMS = dict(AutoResponderID=1, SubscriberListID=1, AutoResponderName="x", AutoResponderTriggerType="OnSubscription",
                  EmailID=1, TriggerTimeType="Immediately", AutoResponders="1", SourceListID=1, TargetListID=1,
                  Recipients="a@example.com")


@pytest.mark.parametrize("command", ALL)
def test_credentials_are_required(api, command):
    assert api(command, **ANY_PARAMS)["ErrorCode"] == 99998


@pytest.mark.parametrize("command", ALL)
def test_each_command_needs_its_permission(api, engine, command):
    needed = COMMANDS[command.lower()].required_permission
    assert needed.startswith(("AutoResponder.", "AutoResponders."))
    everything_else = ["AutoResponder.Create", "AutoResponder.Get", "AutoResponder.Update", "AutoResponders.Get",
                       "AutoResponders.Delete"]
    with engine.uow() as uow:
        group = UserGroup(name="Partial", permissions=",".join(p for p in everything_else if p != needed),
                          created_at=uow.clock())
        uow.session.add(group)
        uow.commit()
        group_id = group.id
    partial = make_user(engine, api, "partial", group_id=group_id)
    assert api(command, partial.session, **ANY_PARAMS)["ErrorCode"] == 99999
