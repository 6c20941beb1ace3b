"""Journey mail engagement through HTTP (every database): the open pixel, tracked clicks, the web version and
the one-click opt-out of a mailed journey message are counted on its ledger row, and read back through
Journey.Stats.ByAction, Journey.Stats.ByISP (every code), Journey.Action.Subscribers' filters and
Account.Journey.Benchmark."""
from __future__ import annotations

import email
import email.policy
import json
import re

import pytest
from sqlalchemy import select

from engine.automation.journeys.runner import run_pass
from engine.models import JourneySend, Subscriber
from engine.tracking.tokens import Kind, journey_instance
from protocol.commands import journey_actions as A
from tests.builders import (
    CodeRecorder, assert_codes_reached, load_row, make_email, make_list, make_subscriber, user_actor,
)
from tests.engine.test_autoresponder_sending import Capture
from tests.engine.test_journey_mail import worker
from tests.helpers import stored_state

SEEN: dict = {}
DAY = "2026-11-23"   # the FakeClock's day


@pytest.fixture
def call(api):
    return CodeRecorder(api, SEEN)


def links(message: bytes) -> dict[str, list[str]]:
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    html = parsed.get_body(("html",)).get_content()
    found = {kind: re.findall(rf"https?://[^/\"]+(/t/{kind}/[A-Za-z0-9_-]+)", html) for kind in ("o", "c", "u", "w")}
    found["List-Unsubscribe"] = re.findall(r"<https?://[^/]+(/t/u/[A-Za-z0-9_-]+)>", str(parsed["List-Unsubscribe"]))
    return found


@pytest.fixture
def mailed(call, user, engine, clock):
    """A journey whose SendEmail action mailed three subscribers (two gmail.com, one yahoo.com); their links."""
    list_id = make_list(engine, user, "Shop")
    addresses = ["ann@gmail.com", "bob@gmail.com", "cy@yahoo.com"]
    ids = [make_subscriber(engine, list_id, a) for a in addresses]
    email_id = make_email(engine, user, email_name="Day 1", subject="Hi %Subscriber:EmailAddress%",
                          from_email="shop@sender.example",
                          html_content='<p>Hi %Subscriber:EmailAddress%</p>'
                                       '<a href="https://shop.example/offer">Offer</a><a href="%Link:WebBrowser%">Web</a>'
                                       '<a href="%Link:Unsubscribe%">Leave</a>')
    journey_id = call("Journey.Create", user.session, Name="Welcome")["JourneyID"]
    actions = [{"Action": "SendEmail", "EmailID": email_id, "Published": True},
               {"Action": "Wait", "WaitAmount": 1, "Published": True}]
    saved = call("Journey.Actions.Update", user.session, JourneyID=journey_id, Actions=json.dumps(actions))
    send, wait = (int(a["ActionID"]) for a in saved["Actions"])
    call("Journey.Enable", user.session, JourneyID=journey_id)
    for sid in ids:
        assert call("Subscriber.Journey.Trigger", user.session, JourneyID=journey_id, ListID=list_id,
                    SubscriberID=sid)["Success"] is True
    run_pass(engine, clock())
    capture = Capture()
    assert worker(engine, capture, clock).run_once().sent == 3
    found = {e.recipient: links(e.message) for e in capture.sent}
    return {"journey": journey_id, "send": send, "wait": wait, "ids": dict(zip(addresses, ids)), "links": found,
            "email": email_id}


def ledger(engine) -> dict[str, tuple]:
    with engine.uow() as uow:
        return {r.email_address: (r.opens, r.clicks, r.browser_views, r.unsubscribed_at is not None)
                for r in uow.session.scalars(select(JourneySend))}


def stats(call, user, mailed, **params) -> dict:
    answer = call("Journey.Stats.ByAction", user.session, JourneyID=mailed["journey"], StartDate=DAY, EndDate=DAY,
                  **params)
    assert answer["Success"] is True, answer
    return answer["Actions"][0]


