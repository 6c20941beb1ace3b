"""Journey statistics through HTTP (every database): Journey.List's and Journey.Get's JourneyStats (all-time
figures, the stats window's days, revenue 0 in the documented shapes, SkipStats), their cost (a fixed
number of statements for any number of journeys), the account's time zone cutting every figure's days,
the CSV export's engagement columns, and the Action.Subscribers filters Sendmill cannot observe."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import update

from engine.automation.journeys import exports
from engine.models import JourneySend
from scheduler.journeys import journeys_pass
from tests.builders import CodeRecorder, set_user, user_actor
from tests.helpers import stored_state
from tests.protocol.test_journey_engagement import DAY, mailed  # noqa: F401 - the fixture
from tests.protocol.test_journey_list_events import statements

SEEN: dict = {}
BEFORE = "2026-11-22"
ZERO_DAY = {"SendCount": 0, "DeliveryCount": 0, "OpenCount": 0, "ClickCount": 0, "BounceCount": 0,
            "UnsubscribeCount": 0, "SpamComplaintCount": 0, "TotalRevenue": 0.0}


@pytest.fixture
def call(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def engaged(client, mailed):  # noqa: F811 - the imported fixture
    """ann opened twice and clicked, bob clicked (an open too), cy did nothing."""
    ann, bob = (mailed["links"][a] for a in ("ann@gmail.com", "bob@gmail.com"))
    for url in (ann["o"][0], ann["o"][0], ann["c"][0], bob["c"][0]):
        assert client.get(url).status_code in (200, 302)
    return mailed


def listed(call, user, **params) -> dict[int, dict]:
    answer = call("Journey.List", user.session, **params)
    assert answer["Success"] is True, answer
    return {int(r["JourneyID"]): r for r in answer["Journeys"]}


def due_at(engine, address: str, when: datetime) -> None:
    with engine.uow() as uow:
        uow.session.execute(update(JourneySend).where(JourneySend.email_address == address).values(due_at=when))
        uow.commit()


def test_list_shows_every_journeys_figures_and_days(call, user, engine, engaged):
    quiet = call("Journey.Create", user.session, Name="Quiet")["JourneyID"]
    before = stored_state(engine)
    rows = listed(call, user, StatsStartDate=BEFORE, StatsEndDate=DAY)
    stats = rows[engaged["journey"]]["JourneyStats"]
    assert stats["AggregatedEmailActions"] == {
        "SendCount": 3, "DeliveryCount": 3, "OpenCount": 2, "ClickCount": 2, "BounceCount": 0, "UnsubscribeCount": 0,
        "SpamComplaintCount": 0, "TotalRevenue": 0.0, "ConversionCount": 0, "BrowserViewCount": 0, "ForwardCount": 0}
    assert stats["AggregatedDaysEmailActions"] == [
        {"Date": BEFORE, **ZERO_DAY},
        {**ZERO_DAY, "Date": DAY, "SendCount": 3, "DeliveryCount": 3, "OpenCount": 2, "ClickCount": 2}]
    assert (stats["TotalRevenue"], stats["DaysRevenue"]) == (0.0, [{"Date": BEFORE, "Amount": 0.0},
                                                                    {"Date": DAY, "Amount": 0.0}])
    assert (stats["ActiveSubscribers"], stats["TotalSubscribers"]) == (3, 3)
    assert "LastTriggeredAt" not in stats
    empty = rows[quiet]["JourneyStats"]
    assert empty["AggregatedEmailActions"]["SendCount"] == 0 and empty["TotalRevenue"] == 0.0
    assert empty["AggregatedDaysEmailActions"] == [{"Date": BEFORE, **ZERO_DAY}, {"Date": DAY, **ZERO_DAY}]
    # A window before the mail: the all-time block stays, the days are empty.
    earlier = listed(call, user, StatsStartDate="2026-11-20", StatsEndDate=BEFORE)[engaged["journey"]]["JourneyStats"]
    assert earlier["AggregatedEmailActions"] == stats["AggregatedEmailActions"]
    assert [d["SendCount"] for d in earlier["AggregatedDaysEmailActions"]] == [0, 0, 0]
    # SkipStats: the key is omitted (also with the counters asked for); the dates are still checked.
    skipped = listed(call, user, SkipStats=1, IncludeActivityCounters=1)
    assert [("JourneyStats" in r, r["JourneyName"]) for r in skipped.values()] == [(False, "Welcome"), (False, "Quiet")]
    assert call("Journey.List", user.session, SkipStats=1, StatsStartDate="2026-1-1")["ErrorCode"][0] == 4
    counted = listed(call, user, IncludeActivityCounters=1)
    assert {j: (r["JourneyStats"]["LastTriggeredAt"], r["JourneyStats"]["TotalEnrolledLifetime"])
            for j, r in counted.items()} == {engaged["journey"]: ("2026-11-23 12:00:00", 3), quiet: (None, 0)}
    assert counted[engaged["journey"]]["JourneyStats"]["LastActivityAt"] == "2026-11-23 12:00:00"
    assert stored_state(engine) == before


def test_list_costs_the_same_statements_for_two_or_six_journeys(call, user, engine, engaged):
    call("Journey.Create", user.session, Name="Second")

    def count() -> int:
        with statements(engine) as seen:
            listed(call, user, IncludeActivityCounters=1)
        return len(seen)

    two = count()
    for n in range(4):
        call("Journey.Create", user.session, Name=f"More {n}")
    assert count() == two


def test_get_windows_its_days_and_gives_send_actions_revenue(call, user, engaged):
    answer = call("Journey.Get", user.session, JourneyID=engaged["journey"], StartDate=BEFORE, EndDate=DAY)
    send, wait = answer["Actions"]
    assert (send["Action"], send["Revenue"], send["DaysRevenue"]) == (
        "SendEmail", 0.0, [{"Date": BEFORE, "Amount": 0.0}, {"Date": DAY, "Amount": 0.0}])
    assert (send["Stats"]["SendCount"], send["Stats"]["OpenCount"], send["Stats"]["TotalRevenue"]) == (3, 2, 0.0)
    assert [(d["Date"], d["SendCount"], d["ClickCount"]) for d in send["DailyStats"]] == [(BEFORE, 0, 0), (DAY, 3, 2)]
    assert not {"Revenue", "DaysRevenue", "Stats", "DailyStats"} & set(wait)
    stats = answer["JourneyStats"]
    assert [(d["Date"], d["SendCount"], d["OpenCount"]) for d in stats["AggregatedDaysEmailActions"]] == [
        (BEFORE, 0, 0), (DAY, 3, 2)]
    assert stats["TotalRevenue"] == 0.0 and len(stats["DaysRevenue"]) == 2
    narrowed = call("Journey.Get", user.session, JourneyID=engaged["journey"], StartDate=DAY, ISP="yahoo.com")
    assert narrowed["JourneyStats"]["AggregatedDaysEmailActions"] == [{**ZERO_DAY, "Date": DAY, "SendCount": 1,
                                                                      "DeliveryCount": 1}]
    assert narrowed["JourneyStats"]["AggregatedEmailActions"]["SendCount"] == 1


def test_days_are_the_accounts_local_days(call, user, engine, engaged):
    """ann's message was due at 02:00 UTC on the 23rd: 21:00 on the 22nd in New York."""
    due_at(engine, "ann@gmail.com", datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
    jid, window = engaged["journey"], {"StartDate": BEFORE, "EndDate": DAY}

    def by_day() -> list[tuple]:
        daily = call("Journey.Stats.ByAction", user.session, JourneyID=jid, **window)["Actions"][0]["DailyStats"]
        shown = listed(call, user, StatsStartDate=BEFORE, StatsEndDate=DAY)[jid]["JourneyStats"]
        got = call("Journey.Get", user.session, JourneyID=jid, **window)["JourneyStats"]
        assert [(d["Date"], d["SendCount"]) for d in shown["AggregatedDaysEmailActions"]] == \
            [(d["Date"], d["SendCount"]) for d in got["AggregatedDaysEmailActions"]]
        return [(d["Date"], d["SendCount"], d["OpenCount"]) for d in daily]

    def on_the_22nd() -> tuple[int, int, list]:
        one_day = {"StartDate": BEFORE, "EndDate": BEFORE}
        bench = call("Account.Journey.Benchmark", user.session, **one_day)["Benchmark"]["TotalSent"]
        isp = call("Journey.Stats.ByISP", user.session, JourneyID=jid, **one_day)["ByISP"]
        export_id = call("Journey.Export.Submit", user.session, StatsStartDate=BEFORE, StatsEndDate=BEFORE)["ExportID"]
        journeys_pass(engine)
        with engine.uow() as uow:
            rows = list(csv.DictReader(io.StringIO(exports.get(uow, user_actor(user), export_id).content)))
        return bench, int(rows[0]["SendCount"]), [(r["Domain"], r["Sent"]) for r in isp]

    assert by_day() == [(BEFORE, 0, 0), (DAY, 3, 2)]
    assert on_the_22nd() == (0, 0, [])
    set_user(engine, user, time_zone="America/New_York")
    assert by_day() == [(BEFORE, 1, 1), (DAY, 2, 1)]
    assert on_the_22nd() == (1, 1, [("gmail.com", 1)])
    # An omitted EndDate is the account's today: 12:00 UTC is already the 24th in Kiritimati (UTC+14).
    set_user(engine, user, time_zone="Pacific/Kiritimati")
    assert listed(call, user)[jid]["JourneyStats"]["DaysRevenue"][-1]["Date"] == "2026-11-24"
    # A zone name the account holds but zoneinfo does not know reads as UTC.
    set_user(engine, user, time_zone="Mars/Olympus")
    assert by_day() == [(BEFORE, 0, 0), (DAY, 3, 2)]


def test_the_export_has_engagement_columns_in_keyset_batches(call, user, engine, engaged, monkeypatch, client,
                                                             clock):
    monkeypatch.setattr(exports, "BATCH", 1)   # every journey its own batch: the keyset carries over
    clock.advance(minutes=90)
    assert client.get(engaged["links"]["bob@gmail.com"]["o"][0]).status_code == 200   # bob's second open
    quiet = call("Journey.Create", user.session, Name="Quiet")["JourneyID"]
    export_id = call("Journey.Export.Submit", user.session, IncludeActions=1)["ExportID"]
    journeys_pass(engine)
    response = client.post("/api.php", data={"Command": "Journey.Export.Get", "SessionID": user.session,
                                              "ExportID": export_id, "download": "1"})
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["JourneyID", "JourneyName", "Status", "Trigger", "ActionID", "EmailName",
                             "ActiveSubscribers", "TotalSubscribers", "SendCount", "DeliveryCount", "OpenCount",
                             "ClickCount", "TotalOpenCount", "TotalClickCount", "BounceCount", "UnsubscribeCount",
                             "SpamComplaintCount", "LastOpenAt", "LastClickAt"]
    figures = ("SendCount", "DeliveryCount", "OpenCount", "ClickCount", "TotalOpenCount", "TotalClickCount",
               "BounceCount", "UnsubscribeCount", "SpamComplaintCount", "LastOpenAt", "LastClickAt")
    got = [(r["JourneyID"], r["ActionID"], r["EmailName"], r["ActiveSubscribers"], *(r[f] for f in figures))
           for r in rows]
    opened, clicked = "2026-11-23 13:30:00", "2026-11-23 12:00:00"
    journey, send = str(engaged["journey"]), str(engaged["send"])
    assert got == [(journey, "", "", "3", "3", "3", "2", "2", "4", "2", "0", "0", "0", opened, clicked),
                   (journey, send, "Day 1", "", "3", "3", "2", "2", "4", "2", "0", "0", "0", opened, clicked),
                   (str(quiet), "", "", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "", "")]


def test_unobserved_filters_match_nobody_in_either_operator(call, user, engaged):
    def who(filters, operator):
        answer = call("Journey.Action.Subscribers", user.session, JourneyID=engaged["journey"],
                      ActionID=engaged["send"], FilterJSON=filters, Operator=operator)
        assert answer["Success"] is True, answer
        return sorted(r["EmailAddress"] for r in answer["Subscribers"]), answer["TotalSubscribers"]

    opened = (["ann@gmail.com", "bob@gmail.com"], 2)
    assert who('["opened"]', "AND") == opened
    assert who('["opened", "converted"]', "OR") == opened
    assert who('["opened", "forwarded"]', "OR") == opened
    assert who('["opened", "converted"]', "AND") == ([], 0)
    assert who('["forwarded"]', "AND") == ([], 0)
