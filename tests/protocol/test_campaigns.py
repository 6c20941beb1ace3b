"""The campaign chapter through HTTP: every documented error code, and the stored state of every success."""
from __future__ import annotations

import json

import pytest

from tests.builders import load_campaign, make_email, make_list, make_segment, set_campaign
from tests.helpers import stored_state


@pytest.fixture
def campaign(api, user):
    answer = api("Campaign.Create", user.session, CampaignName="Summer Sale")
    assert answer["Success"] is True
    return answer["CampaignID"]


def ready_setup(engine, api, user, campaign_id, **extra):
    """Everything a campaign needs to become Ready."""
    list_id = make_list(engine, user)
    email_id = make_email(engine, user)
    params = dict(CampaignID=campaign_id, RelEmailID=email_id, RecipientListsAndSegments=f"{list_id}:0",
                  ScheduleType="Immediate", CampaignStatus="Ready")
    params.update(extra)
    return api("Campaign.Update", user.session, **params)


# --- Campaign.Create ------------------------------------------------------------------------
def test_create_returns_integer_id_and_stores_a_draft(api, user, engine):
    answer = api("Campaign.Create", user.session, CampaignName="Summer Sale")
    assert answer == {"Success": True, "ErrorCode": 0, "CampaignID": answer["CampaignID"]}
    assert isinstance(answer["CampaignID"], int)
    stored = load_campaign(engine, answer["CampaignID"])
    assert (stored.name, stored.status, stored.schedule_type, stored.owner_user_id) == \
        ("Summer Sale", "Draft", "Not Scheduled", user.id)


