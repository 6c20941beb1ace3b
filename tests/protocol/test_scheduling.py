"""Scheduling commands through HTTP: Campaign.Schedule.Preview and the modern Campaign.Publish,
Campaign.Reschedule and Campaign.PauseScheduling; every code, and the stored state of every success.
The clock is the injected one: 2026-11-23 12:00 UTC."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from engine.models import Subscriber, User
from protocol.commands import scheduling as scheduling_commands
from protocol.registry import COMMANDS
from scheduler.tick import tick
from tests.builders import load_campaign, make_email, make_list, set_campaign
from tests.helpers import ApiCaller, stored_state

UTC = timezone.utc


@pytest.fixture
def api(client):
    """The shared caller, plus a check that every failure carries a code from the command's own table."""
    caller = ApiCaller(client)

    def call(command, session=None, **params):
        answer = caller(command, session, **params)
        if not answer["Success"]:
            table = COMMANDS[command.lower()].errors
            assert answer["ErrorCode"] in table or answer["ErrorCode"] in (99998, 99999), answer
        return answer
    return call


def draft(t, *, content: bool = True, **schedule) -> int:
    """A Draft campaign with email content and a list (unless content=False), plus any schedule fields."""
    cid = t.api("Campaign.Create", t.user.session, CampaignName="Weekly")["CampaignID"]
    params = dict(schedule)
    if content:
        params.update(RelEmailID=make_email(t.engine, t.user),
                      RecipientListsAndSegments=f"{make_list(t.engine, t.user)}:0")
    if params:
        answer = t.api("Campaign.Update", t.user.session, CampaignID=cid, **params)
        assert answer["Success"] is True, answer
    return cid


def _with_unknown_tags(t) -> int:
    cid = draft(t)
    assert t.api("Campaign.Update", t.user.session, CampaignID=cid,
                 RelEmailID=make_email(t.engine, t.user, subject="Hi %Subscriber:Nmae%"))["Success"]
    return cid


def test_publish_refuses_unknown_tags_unless_told_to_proceed(t):
    cid = _with_unknown_tags(t)
    answer = t.api("Campaign.Publish", t.user.session, CampaignID=cid)
    assert (answer["ErrorCode"], answer["UnknownTags"]) == (9, ["%Subscriber:Nmae%"])
    assert load_campaign(t.engine, cid).status == "Draft"
    assert t.api("Campaign.Publish", t.user.session, CampaignID=cid, IgnoreUnknownTags="1")["Success"] is True
    assert load_campaign(t.engine, cid).status == "Ready"


def ready_future(t, **extra) -> int:
    return draft(t, ScheduleType="Future", SendDate="2026-11-25", SendTime="09:00:00",
                 SendTimeZone="Europe/Berlin", CampaignStatus="Ready", **extra)


def weekly(t, **extra) -> int:
    return draft(t, ScheduleType="Recursive", ScheduleRecDaysOfWeek="1", ScheduleRecMonths="0",
                 ScheduleRecHours="9", ScheduleRecMinutes="0", ScheduleRecSendMaxInstance="0",
                 SendTimeZone="Europe/Berlin", **extra)


@pytest.fixture
def t(api, user, other_user, engine, clock):
    return SimpleNamespace(api=api, user=user, other_user=other_user, engine=engine, clock=clock)


# --- Campaign.Schedule.Preview ------------------------------------------------------------------------
def test_preview_lists_the_next_runs_in_the_campaign_zone_and_in_utc(t):
    cid = weekly(t)
    answer = t.api("Campaign.Schedule.Preview", t.user.session, CampaignID=cid, Count=3)
    assert answer == {"Success": True, "ErrorCode": 0, "TimeZone": "Europe/Berlin", "NextRuns": [
        {"Local": "2026-11-30 09:00:00", "UTC": "2026-11-30 08:00:00"},
        {"Local": "2026-12-07 09:00:00", "UTC": "2026-12-07 08:00:00"},
        {"Local": "2026-12-14 09:00:00", "UTC": "2026-12-14 08:00:00"},
    ]}
    assert len(t.api("Campaign.Schedule.Preview", t.user.session, CampaignID=cid)["NextRuns"]) == 10


def test_preview_respects_the_instances_left_of_a_series(t):
    cid = weekly(t)
    set_campaign(t.engine, cid, schedule_rec_send_max_instance=3, schedule_rec_sent_instances=2)
    runs = t.api("Campaign.Schedule.Preview", t.user.session, CampaignID=cid, Count=10)["NextRuns"]
    assert runs == [{"Local": "2026-11-30 09:00:00", "UTC": "2026-11-30 08:00:00"}]


