"""The list analytics commands through HTTP on one small, fully known list: every figure checked against
the rows written, windows clamped, owner checks (99997), every documented code. The clock is the
injected one: Monday 2026-11-23 12:00 UTC."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from engine.models import Suppression
from protocol.commands import list_reports
from tests.builders import CodeRecorder, assert_codes_reached, make_list, make_subscriber
from tests.helpers import stored_state
from tests.protocol.report_builders import campaign, sent, track

SEEN: dict = {}
DAY = 24 * 60


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def garden(engine, user, clock):
    """ann and bob active, cy hard-bounced, dee unsubscribed two days ago, eve pending; two sent campaigns."""
    now = clock()
    list_id = make_list(engine, user, "Garden")
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    ids = {
        "ann": make_subscriber(engine, list_id, "ann@gmail.com", subscription_date=ago(10), source="API"),
        "bob": make_subscriber(engine, list_id, "bob@gmail.com", subscription_date=ago(100), source="CSVImport"),
        "cy": make_subscriber(engine, list_id, "cy@yahoo.com", subscription_date=ago(400), source="Other",
                              source_ref="fair", bounce_type="Hard"),
        "dee": make_subscriber(engine, list_id, "dee@yahoo.com", subscription_date=ago(800), source="Manual",
                               subscription_status="Unsubscribed", unsubscription_date=ago(2)),
        "eve": make_subscriber(engine, list_id, "eve@aol.com", subscription_date=ago(1), source="Webhook",
                               subscription_status="Opt-In Pending"),
    }
    with engine.uow() as uow:
        for source in ("SPAM complaint", "User"):
            uow.session.add(Suppression(owner_user_id=user.id, list_id=list_id, email_normalized=f"{source[0]}@x.org",
                                        email_address=f"{source[0]}@x.org", source=source, created_at=now))
        uow.commit()
    first = campaign(engine, user, "First", lists=(list_id,), status="Sent", send_process_started_on=ago(20))
    second = campaign(engine, user, "Second", lists=(list_id,), status="Sent", send_process_started_on=ago(5))
    sent(engine, first, {ids[n]: f"{n}@x" for n in ("ann", "bob", "cy")}, minutes=-20 * DAY)
    sent(engine, second, {ids[n]: f"{n}@x" for n in ("ann", "bob")}, minutes=-5 * DAY)
    track(engine, first, ids["ann"], "open", minutes=-20 * DAY + 60)
    track(engine, first, ids["ann"], "click", minutes=-20 * DAY + 61, url="https://x.example/")
    track(engine, first, ids["bob"], "open", minutes=-19 * DAY)
    track(engine, first, ids["cy"], "bounce", minutes=-20 * DAY)
    track(engine, second, ids["ann"], "open", minutes=-5 * DAY)
    track(engine, second, ids["ann"], "click", minutes=-5 * DAY, url="https://x.example/")
    track(engine, second, ids["bob"], "click", minutes=-5 * DAY, url="https://x.example/")
    return SimpleNamespace(list_id=list_id, ids=ids, first=first, second=second)


def test_lists_stats(api, user, garden):
    answer = api("Lists.Stats", user.session)
    assert (answer["Days"], answer["TotalListCount"], answer["WeightedAvgOpenRate"], answer["WeightedAvgCTOR"]) == (
        30, 1, 0.6, 1.0)
    assert answer["Lists"] == [{
        "ListID": garden.list_id, "Name": "Garden", "ActiveSubscriberCount": 2, "SegmentCount": 0,
        "LastActivityAt": "2026-11-22 12:00:00", "UniqueOpens": 3, "UniqueClicks": 3, "UniqueForwards": 0,
        "UniqueBrowserViews": 0, "TotalSent": 5, "NetGrowth": 0, "OpenRate": 0.6, "ClickRate": 0.6,
        "ForwardRate": 0.0, "BrowserViewRate": 0.0, "CTOR": 1.0}]
    short = api("Lists.Stats", user.session, Days="9999", ListIDs=str(garden.list_id))
    assert short["Days"] == 365
    assert api("Lists.Stats", user.session, Days="-4")["Days"] == 30


def test_lists_stats_only_the_callers_lists(api, other_user, garden):
    assert api("Lists.Stats", other_user.session, ListIDs=str(garden.list_id)) == {
        "Success": True, "ErrorCode": 0, "ErrorText": "", "Days": 30, "TotalListCount": 0,
        "WeightedAvgOpenRate": None, "WeightedAvgClickRate": None, "WeightedAvgCTOR": None,
        "WeightedAvgForwardRate": None, "WeightedAvgBrowserViewRate": None, "Lists": []}


def test_activity_series_is_gap_filled_and_ends_today(api, user, garden):
    answer = api("List.GetActivitySeries", user.session, ListID=garden.list_id, Days=3)
    zero = dict(Subscriptions=0, Unsubscriptions=0, Imports=0, SoftBounces=0, HardBounces=0, NetGrowth=0)
    assert answer["Series"] == [{"Date": "2026-11-21", **zero, "Unsubscriptions": 1, "NetGrowth": -1},
                                {"Date": "2026-11-22", **zero, "Subscriptions": 1, "NetGrowth": 1},
                                {"Date": "2026-11-23", **zero}]
    long = api("List.GetActivitySeries", user.session, ListID=garden.list_id, Days=120)
    assert len(long["Series"]) == 120
    assert [d for d in long["Series"] if d["Imports"]] == [
        {"Date": "2026-08-15", **zero, "Imports": 1, "NetGrowth": 1}]
    assert [d["Date"] for d in long["Series"] if d["HardBounces"]] == ["2026-11-03"]


def test_bounce_trend_by_iso_week(api, user, garden):
    answer = api("List.GetBounceTrend", user.session, ListID=garden.list_id)
    assert answer["Weeks"] == 6 and [w["WeekStart"] for w in answer["Series"]] == [
        "2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    week = answer["Series"][2]
    assert week == {"WeekStart": "2026-11-02", "TotalSent": 3, "HardBounces": 1, "SoftBounces": 0, "Complaints": 0,
                    "HardBouncePct": 33.33, "SoftBouncePct": 0.0, "ComplaintPct": 0.0}
    assert answer["Series"][4]["TotalSent"] == 2 and answer["Series"][0]["HardBouncePct"] is None


def test_status_breakdown(api, user, garden):
    assert api("List.GetSubscriberStatusBreakdown", user.session, ListID=garden.list_id) == {
        "Success": True, "ErrorCode": 0, "ErrorText": "", "ListID": garden.list_id,
        "Counts": {"Active": 2, "OptInPending": 1, "SoftBounced": 0, "HardBounced": 1, "Unsubscribed": 1,
                   "Complained": 1, "Suppressed": 2}, "Total": 8}


def test_engagement_tiers_and_overrides(api, user, garden):
    answer = api("List.GetEngagementTiers", user.session, ListID=garden.list_id)
    assert answer["Tiers"] == {"Champions": 1, "Engaged": 1, "Passive": 0, "Lapsed": 0, "Dormant": 0,
                               "NeverEngaged": 0} and answer["Total"] == 2
    assert answer["AsOf"] == "2026-11-23T12:00:00+00:00"
    narrow = api("List.GetEngagementTiers", user.session, ListID=garden.list_id, ChampionDays=3, EngagedDays=10,
                 PassiveEndDays=15, LapsedEndDays=18)
    assert narrow["Tiers"]["Champions"] == 0 and narrow["Tiers"]["Engaged"] == 1 and narrow["Tiers"]["Dormant"] == 1
    inverted = api("List.GetEngagementTiers", user.session, ListID=garden.list_id, ChampionDays=40, EngagedDays=10)
    assert inverted["Overrides"] == {"ChampionDays": 14, "EngagedDays": 30, "PassiveEndDays": 60,
                                     "LapsedEndDays": 120, "NeverEngagedJoinedDays": 30}


def test_send_time_heatmap(api, user, garden):
    answer = api("List.GetSendTimeHeatmap", user.session, ListID=garden.list_id)
    assert (answer["Days"], answer["Event"], len(answer["Grid"]), {len(r) for r in answer["Grid"]}) == (90, "open", 7, {24})
    cells = {(d, h): n for d, row in enumerate(answer["Grid"]) for h, n in enumerate(row) if n}
    assert cells == {(1, 13): 1, (2, 12): 2}   # Tuesday 13:00; Wednesdays 12:00 (Monday = 0)
    clicks = api("List.GetSendTimeHeatmap", user.session, ListID=garden.list_id, Event="CLICK", Days=10)
    assert sum(map(sum, clicks["Grid"])) == 2 and clicks["Event"] == "click"


def test_esp_breakdown_with_the_tail_in_other(api, user, garden):
    answer = api("List.GetESPBreakdown", user.session, ListID=garden.list_id, Event="subscribers", Top=1)
    assert (answer["Total"], answer["Top"], answer["Domains"]) == (5, 1, [
        {"Domain": "gmail.com", "Count": 2, "Pct": 40.0}, {"Domain": "Other", "Count": 3, "Pct": 60.0}])
    opens = api("List.GetESPBreakdown", user.session, ListID=garden.list_id, Event="opens")
    assert opens["Domains"] == [{"Domain": "gmail.com", "Count": 2, "Pct": 100.0}]
    gone = api("List.GetESPBreakdown", user.session, ListID=garden.list_id, Event="unsubscriptions")
    assert gone["Domains"] == [{"Domain": "yahoo.com", "Count": 1, "Pct": 100.0}]


def test_tenure_distribution(api, user, garden):
    answer = api("List.GetTenureDistribution", user.session, ListID=garden.list_id)
    assert (answer["Buckets"], answer["Total"]) == (
        {"0_30d": 1, "1_3mo": 0, "3_6mo": 1, "6_12mo": 0, "1_2y": 0, "2y_plus": 0}, 2)


def test_ctr_retention_matrix(api, user, garden):
    answer = api("List.GetCTRRetentionMatrix", user.session, ListID=garden.list_id, LastNCampaigns=999)
    assert answer["LastNCampaigns"] == 50 and answer["CohortDepth"] == 7
    assert answer["Campaigns"] == [
        {"CampaignID": garden.first, "CampaignName": "First", "SentAt": "2026-11-03 12:00:00", "BaseClickers": 1,
         "Retention": [100.0, 100.0]},
        {"CampaignID": garden.second, "CampaignName": "Second", "SentAt": "2026-11-18 12:00:00", "BaseClickers": 2,
         "Retention": [100.0]}]
    assert api("List.GetCTRRetentionMatrix", user.session, ListID=garden.list_id, LastNCampaigns=1,
               CohortDepth=1)["Campaigns"][0]["CampaignID"] == garden.second


def test_source_breakdown(api, user, garden):
    answer = api("List.GetSourceBreakdown", user.session, ListID=garden.list_id)
    assert answer["Buckets"] == {"CSVImport": 1, "API": 1, "Webhook": 1, "Manual": 1, "Other": 1, "Unknown": 0}
    assert answer["Total"] == 5 and answer["OtherRefs"] == [{"Ref": "fair", "Count": 1}]
    assert answer["Series"] == [{"Month": "2026-08", "SubscriptionSource": "CSVImport", "Count": 1},
                                {"Month": "2026-11", "SubscriptionSource": "API", "Count": 1},
                                {"Month": "2026-11", "SubscriptionSource": "Webhook", "Count": 1}]


@pytest.mark.parametrize("command", [c.name for c in list_reports.COMMANDS if c.name != "Lists.Stats"])
def test_another_accounts_list_is_99997(api, engine, other_user, garden, command):
    event = "open" if command == "List.GetSendTimeHeatmap" else "opens"
    before = stored_state(engine)
    answer = api(command, other_user.session, ListID=garden.list_id, Event=event)
    assert answer["ErrorCode"] in (99997, [99997]) and answer["ErrorText"] in (list_reports.NOT_OWNED,
                                                                               [list_reports.NOT_OWNED])
    assert api(command, other_user.session, ListID="abc", Event=event)["ErrorCode"] in (99997, [99997])
    missing = api(command, other_user.session, Event=event)["ErrorCode"]
    assert missing == (99997 if list_reports.COMMANDS_BY_NAME[command].error_shape == "scalar" else [1])
    assert stored_state(engine) == before


def test_unsupported_events_are_2(api, user, garden):
    assert api("List.GetSendTimeHeatmap", user.session, ListID=garden.list_id, Event="opens")["ErrorCode"] == [2]
    assert api("List.GetESPBreakdown", user.session, ListID=garden.list_id, Event="open")["ErrorCode"] == [2]
    assert api("List.GetESPBreakdown", user.session, ListID=garden.list_id)["ErrorCode"] == [2]


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, list_reports.COMMANDS, {})


# --- Lists.Overview ----------------------------------------------------------------------------
def test_lists_overview_with_fields_segments_and_tags(api, engine, user, other_user):
    from tests.builders import make_custom_field, make_segment
    news = make_list(engine, user, "Newsletter")
    buyers = make_list(engine, user, "Buyers")
    make_list(engine, other_user, "Not mine")
    tier = make_custom_field(engine, user, news, "Tier", field_type="Drop down",
                             options=[{"label": "Gold", "value": "gold", "selected": True}])
    segment = make_segment(engine, user, news, "Gold members")
    tag = api("Subscriber.Tags.Create", user.session, ListID=news, TagName="VIP")["TagID"]
    bare = api("Lists.Overview", user.session)
    assert bare == {"Success": True, "ErrorCode": 0, "ErrorText": "", "TotalListCount": 2,
                    "Lists": [{"ListID": buyers, "Name": "Buyers"}, {"ListID": news, "Name": "Newsletter"}]}
    full = api("Lists.Overview", user.session, IncludeCustomFields="true", IncludeSegments="1",
               IncludeSubscriberTags="yes", Search="news", OrderField="ListID", OrderType="DESC")
    assert full["Lists"] == [{"ListID": news, "Name": "Newsletter", "CustomFields": [
        {"CustomFieldID": tier, "RelListID": news, "FieldName": "Tier", "FieldType": "Drop down",
         "ValidationMethod": "Disabled", "MergeTagAlias": "", "Options": [
             {"label": "Gold", "value": "gold", "is_selected": "true"}], "SQLDataType": "enum",
         "SQLDataTypeValues": ["Gold"]}],
        "Segments": [{"SegmentID": segment, "RelListID": news, "SegmentName": "Gold members",
                      "SegmentOperator": "and"}],
        "SubscriberTags": [{"TagID": tag, "Tag": "vip"}]}]  # tag names are stored lower-cased
    assert api("Lists.Overview", user.session, Archived="archived")["Lists"] == []