@pytest.mark.parametrize("name", [None, "", "   "])
def test_create_without_name_is_error_1(api, user, engine, name):
    params = {} if name is None else {"CampaignName": name}
    before = stored_state(engine)
    answer = api("Campaign.Create", user.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == 1
    assert stored_state(engine) == before


# --- Campaign.Get ---------------------------------------------------------------------------
def test_get_returns_the_campaign_with_zero_statistics_and_throughput(api, user, campaign):
    answer = api("Campaign.Get", user.session, campaignid=campaign, retrievestatistics="true",
                 retrievetags="true")
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    c = answer["Campaign"]
    assert c["CampaignID"] == campaign and c["CampaignName"] == "Summer Sale"
    assert c["CampaignStatus"] == "Draft" and c["ScheduleType"] == "Not Scheduled"
    assert c["TotalSent"] == 0 and c["HardBounceRatio"] == "0.00" and c["SoftBounceRatio"] == "0.00"
    assert c["Statistics"]["OpenStatistics"]["UniqueOpens"] == 0
    assert c["Tags"] == []
    assert answer["CampaignThroughput"] == {"EmailsPerSecond": 0.0, "Duration": 0}


def test_get_without_statistics_flag_leaves_the_block_out(api, user, campaign):
    c = api("Campaign.Get", user.session, CampaignID=campaign, RetrieveStatistics="0")["Campaign"]
    assert "Statistics" not in c and "Tags" not in c


def test_get_ratios_come_from_the_counters(api, user, campaign, engine):
    set_campaign(engine, campaign, total_sent=10000, total_hard_bounces=100, total_soft_bounces=50)
    c = api("Campaign.Get", user.session, CampaignID=campaign)["Campaign"]
    assert (c["HardBounceRatio"], c["SoftBounceRatio"]) == ("1.00", "0.50")


def test_get_missing_id_is_1(api, user):
    answer = api("Campaign.Get", user.session)
    assert answer == {"Success": False, "ErrorCode": 1,
                      "ErrorMessage": answer["ErrorMessage"]}
    assert "campaignid" in answer["ErrorMessage"].lower()


def test_get_non_numeric_id_is_2(api, user):
    assert api("Campaign.Get", user.session, CampaignID="abc")["ErrorCode"] == 2


def test_get_unknown_or_foreign_campaign_is_3_and_shows_nothing(api, user, other_user, campaign):
    for session, campaign_id in ((user.session, 999999), (other_user.session, campaign)):
        answer = api("Campaign.Get", session, CampaignID=campaign_id)
        assert answer["Success"] is False and answer["ErrorCode"] == 3
        assert "Campaign" not in answer


# --- Campaign.Update ------------------------------------------------------------------------
def test_update_renames_and_schedules_partially(api, user, engine, campaign):
    assert api("Campaign.Update", user.session, CampaignID=campaign, CampaignName="Winter")["Success"]
    assert api("Campaign.Update", user.session, CampaignID=campaign, ScheduleType="Future",
               SendDate="2026-12-24", SendTime="09:30", SendTimeZone="Europe/Berlin")["Success"]
    stored = load_campaign(engine, campaign)
    assert stored.name == "Winter"
    assert (stored.schedule_type, str(stored.send_date), stored.send_time, stored.send_timezone) == \
        ("Future", "2026-12-24", "09:30:00", "Europe/Berlin")
    assert stored.status == "Draft"  # ScheduleType alone does not arm a campaign (Part 1 §5)


def test_update_to_ready_with_everything_needed(api, user, engine, campaign):
    answer = ready_setup(engine, api, user, campaign)
    assert answer == {"Success": True, "ErrorCode": 0}
    stored = load_campaign(engine, campaign)
    assert stored.status == "Ready" and stored.schedule_type == "Immediate"
    assert [(r.segment_id, r.excluded) for r in stored.recipients] == [(0, False)]


def test_untrusted_owner_is_held_for_approval_and_admin_approves(api, engine, admin, campaign, user):
    from engine.models import User
    with engine.uow() as uow:
        uow.session.get(User, user.id).reputation_level = "Untrusted"
        uow.commit()
    assert ready_setup(engine, api, user, campaign)["Success"] is True
    assert load_campaign(engine, campaign).status == "Pending Approval"
    # The untrusted owner cannot approve their own campaign.
    assert api("Campaign.Approve", user.session, CampaignID=campaign)["ErrorCode"] == 99999
    assert load_campaign(engine, campaign).status == "Pending Approval"
    assert api("Campaign.Approve", admin.session, CampaignID=campaign) == {"Success": True, "ErrorCode": 0}
    assert load_campaign(engine, campaign).status == "Ready"


def test_arming_content_with_unknown_tags_is_32_naming_them_and_changes_nothing(api, user, engine, campaign):
    from engine.models import CustomField
    with engine.uow() as uow:
        uow.session.add(CustomField(owner_user_id=user.id, name="City", merge_tag_alias="City"))
        uow.commit()
    email_id = make_email(engine, user, subject="Hello %Subscriber:FirstNmae%",
                          html_content="<p>From %Subscriber:City% — %RemoteContent=https://x.example/%</p>")
    list_id = make_list(engine, user)
    arm = dict(CampaignID=campaign, RelEmailID=email_id, RecipientListsAndSegments=f"{list_id}:0",
               ScheduleType="Immediate", CampaignStatus="Ready")
    answer = api("Campaign.Update", user.session, **arm)
    assert (answer["Success"], answer["ErrorCode"]) == (False, 32)
    assert answer["UnknownTags"] == ["%Subscriber:FirstNmae%", "%RemoteContent=https://x.example/%"]
    assert answer["ErrorText"].startswith("The email content has personalisation tags that cannot be filled in")
    assert "%Subscriber:FirstNmae%" in answer["ErrorText"] and "%Subscriber:City%" not in answer["ErrorText"]
    stored = load_campaign(engine, campaign)      # nothing of the refused call was kept
    assert (stored.status, stored.email_id, stored.schedule_type, stored.recipients) == \
        ("Draft", None, "Not Scheduled", [])

    answer = api("Campaign.Update", user.session, IgnoreUnknownTags="true", **arm)
    assert answer == {"Success": True, "ErrorCode": 0}
    assert load_campaign(engine, campaign).status == "Ready"


def test_known_tags_arm_without_the_flag(api, user, engine, campaign):
    assert ready_setup(engine, api, user, campaign,
                       RelEmailID=make_email(engine, user, subject="Hi %Subscriber:EmailAddress%",
                                             html_content='<a href="%Link:Unsubscribe%">Leave</a>'))["Success"]
    assert load_campaign(engine, campaign).status == "Ready"


def test_update_recurring_schedule_stores_every_field(api, user, engine, campaign):
    answer = api("Campaign.Update", user.session, CampaignID=campaign, ScheduleType="Recursive",
                 ScheduleRecDaysOfWeek="1, 3,5", ScheduleRecMonths="0", ScheduleRecHours="0,12",
                 ScheduleRecMinutes="0,30", ScheduleRecSendMaxInstance="0",
                 SendTimeZone="(GMT-03:00) Brasilia")
    assert answer["Success"] is True, answer
    c = load_campaign(engine, campaign)
    assert (c.schedule_rec_days_of_week, c.schedule_rec_months, c.schedule_rec_hours,
            c.schedule_rec_minutes, c.schedule_rec_send_max_instance, c.send_timezone) == \
        ("1,3,5", "0", "0,12", "0,30", 0, "(GMT-03:00) Brasilia")


def test_update_legacy_client_sends_every_field_with_empty_irrelevant_ones(api, user, engine, campaign):
    # OemproConnect-style: empty strings for what does not apply must not trigger validation.
    answer = api("Campaign.Update", user.session, CampaignID=campaign, CampaignName="x",
                 ScheduleType="Not Scheduled", SendDate="", SendTime="", SendTimeZone="",
                 ScheduleRecDaysOfWeek="", ScheduleRecDaysOfMonth="", ScheduleRecMonths="",
                 ScheduleRecHours="", ScheduleRecMinutes="", ScheduleRecSendMaxInstance="0",
                 Recipients="1", SendDateAndTime="", PublishOnRSS="Disabled", RelEmailID="0")
    assert answer["Success"] is True, answer
    stored = load_campaign(engine, campaign)
    assert (stored.name, stored.schedule_type, stored.send_date, stored.email_id) == ("x", "Not Scheduled", None, None)


def test_update_bundle_overrides_lists(api, user, engine, campaign):
    list_a, list_b = make_list(engine, user, "A"), make_list(engine, user, "B")
    bundle = {"operator": "or", "criteria": [
        {"list_id": list_a, "operator": "and", "rules": [
            {"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "user1"}]},
        {"list_id": list_b, "operator": "or", "rules": [
            {"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "@gmail"}]}]}
    answer = api("Campaign.Update", user.session, CampaignID=campaign, RulesJsonBundle=json.dumps(bundle),
                 RecipientListsAndSegments=f"{list_a}:0")
    assert answer["Success"] is True, answer
    c = load_campaign(engine, campaign)
    assert json.loads(c.rules_json_bundle)["criteria"][0]["list_id"] == list_a
    assert c.recipients == []  # ignored when a bundle is given


def test_update_exclusions_and_segments(api, user, engine, campaign):
    list_a, list_b = make_list(engine, user, "A"), make_list(engine, user, "B")
    segment = make_segment(engine, user, list_a)
    answer = api("Campaign.Update", user.session, CampaignID=campaign,
                 RecipientListsAndSegments=f"{list_a}:{segment}, {list_b}",
                 Exclude_RecipientListsAndSegments=f"{list_b}:0")
    assert answer["Success"] is True, answer
    c = api("Campaign.Get", user.session, CampaignID=campaign)["Campaign"]
    assert c["RecipientListsAndSegments"] == f"{list_a}:{segment},{list_b}:0"
    assert c["Exclude_RecipientListsAndSegments"] == f"{list_b}:0"


def test_update_missing_id_is_1(api, user, engine, campaign):
    before = stored_state(engine)
    assert api("Campaign.Update", user.session, CampaignName="x")["ErrorCode"] == 1
    assert stored_state(engine) == before


def test_update_foreign_campaign_is_2_and_changes_nothing(api, user, other_user, engine, campaign):
    before = stored_state(engine)
    answer = api("Campaign.Update", other_user.session, CampaignID=campaign, CampaignName="stolen")
    assert answer == {"Success": False, "ErrorCode": 2, "ErrorText": answer["ErrorText"]}
    assert load_campaign(engine, campaign).name == "Summer Sale" and stored_state(engine) == before


@pytest.mark.parametrize("status", ["Bogus", "Sending", "Sent", "Failed", "Pending Approval", "Paused"])
def test_update_invalid_or_system_only_status_is_3(api, user, engine, campaign, status):
    before = stored_state(engine)
    answer = api("Campaign.Update", user.session, CampaignID=campaign, CampaignStatus=status,
                 CampaignName="renamed")
    assert answer["ErrorCode"] == 3
    stored = load_campaign(engine, campaign)
    assert (stored.status, stored.name) == ("Draft", "Summer Sale")  # nothing half-written
    assert stored_state(engine) == before


def test_update_ready_without_content_is_3(api, user, engine, campaign):
    list_id = make_list(engine, user)
    before = stored_state(engine)
    answer = api("Campaign.Update", user.session, CampaignID=campaign, CampaignStatus="Ready",
                 ScheduleType="Immediate", RecipientListsAndSegments=f"{list_id}:0")
    assert answer["ErrorCode"] == 3 and "RelEmailID" in answer["ErrorText"]
    assert load_campaign(engine, campaign).status == "Draft"
    assert stored_state(engine) == before  # neither the schedule nor the lists were half-written


def test_update_sent_campaign_content_is_locked(api, user, engine, campaign):
    set_campaign(engine, campaign, status="Sent")
    email_id = make_email(engine, user)
    before = stored_state(engine)
    assert api("Campaign.Update", user.session, CampaignID=campaign, RelEmailID=email_id)["ErrorCode"] == 3
    assert api("Campaign.Update", user.session, CampaignID=campaign, RelEmailID=email_id,
               CampaignName="half-written")["ErrorCode"] == 3
    assert stored_state(engine) == before
    # …but the name can always change (README, Campaign.Update), and the rename is stored.
    assert api("Campaign.Update", user.session, CampaignID=campaign, CampaignName="archived")["Success"]
    stored = load_campaign(engine, campaign)
    assert (stored.name, stored.status, stored.email_id) == ("archived", "Sent", None)
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Campaign"]["CampaignName"] == "archived"


def test_update_foreign_email_is_4(api, user, other_user, engine, campaign):
    foreign_email = make_email(engine, other_user)
    before = stored_state(engine)
    assert api("Campaign.Update", user.session, CampaignID=campaign, RelEmailID=foreign_email)["ErrorCode"] == 4
    assert api("Campaign.Update", user.session, CampaignID=campaign, RelEmailID="x")["ErrorCode"] == 4
    assert load_campaign(engine, campaign).email_id is None and stored_state(engine) == before


def test_update_invalid_schedule_type_is_5(api, user, engine, campaign):
    before = stored_state(engine)
    assert api("Campaign.Update", user.session, CampaignID=campaign, ScheduleType="Sometimes")["ErrorCode"] == 5
    assert stored_state(engine) == before


@pytest.mark.parametrize("params,code", [
    ({}, 6),
    ({"SendDate": "2026-02-30"}, 6),
    ({"SendDate": "0000-00-00"}, 6),
    ({"SendDate": "2026-12-24"}, 7),
    ({"SendDate": "2026-12-24", "SendTime": "25:00"}, 7),
    ({"SendDate": "2026-12-24", "SendTime": "10:00"}, 13),
    ({"SendDate": "2026-12-24", "SendTime": "10:00", "SendTimeZone": "Mars/Olympus"}, 13),
])
def test_update_future_schedule_codes(api, user, engine, campaign, params, code):
    before = stored_state(engine)
    answer = api("Campaign.Update", user.session, CampaignID=campaign, ScheduleType="Future", **params)
    assert answer["ErrorCode"] == code, answer
    assert load_campaign(engine, campaign).schedule_type == "Not Scheduled" and stored_state(engine) == before


RECURRING = dict(ScheduleRecDaysOfWeek="1", ScheduleRecMonths="0", ScheduleRecHours="9",
                 ScheduleRecMinutes="0", ScheduleRecSendMaxInstance="3", SendTimeZone="UTC")


@pytest.mark.parametrize("drop,bad,code", [
    ("ScheduleRecDaysOfWeek", None, 8),
    (None, {"ScheduleRecDaysOfWeek": "8"}, 8),
    (None, {"ScheduleRecDaysOfMonth": "32"}, 8),
    ("ScheduleRecMonths", None, 9),
    (None, {"ScheduleRecMonths": "13"}, 9),
    ("ScheduleRecHours", None, 10),
    (None, {"ScheduleRecHours": "24"}, 10),
    ("ScheduleRecMinutes", None, 11),
    (None, {"ScheduleRecMinutes": "x"}, 11),
    ("ScheduleRecSendMaxInstance", None, 12),
    (None, {"ScheduleRecSendMaxInstance": "-1"}, 12),
    ("SendTimeZone", None, 13),
])
def test_update_recursive_schedule_codes(api, user, engine, campaign, drop, bad, code):
    params = {k: v for k, v in RECURRING.items() if k != drop}
    params.update(bad or {})
    before = stored_state(engine)
    answer = api("Campaign.Update", user.session, CampaignID=campaign, ScheduleType="Recursive", **params)
    assert answer["ErrorCode"] == code, answer
    assert load_campaign(engine, campaign).schedule_type == "Not Scheduled" and stored_state(engine) == before


def test_update_days_of_month_alone_satisfy_code_8(api, user, engine, campaign):
    params = {k: v for k, v in RECURRING.items() if k != "ScheduleRecDaysOfWeek"}
    answer = api("Campaign.Update", user.session, CampaignID=campaign, ScheduleType="Recursive",
                 ScheduleRecDaysOfMonth="1,15", **params)
    assert answer["Success"] is True, answer
    stored = load_campaign(engine, campaign)
    assert (stored.schedule_type, stored.schedule_rec_days_of_month, stored.schedule_rec_days_of_week) == \
        ("Recursive", "1,15", "")


def test_update_foreign_or_unknown_list_is_28(api, user, other_user, engine, campaign):
    foreign = make_list(engine, other_user)
    before = stored_state(engine)
    for value in (f"{foreign}:0", "999999:0", "abc"):
        answer = api("Campaign.Update", user.session, CampaignID=campaign, RecipientListsAndSegments=value)
        assert answer["ErrorCode"] == 28, (value, answer)
    assert stored_state(engine) == before
    own = make_list(engine, user)
    other_list = make_list(engine, user, "other")
    segment_of_other_list = make_segment(engine, user, other_list)
    answer = api("Campaign.Update", user.session, CampaignID=campaign,
                 RecipientListsAndSegments=f"{own}:{segment_of_other_list}")
    assert answer["ErrorCode"] == 28
    assert load_campaign(engine, campaign).recipients == []


@pytest.mark.parametrize("bundle", ["{not json", "[]", '{"operator":"xor","criteria":[]}',
                                    '{"operator":"or","criteria":[{"list_id":"x","rules":[]}]}'])
def test_update_malformed_bundle_is_29(api, user, engine, campaign, bundle):
    before = stored_state(engine)
    assert api("Campaign.Update", user.session, CampaignID=campaign, RulesJsonBundle=bundle)["ErrorCode"] == 29
    assert stored_state(engine) == before


def test_update_too_long_name_is_30(api, user, engine, campaign):
    before = stored_state(engine)
    assert api("Campaign.Update", user.session, CampaignID=campaign, CampaignName="x" * 256)["ErrorCode"] == 30
    assert load_campaign(engine, campaign).name == "Summer Sale" and stored_state(engine) == before


# --- Campaign.Approve -------------------------------------------------------------------------
def test_approve_codes(api, user, other_user, engine, campaign):
    set_campaign(engine, campaign, status="Pending Approval")
    before = stored_state(engine)
    assert api("Campaign.Approve", user.session)["ErrorCode"] == 1
    assert api("Campaign.Approve", user.session, CampaignID=999999)["ErrorCode"] == 2
    assert api("Campaign.Approve", other_user.session, CampaignID=campaign)["ErrorCode"] == 2
    assert load_campaign(engine, campaign).status == "Pending Approval" and stored_state(engine) == before


def test_approve_a_draft_changes_nothing(api, user, engine, campaign):
    assert api("Campaign.Approve", user.session, CampaignID=campaign)["Success"] is True
    assert load_campaign(engine, campaign).status == "Draft"


# --- Campaign.Pause / Resume ------------------------------------------------------------------
def test_pause_and_resume_a_sending_campaign(api, user, engine, campaign):
    set_campaign(engine, campaign, status="Sending")
    assert api("Campaign.Pause", user.session, CampaignID=campaign) == {"Success": True, "ErrorCode": 0}
    assert load_campaign(engine, campaign).status == "Paused"
    assert api("Campaign.Resume", user.session, CampaignID=campaign) == {"Success": True, "ErrorCode": 0}
    assert load_campaign(engine, campaign).status == "Sending"


@pytest.mark.parametrize("command,wrong_status", [("Campaign.Pause", "Draft"), ("Campaign.Pause", "Ready"),
                                                  ("Campaign.Resume", "Sending"), ("Campaign.Resume", "Draft")])
def test_pause_resume_wrong_state_is_3(api, user, engine, campaign, command, wrong_status):
    set_campaign(engine, campaign, status=wrong_status)
    before = stored_state(engine)
    answer = api(command, user.session, CampaignID=campaign)
    assert answer["Success"] is False and answer["ErrorCode"] == 3
    assert load_campaign(engine, campaign).status == wrong_status and stored_state(engine) == before


@pytest.mark.parametrize("command", ["Campaign.Pause", "Campaign.Resume"])
def test_pause_resume_missing_and_foreign(api, user, other_user, engine, campaign, command):
    set_campaign(engine, campaign, status="Sending" if command == "Campaign.Pause" else "Paused")
    before = stored_state(engine)
    assert api(command, user.session)["ErrorCode"] == 1
    assert api(command, other_user.session, CampaignID=campaign)["ErrorCode"] == 2
    assert stored_state(engine) == before


# --- Campaign.Cancel ----------------------------------------------------------------------------
def test_cancel_unsent_ready_campaign_goes_back_to_draft(api, user, engine, campaign):
    ready_setup(engine, api, user, campaign)
    assert api("Campaign.Cancel", user.session, CampaignID=campaign) == {"Success": True, "ErrorCode": 0}
    stored = load_campaign(engine, campaign)
    assert (stored.status, stored.schedule_type) == ("Draft", "Not Scheduled")


def test_cancel_partly_sent_campaign_is_sent_canceled(api, user, engine, campaign):
    set_campaign(engine, campaign, status="Sending", total_sent=5)
    assert api("Campaign.Cancel", user.session, CampaignID=campaign)["Success"] is True
    stored = load_campaign(engine, campaign)
    assert (stored.status, stored.status_reason) == ("Sent", "Canceled")


def test_cancel_codes(api, user, other_user, engine, campaign):
    ready_setup(engine, api, user, campaign)
    before = stored_state(engine)
    assert api("Campaign.Cancel", user.session)["ErrorCode"] == 1
    assert api("Campaign.Cancel", other_user.session, CampaignID=campaign)["ErrorCode"] == 2
    assert api("Campaign.Cancel", user.session, CampaignID=424242)["ErrorCode"] == 2
    assert load_campaign(engine, campaign).status == "Ready" and stored_state(engine) == before


# --- Campaign.Copy --------------------------------------------------------------------------------
def test_copy_is_a_draft_without_schedule_with_own_email(api, user, engine, campaign):
    ready_setup(engine, api, user, campaign, ScheduleType="Future", SendDate="2027-01-01", SendTime="10:00",
                SendTimeZone="UTC")
    answer = api("Campaign.Copy", user.session, CampaignID=campaign)
    assert answer["Success"] is True and isinstance(answer["NewCampaignID"], str)
    original, copy = load_campaign(engine, campaign), load_campaign(engine, int(answer["NewCampaignID"]))
    assert (copy.status, copy.schedule_type, copy.send_date) == ("Draft", "Not Scheduled", None)
    assert copy.email_id not in (None, original.email_id)
    assert [(r.list_id, r.segment_id) for r in copy.recipients] == \
        [(r.list_id, r.segment_id) for r in original.recipients]
    assert original.status == "Ready"


def test_copy_invalid_source_is_list_shaped_1(api, user, other_user, engine, campaign):
    before = stored_state(engine)
    for params, session in (({}, user.session), ({"CampaignID": 999999}, user.session),
                            ({"CampaignID": campaign}, other_user.session)):
        answer = api("Campaign.Copy", session, **params)
        assert answer["Success"] is False and answer["ErrorCode"] == [1]
        assert len(answer["ErrorText"]) == 1 and answer["ErrorText"][0].startswith("Invalid source campaign")
    assert stored_state(engine) == before


# --- Campaigns.Delete ----------------------------------------------------------------------------
def test_delete_several(api, user, engine, campaign):
    second = api("Campaign.Create", user.session, CampaignName="two")["CampaignID"]
    answer = api("Campaigns.Delete", user.session, Campaigns=f"{campaign},{second}")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    assert load_campaign(engine, campaign) is None and load_campaign(engine, second) is None


@pytest.mark.parametrize("value", [None, "abc", "1,x", "0"])
def test_delete_missing_or_invalid_is_keyed_1(api, user, engine, campaign, value):
    params = {} if value is None else {"Campaigns": value}
    if value == "1,x":
        params["Campaigns"] = f"{campaign},x"
    before = stored_state(engine)
    answer = api("Campaigns.Delete", user.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == {"campaigns": 1}
    assert load_campaign(engine, campaign) is not None and stored_state(engine) == before


def test_delete_foreign_campaign_deletes_nothing(api, user, other_user, engine, campaign):
    own = api("Campaign.Create", other_user.session, CampaignName="mine")["CampaignID"]
    before = stored_state(engine)
    answer = api("Campaigns.Delete", other_user.session, Campaigns=f"{own},{campaign}")
    assert answer["ErrorCode"] == {"campaigns": 1}
    assert load_campaign(engine, campaign) is not None and load_campaign(engine, own) is not None
    assert stored_state(engine) == before


# --- Campaigns.Get --------------------------------------------------------------------------------
def _names(answer):
    return [c["CampaignName"] for c in answer["Campaigns"]]


def test_list_filters_orders_and_pages(api, user, other_user, engine):
    ids = {}
    for name in ("Bravo", "alpha", "Charlie", "Delta sale"):
        ids[name] = api("Campaign.Create", user.session, CampaignName=name)["CampaignID"]
    api("Campaign.Create", other_user.session, CampaignName="Not yours")
    set_campaign(engine, ids["Charlie"], status="Sent")
    set_campaign(engine, ids["Delta sale"], status="Ready", schedule_type="Future")

    everything = api("Campaigns.Get", user.session)
    assert everything["TotalCampaigns"] == 4 and everything["ErrorText"] == ""
    assert isinstance(everything["Campaigns"][0]["CampaignID"], str)

    by_name = api("Campaigns.Get", user.session, OrderField="CampaignName", OrderType="ASC")
    assert [n.lower() for n in _names(by_name)] == ["alpha", "bravo", "charlie", "delta sale"]

    page = api("Campaigns.Get", user.session, OrderField="CampaignName", OrderType="ASC",
               RecordsFrom=1, RecordsPerRequest=2)
    assert [n.lower() for n in _names(page)] == ["bravo", "charlie"] and page["TotalCampaigns"] == 4

    assert _names(api("Campaigns.Get", user.session, CampaignStatus="Sent")) == ["Charlie"]
    assert _names(api("Campaigns.Get", user.session, CampaignStatus="scheduled")) == ["Delta sale"]
    assert _names(api("Campaigns.Get", user.session, Status="Sent")) == ["Charlie"]
    assert len(_names(api("Campaigns.Get", user.session, CampaignStatus="Draft"))) == 2
    assert _names(api("Campaigns.Get", user.session, SearchKeyword="SALE")) == ["Delta sale"]
    assert _names(api("Campaigns.Get", user.session, SearchKeyword="%")) == []  # not a wildcard
    desc = _names(api("Campaigns.Get", user.session, OrderField="sort-by-status", OrderType="ASC"))
    assert desc[0] == "Charlie"  # sort-by-status is always descending: Sent > Ready > Draft


def test_list_with_statistics_and_unknown_order_field_never_fails(api, user, campaign):
    answer = api("Campaigns.Get", user.session, RetrieveStatistics="yes", OrderField="nonsense; DROP TABLE x",
                 OrderType="sideways", RecordsPerRequest="lots")
    assert answer["Success"] is True and answer["TotalCampaigns"] == 1
    assert answer["Campaigns"][0]["Statistics"]["ClickStatistics"]["TotalClicks"] == 0


def test_list_empty_is_an_empty_list(api, user):
    answer = api("Campaigns.Get", user.session)
    assert answer["Campaigns"] == [] and answer["TotalCampaigns"] == 0


def test_update_bundle_with_unknown_rule_type_is_29_and_foreign_list_is_28(api, user, other_user, engine, campaign):
    own, foreign = make_list(engine, user, "A"), make_list(engine, other_user, "B")
    before = stored_state(engine)
    nonsense = {"operator": "or", "criteria": [{"list_id": own, "operator": "and",
                                                "rules": [{"type": "nonsense", "field_id": "x"}]}]}
    assert api("Campaign.Update", user.session, CampaignID=campaign,
               RulesJsonBundle=json.dumps(nonsense))["ErrorCode"] == 29
    foreign_bundle = {"operator": "or", "criteria": [{"list_id": foreign, "operator": "and", "rules": [
        {"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "a"}]}]}
    assert api("Campaign.Update", user.session, CampaignID=campaign,
               RulesJsonBundle=json.dumps(foreign_bundle))["ErrorCode"] == 28
    assert load_campaign(engine, campaign).rules_json_bundle == "" and stored_state(engine) == before