def test_preview_of_one_off_and_unscheduled_campaigns(t):
    future = ready_future(t)
    assert t.api("Campaign.Schedule.Preview", t.user.session, CampaignID=future)["NextRuns"] == [
        {"Local": "2026-11-25 09:00:00", "UTC": "2026-11-25 08:00:00"}]
    unscheduled = draft(t)
    answer = t.api("Campaign.Schedule.Preview", t.user.session, CampaignID=unscheduled)
    assert (answer["TimeZone"], answer["NextRuns"]) == ("UTC", [])


def test_preview_of_a_legacy_label_zone_names_the_zone_it_resolved_to(t):
    cid = draft(t, ScheduleType="Future", SendDate="2026-11-25", SendTime="10:00",
                SendTimeZone="(GMT-03:00) Brasilia")
    answer = t.api("Campaign.Schedule.Preview", t.user.session, CampaignID=cid)
    assert answer["TimeZone"] == "America/Sao_Paulo"
    assert answer["NextRuns"] == [{"Local": "2026-11-25 10:00:00", "UTC": "2026-11-25 13:00:00"}]


# --- Campaign.Publish ----------------------------------------------------------------------------------
def test_publish_without_a_time_sends_on_the_next_tick(t):
    cid = draft(t)
    answer = t.api("Campaign.Publish", t.user.session, CampaignID=cid)
    assert answer == {"Success": True, "ErrorCode": 0, "CampaignStatus": "Ready", "ScheduleType": "Immediate",
                      "SendDate": "", "SendTime": "", "SendTimeZone": ""}
    summary = tick(t.engine)
    assert (summary.started, summary.finished) == (1, 1)  # the list is empty: nobody to wait for
    assert load_campaign(t.engine, cid).status == "Sent"


def test_publish_at_a_time_stores_it_in_the_campaign_zone(t):
    cid = draft(t, SendTimeZone="Europe/Berlin")
    answer = t.api("Campaign.Publish", t.user.session, CampaignID=cid, ScheduledAt="2026-11-24T14:43:00Z")
    assert answer["Success"] is True
    assert (answer["CampaignStatus"], answer["ScheduleType"], answer["SendDate"], answer["SendTime"],
            answer["SendTimeZone"]) == ("Ready", "Future", "2026-11-24", "15:43:00", "Europe/Berlin")
    tick(t.engine)
    assert load_campaign(t.engine, cid).next_send_at == datetime(2026, 11, 24, 14, 43, tzinfo=UTC)


def test_publish_at_a_time_with_a_legacy_zone_label_or_an_offset_is_exact(t):
    cid = draft(t, SendTimeZone="(GMT-03:00) Brasilia")
    answer = t.api("Campaign.Publish", t.user.session, CampaignID=cid, ScheduledAt="2026-11-24 09:00:00+02:00")
    assert (answer["SendDate"], answer["SendTime"], answer["SendTimeZone"]) == ("2026-11-24", "07:00:00", "UTC")
    stored = load_campaign(t.engine, cid)
    assert (stored.status, str(stored.send_date), stored.send_time, stored.send_timezone) == \
        ("Ready", "2026-11-24", "07:00:00", "UTC")


def test_publish_keeps_a_stored_recurring_schedule(t):
    cid = weekly(t)
    answer = t.api("Campaign.Publish", t.user.session, CampaignID=cid)
    assert (answer["CampaignStatus"], answer["ScheduleType"]) == ("Ready", "Recursive")
    tick(t.engine)
    assert load_campaign(t.engine, cid).next_send_at == datetime(2026, 11, 30, 8, tzinfo=UTC)


def test_publish_by_an_untrusted_account_waits_for_approval(t):
    with t.engine.uow() as uow:
        uow.session.get(User, t.user.id).reputation_level = "Untrusted"
        uow.commit()
    cid = draft(t)
    assert t.api("Campaign.Publish", t.user.session, CampaignID=cid)["CampaignStatus"] == "Pending Approval"
    assert load_campaign(t.engine, cid).status == "Pending Approval"
    assert tick(t.engine).started == 0


# --- Campaign.Reschedule ---------------------------------------------------------------------------------
def test_reschedule_moves_the_send_time_and_keeps_the_status(t):
    cid = ready_future(t)
    tick(t.engine)
    assert load_campaign(t.engine, cid).next_send_at == datetime(2026, 11, 25, 8, tzinfo=UTC)
    answer = t.api("Campaign.Reschedule", t.user.session, CampaignID=cid, SendAt="2026-11-26T08:30:00Z")
    assert answer == {"Success": True, "ErrorCode": 0, "CampaignStatus": "Ready", "ScheduleType": "Future",
                      "SendDate": "2026-11-26", "SendTime": "09:30:00", "SendTimeZone": "Europe/Berlin"}
    assert load_campaign(t.engine, cid).next_send_at is None  # recomputed by the next tick
    tick(t.engine)
    assert load_campaign(t.engine, cid).next_send_at == datetime(2026, 11, 26, 8, 30, tzinfo=UTC)


