"""User.Stats, User.Usage.Get and Users.Usage.Get through HTTP on the list of test_list_reports (two sent
campaigns: three messages on 2026-11-03, two on 2026-11-18); every documented code; nothing written."""
from __future__ import annotations

import pytest

from protocol.commands import usage
from tests.builders import CodeRecorder, assert_codes_reached
from tests.helpers import stored_state
from tests.protocol.test_autoresponders import add_send, made
from tests.protocol.test_list_reports import garden  # noqa: F401 - the fixture

SEEN: dict = {}
NEVER_EMITTED = {"User.Stats": {6}, "User.Usage.Get": {4}}   # no query can fail halfway: each is one GROUP BY


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


# --- User.Stats --------------------------------------------------------------------------------
def test_user_stats_daily_series_and_totals(api, engine, user, garden):  # noqa: F811
    answer = api("User.Stats", user.session, StartDate="2026-11-17", EndDate="2026-11-23", Aggregation="daily")
    assert (answer["NumberOfLists"], answer["TotalActiveLists"], answer["TotalActiveSubscribers"],
            answer["TotalSegments"]) == (1, 1, 2, 0)
    assert (answer["AvgOpenRate30dWeighted"], answer["AvgClickRate30dWeighted"], answer["AvgCTOR30dWeighted"]) == (
        0.6, 0.6, 1.0)
    days = [f"2026-11-{d}" for d in range(17, 24)]
    assert list(answer["Sent Emails"]) == days and answer["Sent Emails"]["2026-11-18"] == 2
    assert sum(answer["Sent Emails"].values()) == 2
    assert answer["New Subscribers"]["2026-11-22"] == 1 and sum(answer["New Subscribers"].values()) == 1
    assert answer["Opens"]["2026-11-18"] == 1 and answer["Clicks"]["2026-11-18"] == 2
    assert answer["Unsubscriptions"]["2026-11-21"] == 1


def test_user_stats_weekly_and_monthly(api, user, garden):  # noqa: F811
    weekly = api("User.Stats", user.session, StartDate="2026-11-01", EndDate="2026-11-23", Aggregation="Weekly")
    assert weekly["Sent Emails"] == {"2026-10-26": 0, "2026-11-02": 3, "2026-11-09": 0, "2026-11-16": 2,
                                     "2026-11-23": 0}
    monthly = api("User.Stats", user.session, StartDate="2026-10-01", EndDate="2026-11-30", Aggregation="monthly")
    assert monthly["Sent Emails"] == {"2026-10": 0, "2026-11": 5} and monthly["Bounces"] == {"2026-10": 0, "2026-11": 1}


def test_user_stats_codes(api, engine, user):
    before = stored_state(engine)
    full = dict(StartDate="2026-11-01", EndDate="2026-11-02", Aggregation="daily")
    for missing, code in (("StartDate", 1), ("EndDate", 2), ("Aggregation", 3)):
        answer = api("User.Stats", user.session, **{k: v for k, v in full.items() if k != missing})
        assert answer["ErrorCode"] == code and answer["Errors"] == [{"Code": code, "Message": answer["ErrorText"]}]
    assert api("User.Stats", user.session, **{**full, "Aggregation": "hourly"})["ErrorCode"] == 4
    assert api("User.Stats", user.session, **{**full, "StartDate": "2026-13-01"})["ErrorCode"] == 5
    assert api("User.Stats", user.session, **{**full, "StartDate": "2026-11-05"})["ErrorCode"] == 5
    assert api("User.Stats", user.session, **{**full, "StartDate": "2010-01-01"})["ErrorCode"] == 5
    assert stored_state(engine) == before


def test_user_stats_sees_only_the_callers_figures(api, other_user, garden):  # noqa: F811
    answer = api("User.Stats", other_user.session, StartDate="2026-11-01", EndDate="2026-11-23", Aggregation="monthly")
    assert (answer["NumberOfLists"], answer["TotalActiveSubscribers"], answer["Sent Emails"],
            answer["AvgOpenRate30dWeighted"]) == (0, 0, {"2026-11": 0}, None)


