"""Automated reports: Automated_Reports.* (every code, the page's shapes), and the tick's mailing — once
per period over day, week and month boundaries, exactly once under concurrent ticks, filtered by
campaign tags."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from engine.campaigns.report_mail import send_due_reports
from engine.models import AutomatedReport, AutomatedReportRun, Delivery, SendInstance
from protocol.commands import automated_reports as commands
from tests.builders import CodeRecorder, assert_codes_reached, user_actor
from tests.helpers import stored_state

SEEN: dict = {}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


def make_tag(engine, user, name: str) -> int:
    with engine.uow() as uow:
        tag = uow.tags.create(user_actor(user), name)
        uow.commit()
        return tag.id


def make_sent_campaign(engine, user, name: str, started_at, *, tag: int | None = None, sent: int = 1) -> int:
    with engine.uow() as uow:
        campaign = uow.campaigns.create(user_actor(user), name)
        uow.session.flush()
        instance = SendInstance(campaign_id=campaign.id, number=1, scheduled_for=started_at, started_at=started_at,
                                state="done", total_recipients=sent)
        uow.session.add(instance)
        uow.session.flush()
        uow.session.add_all(Delivery(instance_id=instance.id, subscriber_id=i + 1, email_normalized=f"p{i}@example.com",
                                     state="sent", sent_at=started_at) for i in range(sent))
        if tag is not None:
            uow.tags.assign(user_actor(user), tag, [campaign.id])
        uow.commit()
        return campaign.id


def create(api, user, **params):
    base = {"ReportName": "Weekly Performance Summary", "Frequency": "weekly", "FilterType": "all",
            "RecipientEmails": "manager@example.com,team@example.com"}
    base.update(params)
    return api("Automated_Reports.Create", user.session, **{k: v for k, v in base.items() if v is not None})


@dataclass
class FakeRelay:
    """Accepts every message and keeps it (the aiosmtpd test below checks a real one)."""

    sent: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, envelope_from, recipient, data):
        from engine.delivery.smtp_transaction import SENT

        with self.lock:
            self.sent.append((recipient, data))
        return type("Result", (), {"status": SENT, "code": 250, "text": "OK"})()


# --- the commands --------------------------------------------------------------------------------
def test_create_get_list_update_toggle_delete(api, engine, user, clock):
    tag = make_tag(engine, user, "Newsletter")
    created = create(api, user, FilterType="tags", FilterTags=str(tag), Frequency="monthly")
    assert created == {"Success": True, "ErrorCode": 0, "ErrorText": "", "ReportID": created["ReportID"]}
    report_id = created["ReportID"]
    got = api("Automated_Reports.Get", user.session, ReportID=report_id)["Report"]
    assert got == {
        "ReportID": report_id, "ReportName": "Weekly Performance Summary", "FilterType": "tags",
        "FilterTags": str(tag), "FilterTagNames": ["Newsletter"], "Frequency": "monthly",
        "RecipientEmails": "manager@example.com,team@example.com", "Status": "enabled",
        "LastRunDate": None, "LastRunDateFormatted": None,
        "NextRunDate": "2026-12-01 00:00:00", "NextRunDateFormatted": "Dec 1, 2026 12:00 AM",
        "CreatedDate": "2026-11-23 12:00:00"}

    other = create(api, user, ReportName="Daily", Frequency="daily", Status="disabled")["ReportID"]
    listed = api("Automated_Reports.List", user.session)
    assert listed["TotalReports"] == 2 and [r["ReportID"] for r in listed["Reports"]] == [report_id, other]
    assert listed["Reports"][1]["FilterTags"] is None and "FilterTagNames" not in listed["Reports"][1]
    assert (listed["Reports"][0]["CreatedDate"], listed["Reports"][0]["CreatedDateFormatted"]) == \
        ("2026-11-23", "Nov 23, 2026")
    only = api("Automated_Reports.List", user.session, Status="enabled", Frequency="monthly")
    assert [r["ReportID"] for r in only["Reports"]] == [report_id]

    updated = api("Automated_Reports.Update", user.session, ReportID=report_id, ReportName="Updated",
                  Frequency="daily", FilterType="all")
    assert updated["ReportID"] == report_id
    got = api("Automated_Reports.Get", user.session, ReportID=report_id)["Report"]
    assert (got["ReportName"], got["Frequency"], got["FilterType"], got["FilterTags"], got["NextRunDate"]) == \
        ("Updated", "daily", "all", None, "2026-11-24 00:00:00")

    toggled = api("Automated_Reports.Toggle", user.session, ReportID=report_id)
    assert toggled == {"Success": True, "ErrorCode": 0, "ErrorText": "", "ReportID": report_id,
                       "NewStatus": "disabled", "Message": "Report status updated to disabled"}
    assert api("Automated_Reports.Toggle", user.session, ReportID=report_id)["NewStatus"] == "enabled"

    deleted = api("Automated_Reports.Delete", user.session, ReportID=report_id)
    assert deleted["Message"] == "Report deleted successfully"
    assert api("Automated_Reports.Get", user.session, ReportID=report_id)["ErrorCode"] == 2


def test_dates_are_shown_in_the_owner_s_time_zone(api, engine, user):
    from tests.builders import set_user

    set_user(engine, user, time_zone="Europe/Rome")
    report_id = create(api, user, Frequency="daily")["ReportID"]
    got = api("Automated_Reports.Get", user.session, ReportID=report_id)["Report"]
    assert (got["NextRunDate"], got["CreatedDate"]) == ("2026-11-24 00:00:00", "2026-11-23 13:00:00")
    with engine.uow() as uow:     # Rome's midnight is 23:00 UTC
        assert uow.session.get(AutomatedReport, report_id).next_run_at.hour == 23


@pytest.mark.parametrize("params, code", [
    ({"ReportName": None}, "reportname"), ({"Frequency": None}, "frequency"), ({"FilterType": None}, "filtertype"),
    ({"RecipientEmails": None}, "recipientemails"), ({"Frequency": "hourly"}, 2), ({"FilterType": "some"}, 3),
    ({"RecipientEmails": "ok@example.com,invalid-email"}, 4), ({"FilterType": "tags"}, 5),
    ({"FilterType": "tags", "FilterTags": "x"}, 6), ({"FilterType": "tags", "FilterTags": "999999"}, 6),
    ({"Status": "paused"}, 8), ({"ReportName": "x" * 256}, 9),
])
def test_create_errors_store_nothing(api, engine, user, params, code):
    before = stored_state(engine)
    answer = create(api, user, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == code, answer
    assert stored_state(engine) == before


def test_create_error_texts_follow_the_page(api, user):
    assert create(api, user, RecipientEmails="invalid-email")["ErrorText"].endswith("Invalid email address: invalid-email)")
    assert create(api, user, ReportName=None)["ErrorText"] == "Missing required parameter reportname"


def test_another_account_s_tag_is_6(api, engine, user, other_user):
    theirs = make_tag(engine, other_user, "Theirs")
    assert create(api, user, FilterType="tags", FilterTags=str(theirs))["ErrorCode"] == 6


@pytest.mark.parametrize("params, code", [
    ({"ReportID": None}, "reportid"), ({"ReportID": 999999}, 2), ({"ReportID": "x"}, 2), ({"Frequency": "x"}, 3),
    ({"FilterType": "x"}, 4), ({"FilterTags": "999999", "FilterType": "tags"}, 5), ({"FilterType": "tags"}, 5),
    ({"RecipientEmails": "nope"}, 6), ({"Status": "x"}, 7), ({}, 8), ({"ReportName": "x" * 256}, 10),
])
def test_update_errors_change_nothing(api, engine, user, params, code):
    report_id = create(api, user)["ReportID"]
    before = stored_state(engine)
    answer = api("Automated_Reports.Update", user.session, **{"ReportID": report_id, **params} if "ReportID" not in
                 params else {k: v for k, v in params.items() if v is not None})
    assert answer["ErrorCode"] == code, answer
    assert stored_state(engine) == before


@pytest.mark.parametrize("command", ["Automated_Reports.Get", "Automated_Reports.Delete", "Automated_Reports.Toggle",
                                     "Automated_Reports.Update"])
def test_another_account_s_report_is_2(api, engine, user, other_user, command):
    report_id = create(api, user)["ReportID"]
    before = stored_state(engine)
    assert api(command, other_user.session, ReportID=report_id, ReportName="Mine")["ErrorCode"] == 2
    assert api(command, user.session)["ErrorCode"] == "reportid"
    assert stored_state(engine) == before


def test_list_filter_errors(api, user):
    assert api("Automated_Reports.List", user.session, Status="paused")["ErrorCode"] == 1
    assert api("Automated_Reports.List", user.session, Frequency="hourly")["ErrorCode"] == 2


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, list(commands.COMMANDS),
                         {"Automated_Reports.Create": (7,), "Automated_Reports.Update": (9,)})   # storage failures


# --- the mailing ---------------------------------------------------------------------------------
def runs(engine) -> list[tuple]:
    with engine.uow() as uow:
        return [(r.report_id, r.period_start.isoformat(), r.period_end.isoformat(), r.state) for r in
                uow.session.scalars(select(AutomatedReportRun).order_by(AutomatedReportRun.id))]


@pytest.mark.parametrize("frequency, due_at, period", [
    ("daily", (2026, 11, 24), ("2026-11-23", "2026-11-24")),
    ("weekly", (2026, 11, 30), ("2026-11-23", "2026-11-30")),
    ("monthly", (2026, 12, 1), ("2026-11-01", "2026-12-01")),
])
def test_a_report_is_mailed_once_when_its_period_is_over(api, engine, user, clock, frequency, due_at, period):
    from datetime import datetime, timezone

    report_id = create(api, user, Frequency=frequency)["ReportID"]
    relay = FakeRelay()
    due = datetime(*due_at, tzinfo=timezone.utc)
    clock.now = due.replace(second=0) - __import__("datetime").timedelta(seconds=1)
    assert send_due_reports(engine, relay).sent == 0 and relay.sent == []      # one second early
    clock.now = due
    assert send_due_reports(engine, relay).sent == 1
    assert sorted(r for r, _ in relay.sent) == ["manager@example.com", "team@example.com"]
    assert runs(engine) == [(report_id, *period, "sent")]
    assert send_due_reports(engine, relay).sent == 0 and len(relay.sent) == 2  # the same period: never again
    got = api("Automated_Reports.Get", user.session, ReportID=report_id)["Report"]
    assert got["LastRunDate"] == due.strftime("%Y-%m-%d %H:%M:%S")


def test_over_several_days_each_day_once_and_a_missed_stretch_only_its_latest_day(api, engine, user, clock):
    report_id = create(api, user, Frequency="daily")["ReportID"]
    relay = FakeRelay()
    for _ in range(3):
        clock.advance(days=1)
        send_due_reports(engine, relay)
        send_due_reports(engine, relay)
    clock.advance(days=4)                    # the scheduler was down for four days
    send_due_reports(engine, relay)
    assert [r[1] for r in runs(engine)] == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-29"]
    assert len(relay.sent) == 2 * 4 and all(r[0] == report_id for r in runs(engine))


def test_disabled_reports_are_not_mailed_and_a_period_already_in_the_ledger_is_skipped(api, engine, user, clock):
    disabled = create(api, user, Frequency="daily", Status="disabled")["ReportID"]
    enabled = create(api, user, Frequency="daily")["ReportID"]
    with engine.uow() as uow:      # as if another tick had claimed this period and died before moving on
        from datetime import date

        uow.session.add(AutomatedReportRun(report_id=enabled, period_start=date(2026, 11, 23),
                                           period_end=date(2026, 11, 24), state="sending", created_at=clock()))
        uow.commit()
    clock.advance(days=1)
    relay = FakeRelay()
    summary = send_due_reports(engine, relay)
    assert (summary.sent, summary.skipped, relay.sent) == (0, 1, [])
    assert disabled not in [r[0] for r in runs(engine)]


def test_concurrent_ticks_mail_each_period_exactly_once(api, engine, user, clock, backend):
    for i in range(3):
        create(api, user, ReportName=f"Report {i}", Frequency="daily")
    clock.advance(days=1)
    relay = FakeRelay()
    start = threading.Barrier(4)
    errors = []

    def tick():
        try:
            start.wait()
            send_due_reports(engine, relay)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from sqlalchemy.exc import OperationalError

    # SQLite may refuse a concurrent writer outright ("database is locked"): such a tick did nothing.
    assert all(isinstance(e, OperationalError) for e in errors), errors
    assert len(runs(engine)) == 3 and len(relay.sent) == 3 * 2
    assert sorted(r for r, _ in relay.sent) == ["manager@example.com"] * 3 + ["team@example.com"] * 3


def test_the_summary_lists_the_period_s_campaigns_filtered_by_tag(api, engine, user, clock):
    import email
    import email.policy
    from datetime import timedelta

    tag = make_tag(engine, user, "Newsletter")
    monday = clock()
    make_sent_campaign(engine, user, "Tagged <b>news</b>", monday + timedelta(hours=1), tag=tag, sent=3)
    make_sent_campaign(engine, user, "Untagged promo", monday + timedelta(hours=2), sent=2)
    make_sent_campaign(engine, user, "Last week", monday - timedelta(days=2), tag=tag, sent=1)
    create(api, user, ReportName="Tagged", Frequency="weekly", FilterType="tags", FilterTags=str(tag),
           RecipientEmails="boss@example.com")
    create(api, user, ReportName="Everything", Frequency="weekly", RecipientEmails="all@example.com")
    clock.advance(days=7)
    relay = FakeRelay()
    assert send_due_reports(engine, relay).sent == 2
    bodies = {}
    for recipient, data in relay.sent:
        message = email.message_from_bytes(data, policy=email.policy.default)
        bodies[recipient] = (message["Subject"], message.get_body(("html",)).get_content())
    subject, tagged = bodies["boss@example.com"]
    assert subject == "Tagged: campaign report for 2026-11-23 to 2026-11-29"
    assert "Tagged &lt;b&gt;news&lt;/b&gt;" in tagged and "Untagged promo" not in tagged and "Last week" not in tagged
    assert "<td>3</td>" in tagged
    _, everything = bodies["all@example.com"]
    assert "Untagged promo" in everything and "Tagged &lt;b&gt;news&lt;/b&gt;" in everything
    assert "<th>Total</th><th>5</th>" in everything