# --- Campaign.PauseScheduling --------------------------------------------------------------------------
def test_pause_scheduling_disarms_and_keeps_the_settings_then_publish_rearms(t):
    cid = ready_future(t)
    tick(t.engine)
    answer = t.api("Campaign.PauseScheduling", t.user.session, CampaignID=cid)
    assert answer == {"Success": True, "ErrorCode": 0, "CampaignStatus": "Draft", "ScheduleType": "Future",
                      "SendDate": "2026-11-25", "SendTime": "09:00:00", "SendTimeZone": "Europe/Berlin"}
    stored = load_campaign(t.engine, cid)
    assert (stored.status, stored.next_send_at) == ("Draft", None)
    t.clock.now = datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert tick(t.engine).started == 0

    t.clock.now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert t.api("Campaign.Publish", t.user.session, CampaignID=cid)["ScheduleType"] == "Future"
    tick(t.engine)
    assert load_campaign(t.engine, cid).next_send_at == datetime(2026, 11, 25, 8, tzinfo=UTC)


# --- every documented code --------------------------------------------------------------------------------
def _foreign(t) -> int:
    return t.api("Campaign.Create", t.other_user.session, CampaignName="Theirs")["CampaignID"]


def _bad_schedule(t) -> int:
    cid = weekly(t)
    set_campaign(t.engine, cid, send_timezone="Mars/Olympus_Mons")
    return cid


def _sending(t) -> int:
    list_id = make_list(t.engine, t.user)
    with t.engine.uow() as uow:
        uow.session.add(Subscriber(list_id=list_id, email_address="ann@example.com",
                                   email_normalized="ann@example.com"))
        uow.commit()
    cid = draft(t, content=False, RelEmailID=make_email(t.engine, t.user), RecipientListsAndSegments=f"{list_id}:0",
                ScheduleType="Immediate", CampaignStatus="Ready")
    assert tick(t.engine).started == 1
    assert load_campaign(t.engine, cid).status == "Sending"
    return cid


def _suspended(t, campaign_id: int) -> int:
    """The campaign, its owner's email-marketing account now SUSPENDED."""
    with t.engine.uow() as uow:
        uow.email_account.update(t.user.id, {"status": "SUSPENDED"})
        uow.commit()
    return campaign_id


def _spoofed(t) -> int:
    """A Draft whose email's From is neither a verified sender email nor on an allowed domain."""
    return draft(t, content=False, RelEmailID=make_email(t.engine, t.user, from_email="security@bank.example"),
                 RecipientListsAndSegments=f"{make_list(t.engine, t.user)}:0")


