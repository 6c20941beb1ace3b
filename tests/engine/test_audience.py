"""Campaign audiences and segment selection on the three databases (protocol.md Part 1 §9, §10)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.accounts.auth import Actor
from engine.errors import InvalidCampaignStatus, InvalidRecipients, InvalidRules, NoAudience, SegmentNotFound
from engine.models import (
    Campaign, CampaignRecipient, CustomField, Segment, Subscriber, SubscriberActivity, SubscriberFieldValue,
    SubscriberList, Suppression,
)
from tests import audience_reference as ref


@dataclass
class Scenario:
    owner: Actor
    other: Actor
    lists: dict[str, int]
    ids: dict[str, int]      # "L1:ann" → subscriber id
    world: ref.World
    country: int             # custom field on L1


# Per list: (address, status, bounce, complained)
PEOPLE = {
    "L1": [("ann@x.com", "Subscribed", "Not Bounced", False), ("Bob@X.com", "Subscribed", "Not Bounced", False),
           ("carl@x.com", "Unsubscribed", "Not Bounced", False), ("dora@x.com", "Opt-In Pending", "Not Bounced", False),
           ("eve@x.com", "Subscribed", "Hard", False), ("fay@x.com", "Subscribed", "Not Bounced", True),
           ("gus@x.com", "Subscribed", "Not Bounced", False), ("hal@x.com", "Subscribed", "Soft", False),
           ("ÅSA@x.com", "Subscribed", "Not Bounced", False)],
    "L2": [("BOB@x.com", "Subscribed", "Not Bounced", False), ("hal@x.com", "Subscribed", "Not Bounced", False),
           ("carl@x.com", "Subscribed", "Not Bounced", False), ("eve@x.com", "Subscribed", "Not Bounced", False),
           ("ivy@x.com", "Subscribed", "Not Bounced", False), ("åsa@x.com", "Subscribed", "Not Bounced", False)],
    "L3": [("ivy@x.com", "Unsubscribed", "Not Bounced", False)],
    "LB": [("ann@x.com", "Subscribed", "Not Bounced", False)],
}


@pytest.fixture
def scenario(engine, clock) -> Scenario:
    with engine.uow() as uow:
        s = uow.session
        uow.accounts.ensure_default_group()
        owner = uow.accounts.create_user(username="owner", password="owner-pass-1", email="owner@example.com")
        other = uow.accounts.create_user(username="other", password="other-pass-1", email="other@example.com")
        lists = {}
        for name in PEOPLE:
            row = SubscriberList(owner_user_id=other.id if name == "LB" else owner.id, name=name,
                                 created_at=clock())
            s.add(row)
            s.flush()
            lists[name] = row.id
        country = CustomField(owner_user_id=owner.id, list_id=lists["L1"], name="Country", created_at=clock())
        s.add(country)
        s.flush()
        ids, rows = {}, []
        for name, people in PEOPLE.items():
            for address, status, bounce, complained in people:
                sub = Subscriber(list_id=lists[name], email_address=address, email_normalized=address.lower(),
                                 subscription_status=status, bounce_type=bounce, subscription_date=clock(),
                                 complained_at=clock() if complained else None)
                s.add(sub)
                s.flush()
                ids[f"{name}:{address.lower()}"] = sub.id
                if name != "LB":
                    rows.append(ref.Row(sub.id, lists[name], address, address.lower(), status, bounce, clock(),
                                        complained=complained))
        s.add_all([
            SubscriberFieldValue(subscriber_id=ids["L1:ann@x.com"], field_id=country.id, value_text="UK"),
            SubscriberFieldValue(subscriber_id=ids["L1:bob@x.com"], field_id=country.id, value_text="ie"),
            Suppression(owner_user_id=owner.id, list_id=None, list_scope=0, email_normalized="gus@x.com"),
            Suppression(owner_user_id=owner.id, list_id=lists["L2"], list_scope=lists["L2"],
                        email_normalized="hal@x.com"),
            # another account's suppression never touches this owner's audience
            Suppression(owner_user_id=other.id, list_id=None, list_scope=0, email_normalized="ann@x.com"),
        ])
        uow.commit()
        world = ref.World(owner.id, clock(), rows, suppressions=[(None, "gus@x.com"), (lists["L2"], "hal@x.com")])
        return Scenario(Actor("user", owner.id, "*"), Actor("user", other.id, "*"), lists, ids, world, country.id)


def make_campaign(engine, owner_id: int, *, include=(), exclude=(), bundle="", status="Draft") -> int:
    with engine.uow() as uow:
        campaign = Campaign(owner_user_id=owner_id, name="C", status=status, rules_json_bundle=bundle,
                            created_at=uow.clock(), last_activity_at=uow.clock())
        campaign.recipients = [CampaignRecipient(list_id=l, segment_id=seg, excluded=False) for l, seg in include] + \
                              [CampaignRecipient(list_id=l, segment_id=seg, excluded=True) for l, seg in exclude]
        uow.session.add(campaign)
        uow.commit()
        return campaign.id


def make_segment(engine, owner_id: int, list_id: int, rules_json: str, operator: str = "or") -> int:
    with engine.uow() as uow:
        segment = Segment(owner_user_id=owner_id, list_id=list_id, name="S", rules_json=rules_json,
                          rules_operator=operator, created_at=uow.clock())
        uow.session.add(segment)
        uow.commit()
        return segment.id


def recipients(engine, campaign_id: int) -> set[int]:
    with engine.uow() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        return set(uow.session.scalars(uow.audience.campaign_audience_query(campaign).with_only_columns(Subscriber.id)))


def field(field_id, operator, value=""):
    return {"type": "fields", "field_id": str(field_id), "operator": operator, "value": value}


# --- lists, exclusions, deliverability, de-duplication ---------------------------------------------
def test_union_minus_exclusions_unsubscribed_bounced_complained_and_suppressed(engine, scenario):
    L = scenario.lists
    campaign = make_campaign(engine, scenario.owner.id, include=[(L["L1"], 0), (L["L2"], 0)],
                             exclude=[(L["L3"], 0)])
    got = recipients(engine, campaign)
    i = scenario.ids
    # ann; bob once (lowest ID, L1); carl through L2 (unsubscribed only from L1); hal through L1 (suppressed
    # only for L2); åsa once. Not: dora (pending), eve (hard-bounced on L1, so on every list), fay
    # (complained), gus (suppressed account-wide), ivy (on the excluded list, even unsubscribed there).
    assert got == {i["L1:ann@x.com"], i["L1:bob@x.com"], i["L2:carl@x.com"], i["L1:hal@x.com"], i["L1:åsa@x.com"]}
    reference = ref.audience_ids(scenario.world, [(L["L1"], None), (L["L2"], None)], [(L["L3"], None)])
    assert got == reference


def test_one_message_per_person_whatever_the_case_of_the_address(engine, scenario):
    L = scenario.lists
    got = recipients(engine, make_campaign(engine, scenario.owner.id, include=[(L["L2"], 0), (L["L1"], 0)]))
    with engine.uow() as uow:
        addresses = [uow.session.get(Subscriber, i).email_normalized for i in got]
    assert len(addresses) == len(set(addresses)) and "bob@x.com" in addresses and "åsa@x.com" in addresses


def test_segments_as_recipients_and_as_exclusions(engine, scenario):
    L, i = scenario.lists, scenario.ids
    uk_or_ie = make_segment(engine, scenario.owner.id, L["L1"], json.dumps(
        [[field(scenario.country, "is", "uk")], [field(scenario.country, "is", "IE")]]))
    only_b = make_segment(engine, scenario.owner.id, L["L1"], json.dumps([[field("EmailAddress", "begins with", "b")]]))
    assert recipients(engine, make_campaign(engine, scenario.owner.id, include=[(L["L1"], uk_or_ie)])) == \
        {i["L1:ann@x.com"], i["L1:bob@x.com"]}
    got = recipients(engine, make_campaign(engine, scenario.owner.id, include=[(L["L1"], uk_or_ie), (L["L2"], 0)],
                                           exclude=[(L["L1"], only_b)]))
    # bob is excluded as a person: his L2 row goes too
    assert i["L1:bob@x.com"] not in got and i["L2:bob@x.com"] not in got and i["L1:ann@x.com"] in got


def test_a_segment_without_rules_selects_nobody(engine, scenario):
    empty = make_segment(engine, scenario.owner.id, scenario.lists["L1"], "")
    assert recipients(engine, make_campaign(engine, scenario.owner.id, include=[(scenario.lists["L1"], empty)])) == set()
    with engine.uow() as uow:
        assert list(uow.session.scalars(uow.audience.segment_subscriber_ids(scenario.owner, empty))) == []


# --- RulesJsonBundle ----------------------------------------------------------------------------------
def bundle(operator, *criteria):
    return json.dumps({"operator": operator, "criteria": [
        {"list_id": list_id, "operator": op, "rules": rules} for list_id, op, rules in criteria]})


def test_bundle_or_is_the_union_of_its_criteria(engine, scenario):
    L, i = scenario.lists, scenario.ids
    doc = bundle("or", (L["L1"], "and", [field("EmailAddress", "contains", "a"), field("EmailAddress", "ends with",
                                                                                         ".COM")]),
                 (L["L2"], "or", [field("EmailAddress", "contains", "ivy"), field("EmailAddress", "contains", "bob")]))
    got = recipients(engine, make_campaign(engine, scenario.owner.id, bundle=doc))
    # L1: ann, hal, åsa ("a" and ".com"; carl/dora/fay are not deliverable); L2: ivy, bob (L1's bob is not
    # selected by L1's criterion, so the L2 row is the one)
    assert got == {i["L1:ann@x.com"], i["L1:hal@x.com"], i["L1:åsa@x.com"], i["L2:ivy@x.com"], i["L2:bob@x.com"]}


def test_bundle_and_needs_every_criterion_to_match_the_person(engine, scenario):
    L, i = scenario.lists, scenario.ids
    doc = bundle("and", (L["L1"], "and", [field("EmailAddress", "is_not_empty")]),
                 (L["L2"], "and", [field("EmailAddress", "is_not_empty")]))
    got = recipients(engine, make_campaign(engine, scenario.owner.id, bundle=doc))
    # people on both lists, deliverable: bob, hal (L1 row), carl (L2 row), åsa
    assert got == {i["L1:bob@x.com"], i["L1:hal@x.com"], i["L2:carl@x.com"], i["L1:åsa@x.com"]}


def test_the_bundle_overrides_list_targeting(engine, scenario):
    L, i = scenario.lists, scenario.ids
    doc = bundle("or", (L["L1"], "and", [field("EmailAddress", "is", "ANN@x.com")]))
    got = recipients(engine, make_campaign(engine, scenario.owner.id, bundle=doc, include=[(L["L2"], 0)]))
    assert got == {i["L1:ann@x.com"]}


@pytest.mark.parametrize("doc, error", [
    ("not json", InvalidRules), ('{"operator":"or","criteria":[]}', InvalidRules),
    ('{"operator":"or","criteria":[{"list_id":1,"rules":[[{"type":"nonsense"}]]}]}', InvalidRules),
])
def test_unusable_bundles_fail_closed(engine, scenario, doc, error):
    doc = doc.replace('"list_id":1', f'"list_id":{scenario.lists["L1"]}')
    campaign = make_campaign(engine, scenario.owner.id, bundle=doc)
    with pytest.raises(error):
        recipients(engine, campaign)


def test_a_bundle_naming_another_accounts_list_is_refused(engine, scenario):
    doc = bundle("or", (scenario.lists["LB"], "and", [field("EmailAddress", "is_not_empty")]))
    with pytest.raises(InvalidRecipients):
        recipients(engine, make_campaign(engine, scenario.owner.id, bundle=doc))


def test_targeting_problems(engine, scenario):
    L = scenario.lists
    with pytest.raises(NoAudience):
        recipients(engine, make_campaign(engine, scenario.owner.id))
    with pytest.raises(NoAudience):  # exclusions alone target nobody
        recipients(engine, make_campaign(engine, scenario.owner.id, exclude=[(L["L1"], 0)]))
    foreign_segment = make_segment(engine, scenario.other.id, L["LB"], "")
    with pytest.raises(InvalidRecipients):
        recipients(engine, make_campaign(engine, scenario.owner.id, include=[(L["L1"], foreign_segment)]))
    moved = make_segment(engine, scenario.owner.id, L["L2"], "")
    with pytest.raises(InvalidRecipients):
        recipients(engine, make_campaign(engine, scenario.owner.id, include=[(L["L1"], moved)]))


def test_a_segment_whose_custom_field_was_deleted_fails_closed(engine, scenario):
    L = scenario.lists
    segment = make_segment(engine, scenario.owner.id, L["L1"], json.dumps([[field(scenario.country, "is not", "x")]]))
    campaign = make_campaign(engine, scenario.owner.id, include=[(L["L1"], segment)])
    with engine.uow() as uow:
        uow.session.delete(uow.session.get(CustomField, scenario.country))
        uow.commit()
    with pytest.raises(InvalidRules, match="custom field"):
        recipients(engine, campaign)


# --- activity rules ---------------------------------------------------------------------------------------
def test_campaign_event_rules_read_subscriber_activity(engine, scenario, clock):
    L, i = scenario.lists, scenario.ids
    sent = make_campaign(engine, scenario.owner.id, include=[(L["L1"], 0)], status="Draft")
    with engine.uow() as uow:
        for key, kind, days in (("L1:ann@x.com", "open", 1), ("L1:ann@x.com", "open", 2), ("L1:bob@x.com", "open", 40),
                                ("L1:hal@x.com", "click", 3)):
            uow.session.add(SubscriberActivity(subscriber_id=i[key], campaign_id=sent, kind=kind,
                                               occurred_at=clock() - timedelta(days=days)))
        uow.commit()
    recent = make_segment(engine, scenario.owner.id, L["L1"], json.dumps([[{
        "type": "campaign-events", "operator": "opened", "value": [sent],
        "time_filter": {"type": "in_last_x_days", "value": 30}}]]))
    twice = make_segment(engine, scenario.owner.id, L["L1"], json.dumps([[{
        "type": "campaign-events", "operator": "opened", "value": "", "aggregation": {"operator": "at_least", "count": 2}}]]))
    lapsed = make_segment(engine, scenario.owner.id, L["L1"], json.dumps([[
        {"type": "campaign-events", "operator": "not opened", "value": "",
         "time_filter": {"type": "in_last_x_days", "value": 30}},
        {"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "b"}]]))
    with engine.uow() as uow:
        def members(segment_id):
            return set(uow.session.scalars(uow.audience.segment_subscriber_ids(scenario.owner, segment_id)))
        assert members(recent) == {i["L1:ann@x.com"]}
        assert members(twice) == {i["L1:ann@x.com"]}
        assert members(lapsed) == {i["L1:bob@x.com"]}


# --- segment selection and preview ----------------------------------------------------------------------------
def test_segment_subscriber_ids_is_scoped_to_the_owner(engine, scenario):
    segment = make_segment(engine, scenario.owner.id, scenario.lists["L1"], json.dumps([[field("EmailAddress", "is set")]]))
    with engine.uow() as uow:
        ids = set(uow.session.scalars(uow.audience.segment_subscriber_ids(scenario.owner, segment)))
        assert ids == {v for k, v in scenario.ids.items() if k.startswith("L1:")}  # every status
        with pytest.raises(SegmentNotFound):
            uow.audience.segment_subscriber_ids(scenario.other, segment)
        with pytest.raises(SegmentNotFound):
            uow.audience.segment_subscriber_ids(scenario.owner, segment + 1000)


def test_preview_counts_samples_and_shows_the_sql(engine, scenario):
    L, i = scenario.lists, scenario.ids
    campaign = make_campaign(engine, scenario.owner.id, include=[(L["L1"], 0), (L["L2"], 0)])
    everyone = sorted(recipients(engine, campaign))
    with engine.uow() as uow:
        result = uow.audience.preview(scenario.owner, campaign, sample=2)
        assert result.total == 6 and [s.id for s in result.recipients] == everyone[:2]
        assert "GROUP BY candidate.email_normalized" in result.sql and "'Subscribed'" in result.sql
        later = uow.audience.preview(scenario.owner, campaign, sample=10, offset=5)
        assert len(later.recipients) == 1
        admin = uow.audience.preview(Actor("admin", 1, "*"), campaign, sample=0)
        assert admin.total == 6 and admin.recipients == []


@pytest.mark.parametrize("status", ["Sending", "Sent", "Paused", "Failed"])
def test_preview_only_before_sending(engine, scenario, status):
    campaign = make_campaign(engine, scenario.owner.id, include=[(scenario.lists["L1"], 0)], status=status)
    with engine.uow() as uow:
        with pytest.raises(InvalidCampaignStatus):
            uow.audience.preview(scenario.owner, campaign)


def test_the_audience_query_only_reads(engine, scenario):
    campaign = make_campaign(engine, scenario.owner.id, include=[(scenario.lists["L1"], 0)])
    with engine.uow() as uow:
        before = uow.session.scalar(select(Subscriber.id).order_by(Subscriber.id.desc()).limit(1))
        uow.audience.preview(scenario.owner, campaign)
        assert not uow.session.new and not uow.session.dirty
        assert uow.session.scalar(select(Subscriber.id).order_by(Subscriber.id.desc()).limit(1)) == before


# --- sendmill audience CAMPAIGN_ID ---------------------------------------------------------------------------------
def run_cli(database_url, tmp_path, *args):
    from click.testing import CliRunner

    from scheduler.cli import main

    env = {"SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": "test-secret",
           "SENDMILL_DATA_DIR": str(tmp_path)}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_cli_prints_count_sample_and_sql(engine, scenario, database_url, tmp_path):
    L, i = scenario.lists, scenario.ids
    campaign = make_campaign(engine, scenario.owner.id, include=[(L["L1"], 0)], exclude=[(L["L2"], 0)],
                             status="Sent")  # any status: it is an operator's tool
    result = run_cli(database_url, tmp_path, "audience", str(campaign), "--sample", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f'campaign {campaign} "C" (Sent): 1 recipients'
    assert lines[1] == f"  {i['L1:ann@x.com']}  ann@x.com  (list {L['L1']})"
    assert lines[2] == "SQL (values inlined for reading):" and lines[3].startswith("SELECT subscribers.id")


def test_cli_explains_a_missing_campaign_or_audience(engine, scenario, database_url, tmp_path):
    result = run_cli(database_url, tmp_path, "audience", "999999")
    assert result.exit_code == 1 and "campaign 999999 does not exist" in result.output
    campaign = make_campaign(engine, scenario.owner.id)
    result = run_cli(database_url, tmp_path, "audience", str(campaign))
    assert result.exit_code == 1 and "no recipients, RulesJsonBundle or criteria" in result.output


def tag_list_members(engine, scenario, *addresses: str) -> int:
    """A tag on L1 carried by the given L1 addresses; its ID."""
    from engine.models import SubscriberTag, SubscriberTagAssignment

    with engine.uow() as uow:
        tag = SubscriberTag(list_id=scenario.lists["L1"], owner_user_id=scenario.owner.id, name="vip",
                            name_digest="vip", created_at=uow.clock())
        uow.session.add(tag)
        uow.session.flush()
        uow.session.add_all(SubscriberTagAssignment(subscriber_id=scenario.ids[f"L1:{a}"], tag_id=tag.id,
                                                    tagged_at=uow.clock()) for a in addresses)
        uow.commit()
        return tag.id


def test_cli_shows_a_tag_rule_in_count_sample_and_sql(engine, scenario, database_url, tmp_path):
    L, i = scenario.lists, scenario.ids
    tag_id = tag_list_members(engine, scenario, "bob@x.com", "carl@x.com")
    bundle = json.dumps({"operator": "or", "criteria": [{"list_id": L["L1"], "operator": "and", "rules": [
        {"type": "tags", "operator": "has this tag", "value": str(tag_id)}]}]})
    campaign = make_campaign(engine, scenario.owner.id, bundle=bundle)
    result = run_cli(database_url, tmp_path, "audience", str(campaign))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # carl carries the tag too, but is unsubscribed from L1
    assert lines[:2] == [f'campaign {campaign} "C" (Draft): 1 recipients', f"  {i['L1:bob@x.com']}  Bob@X.com  (list {L['L1']})"]
    assert "subscriber_tag_assignments" in result.output and f"tag_id = {tag_id}" in result.output
    untagged = json.dumps({"operator": "or", "criteria": [{"list_id": L["L1"], "operator": "and", "rules": [
        {"type": "tags", "operator": "has no tags"}, {"type": "fields", "field_id": "EmailAddress", "operator": "is",
                                                      "value": "ann@x.com"}]}]})
    result = run_cli(database_url, tmp_path, "audience", str(make_campaign(engine, scenario.owner.id, bundle=untagged)))
    assert result.exit_code == 0 and ": 1 recipients" in result.output.splitlines()[0], result.output
