"""A/B testing through HTTP: Campaign.Update's ABTesting, SplitTest.Create, Campaign.ABTest.Get and
Campaign.Get's SplitABTestStatistics — every code, stored state after every call."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from engine.models import Delivery, Email, SendInstance
from engine.models.activity import SubscriberActivity
from engine.models.split_tests import CampaignVariation, SplitTest
from protocol.commands import campaigns as campaign_commands
from protocol.commands import split_tests as commands
from tests.builders import (
    CodeRecorder, assert_codes_reached, load_campaign, make_email, make_list, make_subscriber, set_campaign,
)
from tests.helpers import stored_state

SEEN: dict = {}
# Campaign.Update's other codes are the campaign tests' (tests/protocol/test_campaigns.py).
NEVER_EMITTED = {"Campaign.Update": [c for c in campaign_commands.CAMPAIGN_UPDATE.errors
                                     if c not in (17, 18, 19, 21, 22, 23, 24, 25, 31, 32)]}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def campaign(api, user):
    return api("Campaign.Create", user.session, CampaignName="A/B")["CampaignID"]


def variations(*pairs) -> dict:
    params = {}
    for n, (email_id, weight) in enumerate(pairs):
        params[f"ABTesting[Variations][{n}][emailid]"] = email_id
        params[f"ABTesting[Variations][{n}][weight]"] = weight
    return params


def stored_variations(engine, campaign_id) -> list[tuple[int, int, int]]:
    with engine.uow() as uow:
        return [tuple(r) for r in uow.session.execute(
            select(CampaignVariation.position, CampaignVariation.email_id, CampaignVariation.weight)
            .where(CampaignVariation.campaign_id == campaign_id).order_by(CampaignVariation.position))]


# --- Campaign.Update ABTesting -------------------------------------------------------------------
def test_update_stores_the_variations_and_get_shows_rel_email_id_0(api, user, engine, campaign):
    a, b = make_email(engine, user), make_email(engine, user)
    answer = api("Campaign.Update", user.session, CampaignID=campaign, **variations((a, 3), (b, 1)))
    assert answer == {"Success": True, "ErrorCode": 0}
    assert stored_variations(engine, campaign) == [(0, a, 3), (1, b, 1)]
    assert load_campaign(engine, campaign).email_id == a   # the first variation stands for the content
    got = api("Campaign.Get", user.session, CampaignID=campaign, SplitABTestStatistics="true")["Campaign"]
    assert got["RelEmailID"] == 0
    assert [(v["EmailID"], v["Weight"], v["Distribution"], v["TotalRecipient"]) for v in
            got["Options"]["ABTesting"]["Variations"]] == [(a, 3, 75, 0), (b, 1, 25, 0)]


def test_update_with_a_json_body_and_an_empty_abtesting_turns_it_off(api, user, engine, campaign):
    a, b, c = (make_email(engine, user) for _ in range(3))
    body = {"Command": "Campaign.Update", "SessionID": user.session, "CampaignID": campaign,
            "ABTesting": {"Variations": [{"EmailID": a, "Weight": 1}, {"EmailID": b, "Weight": 1},
                                         {"EmailID": c, "Weight": 2}]}}
    assert api.json(body)["Success"] is True
    assert stored_variations(engine, campaign) == [(0, a, 1), (1, b, 1), (2, c, 2)]
    assert api("Campaign.Update", user.session, CampaignID=campaign, ABTesting="", RelEmailID=b)["Success"]
    assert stored_variations(engine, campaign) == [] and load_campaign(engine, campaign).email_id == b
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Campaign"]["RelEmailID"] == b


def test_an_empty_abtesting_array_in_a_json_body_turns_it_off(api, user, engine, campaign):
    a, b = make_email(engine, user), make_email(engine, user)
    assert api("Campaign.Update", user.session, CampaignID=campaign, **variations((a, 1), (b, 1)))["Success"]
    body = {"Command": "Campaign.Update", "SessionID": user.session, "CampaignID": campaign, "ABTesting": []}
    assert api.json(body)["Success"] is True
    assert stored_variations(engine, campaign) == [] and load_campaign(engine, campaign).email_id == a


@pytest.mark.parametrize("params, code", [
    ({"ABTesting": "yes"}, 17),
    ({"ABTesting[Other]": "1"}, 18),
    ({"ABTesting[Variations]": "301"}, 18),
    ({"ABTesting[Variations][0][emailid]": "E1", "ABTesting[Variations][0][weight]": "1"}, 21),
    ({**{f"ABTesting[Variations][{n}][emailid]": f"E{n % 2 + 1}" for n in range(6)},
      **{f"ABTesting[Variations][{n}][weight]": "1" for n in range(6)}}, 22),
    ({"ABTesting[Variations][0][emailid]": "E1", "ABTesting[Variations][0][weight]": "1",
      "ABTesting[Variations][1][emailid]": "E2"}, 23),
    ({"ABTesting[Variations][0][emailid]": "E1", "ABTesting[Variations][0][weight]": "0",
      "ABTesting[Variations][1][emailid]": "E2", "ABTesting[Variations][1][weight]": "1"}, 24),
    ({"ABTesting[Variations][0][emailid]": "abc", "ABTesting[Variations][0][weight]": "1",
      "ABTesting[Variations][1][emailid]": "E2", "ABTesting[Variations][1][weight]": "1"}, 24),
    ({"ABTesting[Variations][0][emailid]": "E1", "ABTesting[Variations][0][weight]": "1",
      "ABTesting[Variations][1][emailid]": "E1", "ABTesting[Variations][1][weight]": "1"}, 24),
    ({"ABTesting[Variations][0][emailid]": "E1", "ABTesting[Variations][0][weight]": "1",
      "ABTesting[Variations][1][emailid]": "E2", "ABTesting[Variations][1][weight]": "200"}, 25),
])
def test_update_with_bad_variations_answers_its_code_and_changes_nothing(api, user, engine, campaign, params, code):
    e1, e2 = make_email(engine, user), make_email(engine, user)
    params = {k: v.replace("E1", str(e1)).replace("E2", str(e2)) for k, v in params.items()}
    before = stored_state(engine)
    answer = api("Campaign.Update", user.session, CampaignID=campaign, **params)
    assert (answer["Success"], answer["ErrorCode"]) == (False, code), answer
    assert stored_state(engine) == before


def test_update_with_another_accounts_email_is_19(api, user, other_user, engine, campaign):
    mine, theirs = make_email(engine, user), make_email(engine, other_user)
    before = stored_state(engine)
    answer = api("Campaign.Update", user.session, CampaignID=campaign, **variations((mine, 1), (theirs, 1)))
    assert (answer["Success"], answer["ErrorCode"]) == (False, 19)
    assert stored_state(engine) == before


# --- SplitTest.Create ----------------------------------------------------------------------------
def test_create_stores_the_split_test_and_a_second_call_changes_it(api, user, engine, campaign):
    answer = api("SplitTest.Create", user.session, CampaignID=campaign, TestSize=20, TestDuration=86400,
                 Winner="Highest Open Rate")
    assert answer == {"Success": True, "ErrorCode": 0, "SplitTestID": answer["SplitTestID"]}
    with engine.uow() as uow:
        test = uow.session.get(SplitTest, answer["SplitTestID"])
        assert (test.campaign_id, test.test_size, test.test_duration, test.winner_criterion) == \
            (campaign, 20, 86400, "Highest Open Rate")
        seed = test.seed
    again = api("SplitTest.Create", user.session, CampaignID=campaign, TestSize="35", TestDuration="60",
                Winner="most unique clicks")
    assert again["SplitTestID"] == answer["SplitTestID"]
    with engine.uow() as uow:
        tests = list(uow.session.scalars(select(SplitTest)))
        assert [(t.test_size, t.test_duration, t.winner_criterion, t.seed) for t in tests] == \
            [(35, 60, "Most Unique Clicks", seed)]


def test_create_without_parameters_lists_every_missing_code(api, user, engine):
    before = stored_state(engine)
    answer = api("SplitTest.Create", user.session)
    assert answer["Success"] is False and answer["ErrorCode"] == [1, 2, 4, 5]
    assert stored_state(engine) == before


@pytest.mark.parametrize("params, code", [
    ({"CampaignID": "abc"}, 1),
    ({"TestSize": "0"}, 2), ({"TestSize": "101"}, 2), ({"TestSize": "ten"}, 2),
    ({"TestDuration": "-1"}, 4), ({"TestDuration": "1h"}, 4),
    ({"Winner": "Most Opens"}, 5),
])
def test_create_with_an_invalid_value_answers_its_code(api, user, engine, campaign, params, code):
    full = {"CampaignID": campaign, "TestSize": 20, "TestDuration": 3600, "Winner": "Highest Open Rate", **params}
    before = stored_state(engine)
    answer = api("SplitTest.Create", user.session, **full)
    assert answer["Success"] is False and answer["ErrorCode"] == [code]
    assert stored_state(engine) == before


def test_create_on_another_accounts_campaign_is_6(api, user, other_user, engine, campaign):
    before = stored_state(engine)
    answer = api("SplitTest.Create", other_user.session, CampaignID=campaign, TestSize=20, TestDuration=60,
                 Winner="Most Unique Clicks")
    assert answer["ErrorCode"] == [6] and stored_state(engine) == before


@pytest.mark.parametrize("status", ["Sending", "Sent", "Paused"])
def test_create_on_a_campaign_being_sent_is_7(api, user, engine, campaign, status):
    set_campaign(engine, campaign, status=status)
    before = stored_state(engine)
    answer = api("SplitTest.Create", user.session, CampaignID=campaign, TestSize=20, TestDuration=60,
                 Winner="Most Unique Clicks")
    assert answer["ErrorCode"] == [7] and stored_state(engine) == before


# --- Campaign.ABTest.Get ---------------------------------------------------------------------------
def test_abtest_get_of_a_plain_campaign(api, user, campaign):
    answer = api("Campaign.ABTest.Get", user.session, CampaignID=campaign)
    assert answer == {"Success": True, "ErrorCode": 0, "CampaignID": campaign,
                      "ABTest": {"IsABTest": False, "Variations": [], "Winner": None},
                      "AutoResend": None, "ParentCampaign": None}


def sent_ab_campaign(engine, user, campaign, api) -> tuple[int, int, list[int]]:
    """Two variations, a ledger of 5 rows for A and 4 for B, some of them sent, opened and clicked."""
    a = make_email(engine, user, email_name="Variation A", subject="Subject A", from_name="Acme",
                   from_email="news@sender.example", html_content="<p>A</p>", plain_content="")
    b = make_email(engine, user, email_name="Variation B", subject="Subject B", html_content="<p>B</p>",
                   plain_content="B")
    assert api("Campaign.Update", user.session, CampaignID=campaign, **variations((a, 1), (b, 1)))["Success"]
    list_id = make_list(engine, user)
    subscribers = [make_subscriber(engine, list_id, f"s{i}@example.com") for i in range(9)]
    with engine.uow() as uow:
        instance = SendInstance(campaign_id=campaign, number=1, scheduled_for=uow.clock(), started_at=uow.clock(),
                                state="sending")
        uow.session.add(instance)
        uow.session.flush()
        states = ["sent", "sent", "sent", "sent", "failed", "sent", "sent", "pending", "pending"]
        uow.session.execute(insert(Delivery), [
            {"instance_id": instance.id, "subscriber_id": sid, "email_normalized": f"s{i}@example.com",
             "email_id": a if i < 5 else b, "state": states[i]} for i, sid in enumerate(subscribers)])
        for i, kind in ((0, "open"), (1, "open"), (1, "click"), (5, "open"), (5, "open"), (6, "click")):
            uow.session.add(SubscriberActivity(subscriber_id=subscribers[i], campaign_id=campaign,
                                               email_id=a if i < 5 else b, kind=kind, occurred_at=uow.clock()))
        uow.commit()
    return a, b, subscribers


def test_abtest_get_reports_each_variation_and_the_best_open_rate(api, user, engine, campaign):
    a, b, _ = sent_ab_campaign(engine, user, campaign, api)
    before = stored_state(engine)
    answer = api("Campaign.ABTest.Get", user.session, CampaignID=campaign)
    assert stored_state(engine) == before
    test = answer["ABTest"]
    assert test["IsABTest"] is True
    assert test["Variations"][0] == {
        "EmailID": a, "EmailName": "Variation A", "Subject": "Subject A", "FromName": "Acme",
        "FromEmail": "news@sender.example", "ContentType": "HTML", "TotalRecipients": 5, "TotalSent": 4,
        "TotalFailed": 1, "UniqueOpens": 2, "UniqueClicks": 1, "Unsubscriptions": 0, "Revenue": "0.00",
        "OpenRate": 50, "ClickRate": 25, "CTOR": 50}
    second = test["Variations"][1]
    assert (second["EmailID"], second["ContentType"], second["TotalRecipients"], second["TotalSent"],
            second["UniqueOpens"], second["UniqueClicks"], second["OpenRate"], second["CTOR"]) == \
        (b, "Both", 4, 2, 1, 1, 50, 100)
    # Without a split test the winner is the best open rate; 2/4 and 1/2 tie: the lowest email id.
    assert test["Winner"] == {"EmailID": a, "EmailName": "Variation A"}
    options = api("Campaign.Get", user.session, CampaignID=campaign, SplitABTestStatistics="1")["Campaign"]["Options"]
    assert options["ABTesting"]["Variations"][1] == {
        "EmailID": b, "Weight": 1, "Distribution": 50, "TotalRecipient": 4, "TotalSent": 2, "TotalFailed": 0,
        "UniqueOpens": 1, "UniqueClicks": 1, "TotalRevenue": 0, "TotalUnsubscriptions": 0, "IsWinner": False}


def test_campaign_get_without_the_flag_has_no_options(api, user, engine, campaign):
    sent_ab_campaign(engine, user, campaign, api)
    assert "Options" not in api("Campaign.Get", user.session, CampaignID=campaign)["Campaign"]


@pytest.mark.parametrize("value", [None, "abc", "0"])
def test_abtest_get_without_a_numeric_campaign_id_is_2(api, user, value):
    params = {} if value is None else {"CampaignID": value}
    answer = api("Campaign.ABTest.Get", user.session, **params)
    assert (answer["Success"], answer["ErrorCode"]) == (False, 2) and "ErrorMessage" in answer


def test_abtest_get_of_another_accounts_campaign_is_3(api, user, other_user, campaign):
    answer = api("Campaign.ABTest.Get", other_user.session, CampaignID=campaign)
    assert (answer["Success"], answer["ErrorCode"]) == (False, 3)
    assert api("Campaign.ABTest.Get", user.session, CampaignID=campaign + 1000)["ErrorCode"] == 3


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, (*commands.COMMANDS, campaign_commands.CAMPAIGN_UPDATE), NEVER_EMITTED)


@pytest.mark.parametrize("fields, code", [
    ({"from_email": "news@elsewhere.example"}, 31),
    ({"subject": "Hello %Subscriber:Nonsense%"}, 32),
])
def test_arming_checks_every_variation_not_only_the_first(api, user, engine, campaign, fields, code):
    list_id = make_list(engine, user)
    make_subscriber(engine, list_id, "a@example.com")
    a, b = make_email(engine, user), make_email(engine, user, **fields)
    assert api("Campaign.Update", user.session, CampaignID=campaign, RecipientListsAndSegments=f"{list_id}:0",
               ScheduleType="Immediate", **variations((a, 1), (b, 1)))["Success"]
    before = stored_state(engine)
    answer = api("Campaign.Update", user.session, CampaignID=campaign, CampaignStatus="Ready")
    assert (answer["Success"], answer["ErrorCode"]) == (False, code), answer
    assert stored_state(engine) == before
    assert api("Campaign.Update", user.session, CampaignID=campaign, CampaignStatus="Ready",
               **variations((a, 1), (make_email(engine, user), 1)))["Success"]
    assert load_campaign(engine, campaign).status == "Ready"


# --- Campaign.Copy of an A/B campaign -------------------------------------------------------------
def test_copy_duplicates_every_variation_email_and_keeps_the_split_test_with_a_seed_of_its_own(
        api, user, engine, campaign):
    a = make_email(engine, user, email_name="A", subject="Subject A", html_content="<p>A</p>")
    b = make_email(engine, user, email_name="B", subject="Subject B", html_content="<p>B</p>")
    assert api("Campaign.Update", user.session, CampaignID=campaign, **variations((a, 3), (b, 1)))["Success"]
    assert api("SplitTest.Create", user.session, CampaignID=campaign, TestSize=20, TestDuration=3600,
               Winner="Most Unique Clicks")["Success"]
    new = int(api("Campaign.Copy", user.session, CampaignID=campaign)["NewCampaignID"])
    copied = stored_variations(engine, new)
    assert [(position, weight) for position, _, weight in copied] == [(0, 3), (1, 1)]
    new_a, new_b = (email for _, email, _ in copied)
    assert len({a, b, new_a, new_b}) == 4                        # new email rows, not the originals
    assert load_campaign(engine, new).email_id == new_a         # the first variation stands for the content
    assert stored_variations(engine, campaign) == [(0, a, 3), (1, b, 1)]   # the original keeps its own
    with engine.uow() as uow:
        for source, copy in ((a, new_a), (b, new_b)):
            original_row, copy_row = uow.session.get(Email, source), uow.session.get(Email, copy)
            assert (copy_row.owner_user_id, copy_row.subject, copy_row.html_content) == \
                (user.id, original_row.subject, original_row.html_content)
        tests = {t.campaign_id: (t.id, t.test_size, t.test_duration, t.winner_criterion)
                 for t in uow.session.scalars(select(SplitTest))}
    assert tests[new][1:] == (20, 3600, "Most Unique Clicks") and tests[new][0] != tests[campaign][0]
    got = api("Campaign.Get", user.session, CampaignID=new, SplitABTestStatistics="1")["Campaign"]
    assert got["RelEmailID"] == 0
    assert [(v["EmailID"], v["Weight"], v["Distribution"]) for v in got["Options"]["ABTesting"]["Variations"]] \
        == [(new_a, 3, 75), (new_b, 1, 25)]


def test_copy_of_a_plain_campaign_has_no_variations_and_no_split_test(api, user, engine, campaign):
    email = make_email(engine, user)
    assert api("Campaign.Update", user.session, CampaignID=campaign, RelEmailID=email)["Success"]
    new = int(api("Campaign.Copy", user.session, CampaignID=campaign)["NewCampaignID"])
    assert stored_variations(engine, new) == []
    with engine.uow() as uow:
        assert uow.session.scalar(select(SplitTest).where(SplitTest.campaign_id == new)) is None
    assert load_campaign(engine, new).email_id not in (None, email)