# --- User.Usage.Get ----------------------------------------------------------------------------
def test_user_usage(api, engine, admin, user, garden):  # noqa: F811
    answer = api("User.Usage.Get", admin.session, UserID=user.id)
    assert answer["UserID"] == user.id
    assert answer["Periods"]["EmailSend"] == {"Type": "CalendarMonth", "Start": "2026-11-01 00:00:00",
                                              "End": "2026-11-30 23:59:59"}
    assert answer["Usage"]["ActiveSubscribers"]["Value"] == 2
    assert answer["Usage"]["EmailsSentInPeriod"]["Value"] == 0   # the quota counter: these rows were written directly
    assert answer["Features"]["Campaigns"] == {"InUse": True, "Count": 2}
    assert answer["Features"]["Lists"] == {"InUse": True, "Count": 1}
    assert answer["Features"]["Journeys"] == {"InUse": False, "Count": 0, "ActiveCount": 0}


def test_user_usage_codes(api, engine, admin, user):
    before = stored_state(engine)
    assert api("User.Usage.Get", admin.session)["ErrorCode"] == [1]
    assert api("User.Usage.Get", admin.session, UserID="-1")["ErrorCode"] == [2]
    assert api("User.Usage.Get", admin.session, UserID=user.id + 999)["ErrorCode"] == [3]
    assert api("User.Usage.Get", user.session, UserID=user.id)["ErrorCode"] == 99999   # administrators only
    assert stored_state(engine) == before


# --- Users.Usage.Get ---------------------------------------------------------------------------
def test_bulk_usage_counts_campaign_and_autoresponder_sends(api, engine, admin, user, other_user, garden):  # noqa: F811
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from tests.builders import make_email
    shop = SimpleNamespace(list_id=garden.list_id, email_id=make_email(engine, user, subject="Hi", html_content="x"))
    responder = made(api, user, shop)
    add_send(engine, responder, garden.ids["ann"], state="sent", sent_at=datetime(2026, 11, 18, 9, tzinfo=timezone.utc))
    answer = api("Users.Usage.Get", admin.session, StartDate="2026-11-01", EndDate="2026-11-30")
    assert (answer["Aggregation"], answer["StartDate"], answer["EndDate"], answer["UserCount"]) == (
        "daily", "2026-11-01 00:00:00", "2026-11-30 23:59:59", 1)
    assert answer["Users"] == {str(user.id): {
        "UserID": user.id, "Metrics": {"sent_emails": {"2026-11-03": 3, "2026-11-18": 3}}, "TotalSentEmails": 6,
        "TotalActiveSubscribers": {"Value": 2, "Source": usage.SOURCE, "Definition": usage.DEFINITION,
                                   "MaxStalenessSeconds": 0}}}
    scoped = api("Users.Usage.Get", admin.session, StartDate="2026-11-01", EndDate="2026-11-30",
                 UserIDs=f"{user.id},{other_user.id}", Aggregation="monthly")
    assert scoped["Users"][str(user.id)]["Metrics"] == {"sent_emails": {"2026-11": 6}}
    assert scoped["Users"][str(other_user.id)]["Metrics"] == {} and scoped["UserCount"] == 2
    yearly = api("Users.Usage.Get", admin.session, StartDate="2026-11-04", EndDate="2026-11-18", Aggregation="yearly")
    assert yearly["Users"][str(user.id)]["Metrics"] == {"sent_emails": {"2026": 3}}


def test_bulk_usage_codes(api, engine, admin):
    before = stored_state(engine)
    assert api("Users.Usage.Get", admin.session, EndDate="2026-11-30")["ErrorCode"] == 1
    assert api("Users.Usage.Get", admin.session, StartDate="2026-11-30")["ErrorCode"] == 2
    answer = api("Users.Usage.Get", admin.session, StartDate="2026-11-01", EndDate="2026-11-30", Aggregation="hourly")
    assert (answer["Success"], answer["ErrorCode"]) == (False, 3)
    assert answer["ErrorMessage"].startswith("Unsupported aggregation; supported: daily, weekly, monthly, yearly")
    assert api("Users.Usage.Get", admin.session, StartDate="2026-11-01", EndDate="2026-11-30",
               Metrics="sent_emails,opens")["ErrorCode"] == 4
    assert api("Users.Usage.Get", admin.session, StartDate="2026-11-31", EndDate="2026-11-30")["ErrorCode"] == 5
    assert api("Users.Usage.Get", admin.session, StartDate="2026-11-01", EndDate="2026-11-30",
               UserIDs="1,x")["ErrorCode"] == 6
    assert stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, usage.COMMANDS, NEVER_EMITTED)
