"""Campaign.Get's SplitABTestStatistics with RetrieveStatistics, from real tracking hits: the open pixel,
the click redirect and the unsubscription link of each variation's messages, counted per variation."""
from __future__ import annotations

from sqlalchemy import insert

from engine.models import Delivery, SendInstance
from engine.models.split_tests import SplitTest, SplitTestDecision
from engine.tracking.tokens import Kind, Signer
from tests.builders import load_campaign, make_email, make_list, make_subscriber, set_campaign
from tests.helpers import stored_state

LINKED = '<p>Hi</p><a href="https://shop.example/{}">Shop</a><a href="%Link:Unsubscribe%">Unsubscribe</a>'


def hit(client, signer, nonce, instance_id, kind, subscriber_id, **extra):
    path = {Kind.OPEN: "o", Kind.CLICK: "c", Kind.UNSUBSCRIBE: "u"}[kind]
    token = signer.sign(kind, instance_id=instance_id, subscriber_id=subscriber_id, nonce=nonce, **extra)
    if kind is Kind.UNSUBSCRIBE:
        return client.post(f"/t/{path}/{token}", data={"List-Unsubscribe": "One-Click"})
    return client.get(f"/t/{path}/{token}")


def sent_ab(engine, api, user):
    """Variation A to s0…s3 (s3 failed), B to s4…s6: a 'sent' ledger row per message."""
    a = make_email(engine, user, html_content=LINKED.format("a"))
    b = make_email(engine, user, html_content=LINKED.format("b"))
    campaign = api("Campaign.Create", user.session, CampaignName="A/B")["CampaignID"]
    assert api("Campaign.Update", user.session, CampaignID=campaign,
               **{"ABTesting[Variations][0][emailid]": a, "ABTesting[Variations][0][weight]": 1,
                  "ABTesting[Variations][1][emailid]": b, "ABTesting[Variations][1][weight]": 1})["Success"]
    set_campaign(engine, campaign, status="Sent", total_sent=6, total_failed=1)
    list_id = make_list(engine, user)
    people = [make_subscriber(engine, list_id, f"s{i}@example.com") for i in range(7)]
    with engine.uow() as uow:
        now = uow.clock()
        instance = SendInstance(campaign_id=campaign, number=1, scheduled_for=now, started_at=now, state="done")
        uow.session.add(instance)
        uow.session.flush()
        uow.session.execute(insert(Delivery), [
            {"instance_id": instance.id, "subscriber_id": sid, "email_normalized": f"s{i}@example.com",
             "email_id": a if i < 4 else b, "state": "failed" if i == 3 else "sent"}
            for i, sid in enumerate(people)])
        uow.commit()
        instance_id = instance.id
    return campaign, instance_id, a, b, people


