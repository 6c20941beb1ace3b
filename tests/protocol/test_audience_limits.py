"""Audience query limits through HTTP (README, "Audience query limits"): expensive regular expressions
are refused where criteria are stored, and a statement over the time limit answers 100006 (/api.php)
or 504 DEADLINE_EXCEEDED (REST) on every database, changing nothing."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.models import Segment, Subscriber
from engine.models.outbox import OutboxEvent
from protocol.dispatch import AUDIENCE_TIMEOUT
from tests.audience_stall import limit_audience_queries, make_stalled_audience, stalled_field_values
from tests.builders import load_campaign, make_email
from tests.helpers import stored_state

EXPENSIVE = [".{100}" * 32, "(.{100}){32}", "x{100}y{100}z{100}!"]


def regex_rules(value: str, field_id: str = "EmailAddress") -> str:
    return json.dumps([[{"type": "fields", "field_id": field_id, "operator": "matches regex", "value": value}]])


def stored_segments(engine) -> list[tuple[int, str, str]]:
    with engine.uow() as uow:
        return [tuple(r) for r in uow.session.execute(
            select(Segment.id, Segment.name, Segment.rules_json).order_by(Segment.id))]


# --- the regex cost limit ---------------------------------------------------------------------------
@pytest.mark.parametrize("pattern", EXPENSIVE)
def test_segment_create_refuses_an_expensive_pattern_and_stores_nothing(api, engine, user, list_id, pattern):
    answer = api("Segment.Create", user.session, SubscriberListID=list_id, SegmentName="Slow",
                 SegmentOperator="and", RulesJson=regex_rules(pattern))
    assert answer["Success"] is False and answer["ErrorCode"] == [7]
    assert "too expensive" in answer["ErrorText"][0] or "another repetition" in answer["ErrorText"][0]
    assert stored_segments(engine) == []


def test_segment_create_accepts_a_pattern_at_the_limit(api, engine, user, list_id):
    answer = api("Segment.Create", user.session, SubscriberListID=list_id, SegmentName="Three hundred",
                 SegmentOperator="and", RulesJson=regex_rules(".{100}" * 3))
    assert answer["Success"] is True
    assert [name for _, name, _ in stored_segments(engine)] == ["Three hundred"]


def test_segment_update_refuses_an_expensive_pattern_and_keeps_the_segment(api, engine, user, list_id):
    created = api("Segment.Create", user.session, SubscriberListID=list_id, SegmentName="Cheap",
                  SegmentOperator="and", RulesJson=regex_rules("^a"))
    before = stored_segments(engine)
    answer = api("Segment.Update", user.session, SegmentID=created["SegmentID"], SegmentName="Renamed",
                 RulesJson=regex_rules(".{100}" * 32))
    assert answer["Success"] is False and answer["ErrorCode"] == [7]
    assert "too expensive" in answer["ErrorText"][0] and "3200" in answer["ErrorText"][0]
    assert stored_segments(engine) == before  # neither the name nor the rules changed


def test_campaign_bundle_with_an_expensive_pattern_is_code_29_and_changes_nothing(api, engine, user, list_id):
    campaign = api("Campaign.Create", user.session, CampaignName="Bundle")["CampaignID"]
    cheap = {"operator": "or", "criteria": [{"list_id": list_id, "operator": "and", "rules": [
        {"type": "fields", "field_id": "EmailAddress", "operator": "matches regex", "value": "^a"}]}]}
    assert api("Campaign.Update", user.session, CampaignID=campaign, RulesJsonBundle=json.dumps(cheap))["Success"]
    expensive = json.loads(json.dumps(cheap))
    expensive["criteria"][0]["rules"][0]["value"] = ".{100}" * 32
    answer = api("Campaign.Update", user.session, CampaignID=campaign, CampaignName="Renamed",
                 RulesJsonBundle=json.dumps(expensive))
    assert answer["Success"] is False and answer["ErrorCode"] == 29 and "too expensive" in answer["ErrorText"]
    stored = load_campaign(engine, campaign)
    assert (stored.name, json.loads(stored.rules_json_bundle)) == ("Bundle", cheap)


# --- the statement time limit --------------------------------------------------------------------------
@pytest.fixture
def stalled(engine, user):
    audience = make_stalled_audience(engine, user.id)
    limit_audience_queries(engine)
    return audience


def assert_timed_out(answer: dict) -> None:
    assert answer["Success"] is False and answer["ErrorCode"] == AUDIENCE_TIMEOUT, answer
    assert answer["ErrorText"].startswith("Audience query timed out") and "0.3 s" in answer["ErrorText"]


def subscriber_ids(engine) -> list[tuple[int, str]]:
    with engine.uow() as uow:
        return [tuple(r) for r in uow.session.execute(
            select(Subscriber.id, Subscriber.subscription_status).order_by(Subscriber.id))]


def test_recipient_preview_over_the_limit_answers_100006(api, engine, backend, user, stalled, monkeypatch):
    campaign = api("Campaign.Create", user.session, CampaignName="Heavy")["CampaignID"]
    assert api("Campaign.Update", user.session, CampaignID=campaign,
               RecipientListsAndSegments=f"{stalled.list_id}:{stalled.segment_id}")["Success"]
    with stalled_field_values(engine, backend, monkeypatch):
        assert_timed_out(api("Campaign.Recipients.Get", user.session, CampaignID=campaign))
    # The same preview answers once the database is quick again.
    assert api("Campaign.Recipients.Get", user.session, CampaignID=campaign)["TotalRecipients"] == 111


def test_segment_totals_and_segment_search_over_the_limit_answer_100006(api, engine, backend, user, stalled,
                                                                       monkeypatch):
    with stalled_field_values(engine, backend, monkeypatch):
        assert_timed_out(api("Segments.Get", user.session, SubscriberListID=stalled.list_id))
        assert_timed_out(api("Subscribers.Get", user.session, SubscriberListID=stalled.list_id,
                             SubscriberSegment=stalled.segment_id))
    listed = api("Segments.Get", user.session, SubscriberListID=stalled.list_id)
    assert [s["SubscriberCount"] for s in listed["Segments"]] == ["111"]  # legacy rows are strings


def test_bulk_delete_and_unsubscribe_over_the_limit_answer_100006_and_change_nothing(api, engine, backend, user,
                                                                                    stalled, monkeypatch):
    before, everything = subscriber_ids(engine), stored_state(engine)
    with stalled_field_values(engine, backend, monkeypatch):
        assert_timed_out(api("Subscribers.Delete", user.session, SubscriberListID=stalled.list_id,
                             RulesJSON=stalled.rules_json, RulesOperator="and"))
        assert_timed_out(api("Subscriber.Unsubscribe", user.session, ListID=stalled.list_id, IPAddress="192.0.2.1",
                             RulesJSON=stalled.rules_json, RulesOperator="and"))
    assert subscriber_ids(engine) == before and stored_state(engine) == everything


def test_readying_a_campaign_is_not_held_up_by_a_slow_estimate(api, engine, backend, user, stalled, monkeypatch):
    """Campaign.Update → Ready estimates the audience for the published event; over the limit the
    estimate is 0 and the campaign is still armed (the tick writes the real audience later)."""
    campaign = api("Campaign.Create", user.session, CampaignName="Heavy")["CampaignID"]
    with stalled_field_values(engine, backend, monkeypatch):
        answer = api("Campaign.Update", user.session, CampaignID=campaign, RelEmailID=make_email(engine, user),
                     RecipientListsAndSegments=f"{stalled.list_id}:{stalled.segment_id}",
                     ScheduleType="Immediate", CampaignStatus="Ready")
    assert answer["Success"] is True, answer
    assert load_campaign(engine, campaign).status == "Ready"
    with engine.uow() as uow:
        [event] = uow.session.scalars(select(OutboxEvent).where(OutboxEvent.slug == "campaign_published_event"))
        assert json.loads(event.payload)["mailingListSizeEstimate"] == 0


def test_rest_answers_504_deadline_exceeded(engine, backend, user, stalled, monkeypatch):
    from protocol.app import create_app
    from protocol.rest.core import Endpoint
    from tests.helpers import RestCaller

    def count(ctx):
        return {"count": ctx.uow.audience.segment_count(ctx.uow.session.get(Segment, int(ctx.path["segmentId"])))}

    app = create_app(engine, rest_endpoints=[Endpoint("GET", "/test/segments/{segmentId}/count", count,
                                                      "Count a segment", "Test")])
    rest = RestCaller(app.test_client())
    with stalled_field_values(engine, backend, monkeypatch):
        answer = rest.get(f"/test/segments/{stalled.segment_id}/count", user.session)
    assert answer.status == 504 and answer.code == "DEADLINE_EXCEEDED" and "0.3 s" in answer.body["message"]
    assert rest.get(f"/test/segments/{stalled.segment_id}/count", user.session).body == {"count": 111}