def test_opens_clicks_views_and_opt_outs_are_counted_per_action(call, client, user, engine, clock, mailed):
    ann, bob, cy = (mailed["links"][a] for a in ("ann@gmail.com", "bob@gmail.com", "cy@yahoo.com"))
    assert client.get(ann["o"][0]).status_code == 200
    assert client.get(ann["o"][0]).status_code == 200
    offer = client.get(ann["c"][0])
    assert offer.status_code == 302 and offer.headers["Location"] == "https://shop.example/offer"
    assert client.get(bob["c"][0]).status_code == 302          # a click without a tracked open: an open too
    page = client.get(cy["w"][0])                               # the web version: a view and an open
    assert page.status_code == 200 and "Hi cy@yahoo.com" in page.get_data(as_text=True)
    assert client.post(cy["List-Unsubscribe"][0], data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert ledger(engine) == {"ann@gmail.com": (2, 1, 0, False), "bob@gmail.com": (1, 1, 0, False),
                              "cy@yahoo.com": (1, 0, 1, True)}
    assert load_row(engine, Subscriber, mailed["ids"]["cy@yahoo.com"]).subscription_status == "Unsubscribed"
    with engine.uow() as uow:
        moments = {r.email_address: (r.first_opened_at, r.first_clicked_at, r.unsubscribed_at)
                   for r in uow.session.scalars(select(JourneySend))}
    assert moments == {"ann@gmail.com": (clock(), clock(), None), "bob@gmail.com": (clock(), clock(), None),
                       "cy@yahoo.com": (clock(), None, clock())}

    row = stats(call, user, mailed)
    assert row["Stats"] == {"SendCount": 3, "DeliveryCount": 3, "OpenCount": 3, "ClickCount": 2, "BounceCount": 0,
                            "UnsubscribeCount": 1, "SpamComplaintCount": 0, "TotalRevenue": 0.0,
                            "TotalOpenCount": 4, "TotalClickCount": 2, "BrowserViewCount": 1}
    assert row["DailyStats"] == [{"Date": DAY, "SendCount": 3, "OpenCount": 3, "ClickCount": 2, "TotalRevenue": 0.0}]
    gmail = stats(call, user, mailed, ISP="GMAIL.com", EmailID=mailed["send"])["Stats"]
    assert (gmail["SendCount"], gmail["OpenCount"], gmail["ClickCount"], gmail["UnsubscribeCount"]) == (2, 2, 2, 0)
    assert stats(call, user, mailed, ISP="gmail.co")["Stats"]["SendCount"] == 0   # the whole domain, not a suffix

    def who(filters, operator="AND", action=mailed["send"]):
        answer = call("Journey.Action.Subscribers", user.session, JourneyID=mailed["journey"], ActionID=action,
                      FilterJSON=filters, Operator=operator)
        return sorted(r["EmailAddress"] for r in answer["Subscribers"])

    assert who('["opened"]') == ["ann@gmail.com", "bob@gmail.com", "cy@yahoo.com"]
    assert who('["clicked"]') == ["ann@gmail.com", "bob@gmail.com"]
    assert who('["browser_viewed"]') == ["cy@yahoo.com"]
    assert who('["clicked", "unsubscribed"]', "OR") == ["ann@gmail.com", "bob@gmail.com", "cy@yahoo.com"]
    assert who('["clicked", "unsubscribed"]', "AND") == []
    assert who('["converted", "forwarded"]', "OR") == []
    assert who('["opened"]', action=mailed["wait"]) == []         # another action's messages do not count

    by_isp = call("Journey.Stats.ByISP", user.session, JourneyID=mailed["journey"], StartDate=DAY)
    assert by_isp["ByISP"] == [
        {"Domain": "gmail.com", "Sent": 2, "Delivered": 2, "Opened": 2, "Clicked": 2, "Bounced": 0,
         "Unsubscribed": 0, "Complained": 0},
        {"Domain": "yahoo.com", "Sent": 1, "Delivered": 1, "Opened": 1, "Clicked": 0, "Bounced": 0,
         "Unsubscribed": 1, "Complained": 0}]
    assert call("Journey.Stats.ByISP", user.session, JourneyID=mailed["journey"], EmailID=mailed["send"],
                EndDate="2026-11-22")["ByISP"] == []

    def aggregated(**params):
        answer = call("Journey.Get", user.session, JourneyID=mailed["journey"], **params)
        assert answer["Success"] is True, answer
        return answer["JourneyStats"]["AggregatedEmailActions"]

    assert aggregated() == {"SendCount": 3, "DeliveryCount": 3, "OpenCount": 3, "ClickCount": 2, "BounceCount": 0,
                            "UnsubscribeCount": 1, "SpamComplaintCount": 0, "TotalRevenue": 0.0,
                            "ConversionCount": 0, "BrowserViewCount": 1, "ForwardCount": 0}
    yahoo = aggregated(EmailID=mailed["send"], ISP="yahoo.com")
    assert (yahoo["SendCount"], yahoo["OpenCount"], yahoo["ClickCount"], yahoo["UnsubscribeCount"]) == (1, 1, 0, 1)
    assert aggregated(ISP="example.org")["SendCount"] == 0
    listed, = call("Journey.List", user.session)["Journeys"]
    assert listed["JourneyStats"]["AggregatedEmailActions"] == aggregated()

    benchmark = call("Account.Journey.Benchmark", user.session)["Benchmark"]
    assert (benchmark["TotalSent"], benchmark["OpenRate"], benchmark["ClickRate"], benchmark["ClickToOpenRate"],
            benchmark["UnsubscribeRate"]) == (3, 1.0, 0.6667, 0.6667, 0.3333)


def test_by_isp_over_v1_and_every_refusal(call, client, user, other_user, engine, mailed):
    answer = client.get("/api/v1/journey.stats.byisp", query_string={
        "SessionID": user.session, "JourneyID": mailed["journey"], "StartDate": DAY})
    assert answer.status_code == 200 and [r["Domain"] for r in answer.get_json()["ByISP"]] == ["gmail.com", "yahoo.com"]
    missing = client.get("/api/v1/journey.stats.byisp", query_string={"SessionID": user.session, "JourneyID": 99999})
    assert missing.status_code == 404 and missing.get_json()["Errors"][0]["Code"] == 3
    before = stored_state(engine)
    jid = mailed["journey"]
    for code, params in ((1, {}), (2, {"JourneyID": "x"}), (2, {"JourneyID": -1}), (3, {"JourneyID": 99999}),
                         (4, {"JourneyID": jid, "StartDate": "2026-02-30"}), (5, {"JourneyID": jid, "EndDate": "23-11-2026"}),
                         (6, {"JourneyID": jid, "StartDate": "2026-11-23", "EndDate": "2026-11-22"}),
                         (7, {"JourneyID": jid, "EmailID": mailed["wait"]}), (7, {"JourneyID": jid, "EmailID": "x"}),
                         (7, {"JourneyID": jid, "EmailID": 99999})):
        answer = call("Journey.Stats.ByISP", user.session, **params)
        assert answer["Success"] is False and answer["ErrorCode"][0] == code, (params, answer)
    # Another account's journey is not found, and its figures are not shown.
    assert call("Journey.Stats.ByISP", other_user.session, JourneyID=jid)["ErrorCode"][0] == 3
    assert call("Journey.Stats.ByAction", other_user.session, JourneyID=jid)["ErrorCode"][0] == 3
    assert stored_state(engine) == before


def test_the_web_version_is_signed_and_owner_scoped(client, user, engine, mailed):
    ann = mailed["links"]["ann@gmail.com"]["w"][0]
    before = stored_state(engine)
    tampered = ann[:-2] + ("AA" if not ann.endswith("AA") else "BB")
    assert client.get(tampered).status_code == 404
    # ann's token re-signed for bob's row (bob's ID, ann's nonce) does not open bob's message.
    with engine.uow() as uow:
        signer, ann_nonce = uow.events.signer, uow.session.get(Subscriber, mailed["ids"]["ann@gmail.com"]).public_nonce
    forged = signer.sign(Kind.WEB_VIEW, instance_id=journey_instance(mailed["send"]),
                         subscriber_id=mailed["ids"]["bob@gmail.com"], nonce=ann_nonce)
    assert client.get(f"/t/w/{forged}").status_code == 404
    assert stored_state(engine) == before
    page = client.get(ann).get_data(as_text=True)
    assert "Hi ann@gmail.com" in page and "/t/c/" in page       # its links are tracked as the mailed copy's
    with engine.uow() as uow:   # the action no longer exists: the link is gone, nothing is counted
        uow.journeys.replace_actions(user_actor(user), mailed["journey"], [])
        uow.commit()
    before = stored_state(engine)
    assert client.get(ann).status_code == 404
    assert stored_state(engine) == before


def test_every_code_is_reached(request):
    assert_codes_reached(request, SEEN, (A.JOURNEY_STATS_BY_ISP,), {})