def test_each_variation_counts_its_own_tracked_opens_clicks_and_unsubscriptions(client, api, user, engine):
    campaign, instance, a, b, s = sent_ab(engine, api, user)
    signer, nonce = Signer(engine.settings.secret_key), load_campaign(engine, campaign).public_nonce
    for person in (s[0], s[0], s[1]):                        # A: 3 opens by 2 people
        assert hit(client, signer, nonce, instance, Kind.OPEN, person).status_code == 200
    for person in (s[4], s[4], s[4], s[5]):                   # B: opens 4 (3 + 1)
        hit(client, signer, nonce, instance, Kind.OPEN, person)
    # B: 3 clicks by 2 people; s6 clicked without a tracked open, which counts as an open too.
    for person in (s[5], s[5], s[6]):
        answer = hit(client, signer, nonce, instance, Kind.CLICK, person, link_index=0)
        assert answer.status_code == 302 and answer.headers["Location"] == "https://shop.example/b"
    assert hit(client, signer, nonce, instance, Kind.CLICK, s[0], link_index=0).headers["Location"] == \
        "https://shop.example/a"
    assert hit(client, signer, nonce, instance, Kind.UNSUBSCRIBE, s[2]).status_code == 200   # A

    before = stored_state(engine)
    got = api("Campaign.Get", user.session, CampaignID=campaign, RetrieveStatistics="true",
              SplitABTestStatistics="true")["Campaign"]
    assert stored_state(engine) == before
    assert got["Options"]["ABTesting"]["Variations"] == [
        {"EmailID": a, "Weight": 1, "Distribution": 50, "TotalRecipient": 4, "TotalSent": 3, "TotalFailed": 1,
         "UniqueOpens": 2, "UniqueClicks": 1, "TotalRevenue": 0, "TotalUnsubscriptions": 1, "IsWinner": False},
        {"EmailID": b, "Weight": 1, "Distribution": 50, "TotalRecipient": 3, "TotalSent": 3, "TotalFailed": 0,
         "UniqueOpens": 3, "UniqueClicks": 2, "TotalRevenue": 0, "TotalUnsubscriptions": 0, "IsWinner": True}]
    stats = got["Statistics"]
    assert stats["OpenStatistics"]["Variations"] == [
        {"RelEmailID": a, "TotalSent": 3, "TotalOpens": 3, "UniqueOpens": 2, "OpenRatio": "66.67"},
        {"RelEmailID": b, "TotalSent": 3, "TotalOpens": 5, "UniqueOpens": 3, "OpenRatio": "100.00"}]
    assert stats["ClickStatistics"]["Variations"] == [
        {"RelEmailID": a, "TotalSent": 3, "TotalClicks": 1, "UniqueClicks": 1,
         "ClickRatio": "33.33", "ClickToOpenRatio": "50.00"},
        {"RelEmailID": b, "TotalSent": 3, "TotalClicks": 3, "UniqueClicks": 2, "ClickRatio": "66.67",
         "ClickToOpenRatio": "66.67"}]
    assert stats["UnsubscriptionStatistics"]["Variations"] == [
        {"RelEmailID": a, "TotalSent": 3, "TotalUnsubscriptions": 1, "UnsubscriptionRatio": "33.33"},
        {"RelEmailID": b, "TotalSent": 3, "TotalUnsubscriptions": 0, "UnsubscriptionRatio": "0.00"}]
    # The campaign's own figures are the sum of the variations'.
    assert (stats["OpenStatistics"]["TotalOpens"], stats["OpenStatistics"]["UniqueOpens"]) == (8, 5)
    assert (stats["ClickStatistics"]["TotalClicks"], stats["ClickStatistics"]["UniqueClicks"]) == (4, 3)


def test_without_the_flag_the_statistics_have_no_breakdowns_and_without_statistics_none_appear(api, user, engine):
    campaign, *_ = sent_ab(engine, api, user)
    plain = api("Campaign.Get", user.session, CampaignID=campaign, RetrieveStatistics="true")["Campaign"]
    assert "Variations" not in plain["Statistics"]["OpenStatistics"] and "Options" not in plain
    only_ab = api("Campaign.Get", user.session, CampaignID=campaign, SplitABTestStatistics="true")["Campaign"]
    assert "Statistics" not in only_ab and len(only_ab["Options"]["ABTesting"]["Variations"]) == 2


def test_a_campaign_without_variations_has_empty_breakdowns(api, user, engine):
    campaign = api("Campaign.Create", user.session, CampaignName="Plain")["CampaignID"]
    got = api("Campaign.Get", user.session, CampaignID=campaign, RetrieveStatistics="1",
              SplitABTestStatistics="1")["Campaign"]
    assert got["Options"] == {"ABTesting": {"Variations": []}}
    assert got["Statistics"]["ClickStatistics"]["Variations"] == []


def test_the_winner_flag_is_the_split_tests_decision_once_taken(api, user, engine):
    campaign, instance, a, b, s = sent_ab(engine, api, user)
    with engine.uow() as uow:   # as SplitTest.Create stored it before the send (a Sent campaign's is locked)
        uow.session.add(SplitTest(campaign_id=campaign, test_size=50, test_duration=60,
                                  winner_criterion="Most Unique Clicks", seed=7, created_at=uow.clock()))
        uow.commit()

    def winners():
        got = api("Campaign.Get", user.session, CampaignID=campaign, SplitABTestStatistics="1")["Campaign"]
        return [v["IsWinner"] for v in got["Options"]["ABTesting"]["Variations"]]

    assert winners() == [False, False]            # a split test decides; not yet
    with engine.uow() as uow:
        uow.session.add(SplitTestDecision(instance_id=instance, campaign_id=campaign,
                                          winner_criterion="Most Unique Clicks", test_ends_at=uow.clock(),
                                          winner_email_id=a, decided_at=uow.clock()))
        uow.commit()
    assert winners() == [True, False]