ERROR_CASES = [
    ("Campaign.Schedule.Preview", 1, lambda t: {}),
    ("Campaign.Schedule.Preview", 2, lambda t: dict(CampaignID="abc")),
    ("Campaign.Schedule.Preview", 2, lambda t: dict(CampaignID=999999)),
    ("Campaign.Schedule.Preview", 2, lambda t: dict(CampaignID=_foreign(t))),
    ("Campaign.Schedule.Preview", 3, lambda t: dict(CampaignID=weekly(t), Count=0)),
    ("Campaign.Schedule.Preview", 3, lambda t: dict(CampaignID=weekly(t), Count=101)),
    ("Campaign.Schedule.Preview", 3, lambda t: dict(CampaignID=weekly(t), Count="ten")),
    ("Campaign.Schedule.Preview", 4, lambda t: dict(CampaignID=_bad_schedule(t))),
    ("Campaign.Publish", 1, lambda t: dict(ScheduledAt="2026-11-24T10:00:00Z")),
    ("Campaign.Publish", 2, lambda t: dict(CampaignID="x1")),
    ("Campaign.Publish", 2, lambda t: dict(CampaignID=_foreign(t))),
    ("Campaign.Publish", 3, lambda t: dict(CampaignID=draft(t), ScheduledAt="tomorrow at nine")),
    ("Campaign.Publish", 3, lambda t: dict(CampaignID=draft(t), ScheduledAt="2026-11-24")),
    ("Campaign.Publish", 3, lambda t: dict(CampaignID=draft(t), ScheduledAt="2026-13-24T10:00:00Z")),
    ("Campaign.Publish", 4, lambda t: dict(CampaignID=draft(t), ScheduledAt="2026-11-23T12:29:59Z")),
    ("Campaign.Publish", 4, lambda t: dict(CampaignID=draft(t), ScheduledAt="2020-01-01T00:00:00Z")),
    ("Campaign.Publish", 5, lambda t: dict(CampaignID=ready_future(t))),
    ("Campaign.Publish", 5, lambda t: dict(CampaignID=_sending(t))),
    ("Campaign.Publish", 6, lambda t: dict(CampaignID=draft(t, content=False))),
    ("Campaign.Publish", 7, lambda t: dict(CampaignID=_suspended(t, draft(t)))),
    ("Campaign.Publish", 8, lambda t: dict(CampaignID=_spoofed(t))),
    ("Campaign.Publish", 9, lambda t: dict(CampaignID=_with_unknown_tags(t))),
    ("Campaign.Reschedule", 1, lambda t: dict(SendAt="2026-11-24T10:00:00Z")),
    ("Campaign.Reschedule", 2, lambda t: dict(CampaignID=_foreign(t), SendAt="2026-11-24T10:00:00Z")),
    ("Campaign.Reschedule", 3, lambda t: dict(CampaignID=ready_future(t))),
    ("Campaign.Reschedule", 4, lambda t: dict(CampaignID=ready_future(t), SendAt="next week")),
    ("Campaign.Reschedule", 5, lambda t: dict(CampaignID=ready_future(t), SendAt="2026-11-23T12:10:00Z")),
    ("Campaign.Reschedule", 6, lambda t: dict(CampaignID=draft(t), SendAt="2026-11-24T10:00:00Z")),
    ("Campaign.Reschedule", 6, lambda t: dict(CampaignID=weekly(t, CampaignStatus="Ready"),
                                              SendAt="2026-11-24T10:00:00Z")),
    ("Campaign.Reschedule", 6, lambda t: dict(CampaignID=_sending(t), SendAt="2026-11-24T10:00:00Z")),
    ("Campaign.Reschedule", 7, lambda t: dict(CampaignID=_suspended(t, ready_future(t)),
                                              SendAt="2026-11-24T10:00:00Z")),
    ("Campaign.PauseScheduling", 1, lambda t: {}),
    ("Campaign.PauseScheduling", 2, lambda t: dict(CampaignID=_foreign(t))),
    ("Campaign.PauseScheduling", 3, lambda t: dict(CampaignID=draft(t))),
    ("Campaign.PauseScheduling", 3, lambda t: dict(CampaignID=_sending(t))),
    ("Campaign.PauseScheduling", 4, lambda t: dict(CampaignID=_suspended(t, ready_future(t)))),
]


@pytest.mark.parametrize("command,code,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _) in enumerate(ERROR_CASES)])
def test_documented_code(t, command, code, params):
    request = params(t)
    before = {k: _snapshot(t, v) for k, v in request.items() if k == "CampaignID" and isinstance(v, int)}
    everything = stored_state(t.engine)
    answer = t.api(command, t.user.session, **request)
    assert answer["Success"] is False and answer["ErrorCode"] == code, answer
    assert answer["ErrorText"] == COMMANDS[command.lower()].errors[code] or \
        answer["ErrorText"].startswith(COMMANDS[command.lower()].errors[code] + " (")
    # A refused command changes nothing.
    assert all(_snapshot(t, v) == state for v, state in ((request["CampaignID"], s) for s in before.values()))
    assert stored_state(t.engine) == everything


def _snapshot(t, campaign_id: int):
    c = load_campaign(t.engine, campaign_id)
    return None if c is None else (c.status, c.schedule_type, c.send_date, c.send_time, c.send_timezone,
                                   c.next_send_at)


def test_every_documented_code_has_a_case():
    for command in scheduling_commands.COMMANDS:
        covered = {code for name, code, _ in ERROR_CASES if name == command.name}
        assert covered == set(command.errors), command.name


@pytest.mark.parametrize("command", [c.name for c in scheduling_commands.COMMANDS])
def test_credentials_are_required_and_administrators_are_refused(t, api, admin, command):
    cid = ready_future(t) if command in ("Campaign.Reschedule", "Campaign.PauseScheduling") else draft(t)
    before = stored_state(t.engine)
    assert api(command, CampaignID=cid, SendAt="2026-11-26T08:30:00Z")["ErrorCode"] == 99998
    assert api(command, admin.session, CampaignID=cid, SendAt="2026-11-26T08:30:00Z")["ErrorCode"] == 99999
    assert stored_state(t.engine) == before


def test_command_names_are_case_insensitive(t):
    cid = weekly(t)
    assert t.api("campaign.schedule.preview", t.user.session, campaignid=cid, count=1)["Success"] is True
