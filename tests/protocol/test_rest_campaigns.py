"""The modern Campaign API through HTTP (modern-campaign-api.txt): every endpoint, its errors, owner
isolation, paging limits, status consistency, and the events recorded in the outbox.
The clock is the injected one: 2026-11-23 12:00 UTC."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.models import Campaign, Delivery, Email, SendInstance
from engine.models.activity import SubscriberActivity
from engine.models.outbox import OutboxEvent
from engine.models.senders import SenderDetails, SenderEmail
from tests.builders import load_campaign, make_email, make_list, make_segment, make_subscriber, set_campaign
from tests.helpers import stored_state

UTC = timezone.utc
BASE = "/email-marketing/v1/campaigns"


# --- builders --------------------------------------------------------------------------------------
def verified_sender(engine, account, address="alice@gmail.com") -> None:
    """Sender details on a verified sender email: what publishing with distribution needs."""
    with engine.uow() as uow:
        now = uow.clock()
        uow.session.add(SenderEmail(owner_user_id=account.id, email_address=address, email_normalized=address,
                                    verified=True, verified_at=now, created_at=now, updated_at=now))
        uow.session.add(SenderDetails(user_id=account.id, from_name="Alice", from_email=address, updated_at=now))
        uow.commit()


def draft(t, account=None, *, html='<p>Hi</p><img src="https://img.example/1.png">', with_list=True) -> int:
    account = account or t.user
    cid = t.api("Campaign.Create", account.session, CampaignName="Yoga with puppies")["CampaignID"]
    params = {"RelEmailID": make_email(t.engine, account, subject="Puppies!", html_content=html)}
    if with_list:
        params["RecipientListsAndSegments"] = f"{make_list(t.engine, account)}:0"
    assert t.api("Campaign.Update", account.session, CampaignID=cid, **params)["Success"]
    return cid


def sent_campaign(t, outcomes: dict[str, str]) -> tuple[int, dict[str, int]]:
    """A Sent campaign with one ledger row per address in `outcomes` (sent/failed/skipped)."""
    cid = draft(t)
    list_id = make_list(t.engine, t.user, "Sent to")
    ids = {address: make_subscriber(t.engine, list_id, address) for address in outcomes}
    with t.engine.uow() as uow:
        now = uow.clock()
        instance = SendInstance(campaign_id=cid, number=1, scheduled_for=now, started_at=now, finished_at=now,
                                state="done", total_recipients=len(ids))
        uow.session.add(instance)
        uow.session.flush()
        for address, state in outcomes.items():
            uow.session.add(Delivery(instance_id=instance.id, subscriber_id=ids[address], email_normalized=address,
                                     state=state, sent_at=now if state == "sent" else None))
        uow.commit()
    set_campaign(t.engine, cid, status="Sent", schedule_type="Immediate", send_process_started_on=t.clock(),
                 send_process_finished_on=t.clock())
    return cid, ids


def activity(t, cid: int, subscriber_id: int, kind: str, minutes: int = 0) -> None:
    with t.engine.uow() as uow:
        uow.session.add(SubscriberActivity(subscriber_id=subscriber_id, campaign_id=cid, kind=kind,
                                           occurred_at=uow.clock() + timedelta(minutes=minutes)))
        uow.commit()


def events(t, slug: str | None = None) -> list[tuple[str, str, dict]]:
    with t.engine.uow() as uow:
        query = select(OutboxEvent).order_by(OutboxEvent.id)
        if slug:
            query = query.where(OutboxEvent.slug == slug)
        return [(e.slug, e.entity_id, json.loads(e.payload)) for e in uow.session.scalars(query)
                if e.entity_fqdn == "wix.email_marketing.v1.campaign"]


@pytest.fixture
def t(api, rest, user, other_user, engine, clock):
    return SimpleNamespace(api=api, rest=rest, user=user, other_user=other_user, engine=engine, clock=clock)


# --- Get / List / Delete -----------------------------------------------------------------------------
def test_get_campaign_shows_the_modern_object_of_a_draft(t):
    cid = draft(t)
    answer = t.rest.get(f"{BASE}/{cid}", t.user.session)
    assert answer.status == 200
    campaign = answer.body["campaign"]
    assert campaign["campaignId"] == str(cid) and campaign["title"] == "Yoga with puppies"
    assert (campaign["status"], campaign["visibilityStatus"], campaign["distributionStatus"]) == \
        ("ACTIVE", "DRAFT", "NOT_STARTED")
    assert campaign["firstImageUrl"] == "https://img.example/1.png" and campaign["emailSubject"] == "Puppies!"
    assert campaign["dateCreated"] == "2026-11-23T12:00:00Z" and "publishingData" not in campaign


@pytest.mark.parametrize("path_id", ["999999", "not-an-id", "0"])
def test_get_of_missing_or_malformed_id_is_404(t, path_id):
    answer = t.rest.get(f"{BASE}/{path_id}", t.user.session)
    assert (answer.status, answer.code) == (404, "NOT_FOUND")


def test_another_users_campaign_is_404_on_every_endpoint(t):
    cid = draft(t, t.other_user)
    s = t.user.session
    before = stored_state(t.engine)
    for answer in (t.rest.get(f"{BASE}/{cid}", s), t.rest.delete(f"{BASE}/{cid}", s),
                   t.rest.get(f"{BASE}/statistics", s, campaignIds=str(cid)),
                   t.rest.get(f"{BASE}/{cid}/statistics/recipients", s, activity="DELIVERED"),
                   t.rest.post(f"{BASE}/{cid}/publish", s), t.rest.post(f"{BASE}/{cid}/pause-scheduling", s),
                   t.rest.post(f"{BASE}/{cid}/reschedule", s, json={"sendAt": "2026-11-24T12:00:00Z"}),
                   t.rest.post(f"{BASE}/{cid}/reuse", s), t.rest.post(f"{BASE}/{cid}/audience", s),
                   t.rest.post(f"{BASE}/{cid}/test", s, json={"toEmailAddress": "me@example.com"})):
        assert (answer.status, answer.code) == (404, "NOT_FOUND"), answer.body
    assert load_campaign(t.engine, cid) is not None and load_campaign(t.engine, cid).status == "Draft"
    assert stored_state(t.engine) == before


def test_list_campaigns_newest_update_first_with_paging_and_filters(t):
    first, second, third = draft(t), draft(t), draft(t)
    t.clock.advance(minutes=5)
    assert t.api("Campaign.Update", t.user.session, CampaignID=first, CampaignName="Touched")["Success"]
    draft(t, t.other_user)
    answer = t.rest.get(BASE, t.user.session)
    assert [c["campaignId"] for c in answer.body["campaigns"]] == [str(first), str(third), str(second)]
    assert answer.body["paging"] == {"limit": 50, "offset": 0}
    page = t.rest.get(BASE, t.user.session, **{"paging.limit": 1, "paging.offset": 1})
    assert [c["campaignId"] for c in page.body["campaigns"]] == [str(third)]
    t.rest.post(f"{BASE}/{second}/publish", t.user.session)   # landing page only
    drafts = t.rest.get(BASE, t.user.session, visibilityStatuses="DRAFT", statuses="ACTIVE")
    assert {c["campaignId"] for c in drafts.body["campaigns"]} == {str(first), str(third)}
    published = t.rest.get(BASE, t.user.session, visibility_statuses="PUBLISHED")
    assert [c["campaignId"] for c in published.body["campaigns"]] == [str(second)]
    assert t.rest.get(BASE, t.user.session, statuses="ARCHIVED").body["campaigns"] == []


@pytest.mark.parametrize("query", [{"paging.limit": 1001}, {"paging.limit": -1}, {"paging.offset": -1},
                                   {"statuses": "LIVE"}, {"visibilityStatuses": "HIDDEN"}])
def test_list_campaigns_refuses_bad_paging_and_enums(t, query):
    answer = t.rest.get(BASE, t.user.session, **query)
    assert (answer.status, answer.code) == (400, "INVALID_ARGUMENT")


def test_delete_campaign_removes_it_and_records_the_deleted_event(t):
    cid = draft(t)
    assert t.rest.delete(f"{BASE}/{cid}", t.user.session).body == {}
    assert load_campaign(t.engine, cid) is None
    assert events(t, "deleted") == [("deleted", str(cid), {})]
    assert t.rest.delete(f"{BASE}/{cid}", t.user.session).status == 404


def test_created_event_on_create_carries_the_campaign_object(t):
    cid = draft(t)
    [(slug, entity, body)] = events(t, "created")
    assert (slug, entity) == ("created", str(cid))
    assert (body["campaignId"], body["visibilityStatus"], body["distributionStatus"]) == \
        (str(cid), "DRAFT", "NOT_STARTED")


# --- statistics and recipients ----------------------------------------------------------------------
def test_not_sent_counts_people_no_instance_reached(t):
    """notSent counts a person once, and not at all when another instance of the campaign sent to them."""
    cid, ids = sent_campaign(t, {"a@x.test": "failed", "b@x.test": "failed", "c@x.test": "skipped",
                                 "d@x.test": "sent"})
    with t.engine.uow() as uow:
        now = uow.clock()
        again = SendInstance(campaign_id=cid, number=2, scheduled_for=now, started_at=now, finished_at=now,
                             state="done", total_recipients=2)
        uow.session.add(again)
        uow.session.flush()
        uow.session.add_all([
            Delivery(instance_id=again.id, subscriber_id=ids["a@x.test"], email_normalized="a@x.test",
                     state="sent", sent_at=now),
            Delivery(instance_id=again.id, subscriber_id=ids["b@x.test"], email_normalized="b@x.test",
                     state="failed")])
        uow.commit()
    answer = t.rest.get(f"{BASE}/statistics", t.user.session, campaignIds=[str(cid)])
    assert answer.body["statistics"][0]["email"]["notSent"] == 2    # b (failed twice) and c


def test_list_statistics_counts_people_from_the_ledger_and_activity(t):
    cid, ids = sent_campaign(t, {"a@x.test": "sent", "b@x.test": "sent", "c@x.test": "sent",
                                 "d@x.test": "failed", "e@x.test": "skipped"})
    activity(t, cid, ids["a@x.test"], "open")
    activity(t, cid, ids["a@x.test"], "open", 3)
    activity(t, cid, ids["a@x.test"], "click")
    activity(t, cid, ids["b@x.test"], "open")
    activity(t, cid, ids["c@x.test"], "bounce")
    activity(t, cid, ids["b@x.test"], "complaint")
    other = draft(t)
    answer = t.rest.get(f"{BASE}/statistics", t.user.session, campaignIds=[str(cid), str(other)])
    assert answer.body == {"statistics": [
        {"campaignId": str(cid), "landingPage": {"opened": 0, "clicked": 0},
         "email": {"delivered": 2, "opened": 2, "clicked": 1, "bounced": 1, "complained": 1, "notSent": 2,
                   "unknown": 0}},
        {"campaignId": str(other), "landingPage": {"opened": 0, "clicked": 0},
         "email": {"delivered": 0, "opened": 0, "clicked": 0, "bounced": 0, "complained": 0, "notSent": 0,
                   "unknown": 0}}]}


def test_list_statistics_limits(t):
    cid = draft(t)
    assert t.rest.get(f"{BASE}/statistics", t.user.session).status == 400
    too_many = [str(cid)] * 101
    assert t.rest.get(f"{BASE}/statistics", t.user.session, campaignIds=too_many).status == 400
    assert t.rest.get(f"{BASE}/statistics", t.user.session, campaignIds=[str(cid), "123456"]).status == 404


def test_campaign_statistics_option_in_publishing_data(t):
    cid, ids = sent_campaign(t, {"a@x.test": "sent", "b@x.test": "sent"})
    activity(t, cid, ids["a@x.test"], "open")
    plain = t.rest.get(f"{BASE}/{cid}", t.user.session).body["campaign"]
    assert (plain["visibilityStatus"], plain["distributionStatus"]) == ("PUBLISHED", "DISTRIBUTED")
    assert "statistics" not in plain["publishingData"] and plain["publishingData"]["landingPageUrl"]
    full = t.rest.get(f"{BASE}/{cid}", t.user.session, optionIncludeStatistics="true").body["campaign"]
    stats = full["publishingData"]["statistics"]
    assert stats["emailCampaign"] == {"delivered": 2, "opened": 1, "clicked": 0}
    assert stats["total"]["mailsSent"] == 2
    listed = t.rest.get(BASE, t.user.session, optionIncludeStatistics="true").body["campaigns"]
    assert listed[0]["publishingData"]["statistics"]["emailCampaign"]["delivered"] == 2


def test_list_recipients_by_activity_with_cursor_paging(t):
    outcomes = {f"p{i}@x.test": "sent" for i in range(5)} | {"gone@x.test": "failed"}
    cid, ids = sent_campaign(t, outcomes)
    activity(t, cid, ids["p1@x.test"], "open", 1)
    activity(t, cid, ids["p1@x.test"], "open", 7)
    activity(t, cid, ids["p3@x.test"], "bounce")
    path = f"{BASE}/{cid}/statistics/recipients"
    opened = t.rest.get(path, t.user.session, activity="OPENED").body
    assert opened == {"recipients": [{"contactId": str(ids["p1@x.test"]), "lastActivityDate": "2026-11-23T12:07:00Z"}],
                      "pagingMetadata": {"count": 1, "hasNext": False}}
    delivered = [ids[f"p{i}@x.test"] for i in (0, 1, 2, 4)]
    first = t.rest.get(path, t.user.session, activity="DELIVERED", **{"paging.limit": 3}).body
    assert [r["contactId"] for r in first["recipients"]] == [str(i) for i in delivered[:3]]
    assert first["pagingMetadata"]["hasNext"] is True
    rest = t.rest.get(path, t.user.session, activity="DELIVERED",
                      **{"paging.limit": 3, "paging.cursor": first["pagingMetadata"]["cursors"]["next"]}).body
    assert [r["contactId"] for r in rest["recipients"]] == [str(delivered[3])]
    assert rest["pagingMetadata"] == {"count": 1, "hasNext": False}
    assert [r["contactId"] for r in t.rest.get(path, t.user.session, activity="BOUNCED").body["recipients"]] == \
        [str(ids["p3@x.test"])]
    assert [r["contactId"] for r in t.rest.get(path, t.user.session, activity="NOT_SENT").body["recipients"]] == \
        [str(ids["gone@x.test"])]
    default = t.rest.get(path, t.user.session, activity="DELIVERED").body
    assert default["pagingMetadata"]["count"] == 4


def test_messages_in_doubt_are_counted_and_listed_on_every_surface(t):
    """Rows `unknown` (handed to a relay by a worker that was killed) are shown, not only stored; and
    Campaign.Get's TotalDelivered is the people the statistics call delivered (it stayed 0 before)."""
    cid, ids = sent_campaign(t, {"a@x.test": "sent", "b@x.test": "unknown", "c@x.test": "sent",
                                 "d@x.test": "unknown", "e@x.test": "failed"})
    activity(t, cid, ids["c@x.test"], "bounce")
    email = t.rest.get(f"{BASE}/statistics", t.user.session, campaignIds=str(cid)).body["statistics"][0]["email"]
    assert (email["delivered"], email["unknown"], email["notSent"]) == (1, 2, 1)
    in_doubt = [str(ids["b@x.test"]), str(ids["d@x.test"])]
    page = t.rest.get(f"{BASE}/{cid}/statistics/recipients", t.user.session, activity="UNKNOWN").body
    assert [r["contactId"] for r in page["recipients"]] == in_doubt
    assert page["recipients"][0]["lastActivityDate"] == "2026-11-23T12:00:00Z"   # the instance's end

    legacy = t.api("Campaign.Statistics.List", t.user.session, CampaignIDs=str(cid))["Statistics"][0]["Email"]
    assert (legacy["Delivered"], legacy["Unknown"]) == (1, 2)
    listed = t.api("Campaign.Recipients.ByActivity", t.user.session, CampaignID=cid, Activity="unknown")
    assert [str(r["SubscriberID"]) for r in listed["Recipients"]] == in_doubt
    campaign = t.api("Campaign.Get", t.user.session, CampaignID=cid, RetrieveStatistics="true")["Campaign"]
    assert campaign["TotalDelivered"] == 1
    assert campaign["Statistics"]["DeliveryStatistics"] == {"TotalDelivered": 1, "TotalUnknown": 2}
    rows = t.api("Campaigns.Get", t.user.session, RetrieveStatistics="true")["Campaigns"]
    row = next(r for r in rows if r["CampaignID"] == str(cid))
    assert row["TotalDelivered"] == "1" and row["Statistics"]["DeliveryStatistics"]["TotalUnknown"] == 2


@pytest.mark.parametrize("query", [{}, {"activity": "SPAM"}, {"activity": "OPENED", "paging.limit": 1001},
                                   {"activity": "OPENED", "paging.cursor": "garbage!"}])
def test_list_recipients_refuses_bad_queries(t, query):
    cid = draft(t)
    answer = t.rest.get(f"{BASE}/{cid}/statistics/recipients", t.user.session, **query)
    assert (answer.status, answer.code) == (400, "INVALID_ARGUMENT")


def test_list_recipients_page_limit_of_1000(t):
    outcomes = {f"r{i:04}@x.test": "sent" for i in range(1001)}
    cid = draft(t)
    list_id = make_list(t.engine, t.user, "Big")
    with t.engine.uow() as uow:
        from engine.models import Subscriber
        now = uow.clock()
        rows = [Subscriber(list_id=list_id, email_address=a, email_normalized=a, subscription_date=now)
                for a in outcomes]
        uow.session.add_all(rows)
        instance = SendInstance(campaign_id=cid, number=1, scheduled_for=now, started_at=now, state="done")
        uow.session.add(instance)
        uow.session.flush()
        uow.session.add_all([Delivery(instance_id=instance.id, subscriber_id=r.id, email_normalized=r.email_normalized,
                                      state="sent", sent_at=now) for r in rows])
        uow.commit()
    page = t.rest.get(f"{BASE}/{cid}/statistics/recipients", t.user.session, activity="DELIVERED",
                      **{"paging.limit": 1000}).body
    assert page["pagingMetadata"]["count"] == 1000 and page["pagingMetadata"]["hasNext"] is True


# --- publish ---------------------------------------------------------------------------------------
def test_publish_without_distribution_publishes_the_landing_page_only(t, client):
    cid = draft(t)
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session)
    data = answer.body["publishingData"]
    assert data["datePublished"] == "2026-11-23T12:00:00Z"
    campaign = t.rest.get(f"{BASE}/{cid}", t.user.session).body["campaign"]
    assert (campaign["visibilityStatus"], campaign["distributionStatus"]) == ("PUBLISHED", "NOT_STARTED")
    assert campaign["publishingData"] == {"landingPageUrl": data["landingPageUrl"],
                                          "datePublished": "2026-11-23T12:00:00Z"}
    assert load_campaign(t.engine, cid).status == "Draft"   # nothing is sent
    page = client.get(data["landingPageUrl"].replace("http://sendmill.test", ""))
    assert page.status_code == 200 and b"<p>Hi</p>" in page.data
    assert load_campaign(t.engine, cid).total_views_on_browser == 1
    assert events(t, "campaign_published_event") == [
        ("campaign_published_event", str(cid),
         {"campaignId": str(cid), "landingPageUrl": data["landingPageUrl"], "mailingListSizeEstimate": 0})]
    again = t.rest.post(f"{BASE}/{cid}/publish", t.user.session)
    assert (again.status, again.code) == (428, "CAMPAIGN_ALREADY_PUBLISHED")


def test_landing_page_of_a_draft_or_a_forged_code_is_404(t, client):
    cid = draft(t)
    from engine.campaigns.landing_pages import landing_code
    code = landing_code(t.engine.settings, load_campaign(t.engine, cid))
    assert client.get(f"/so/{code}").status_code == 404          # not published yet
    t.rest.post(f"{BASE}/{cid}/publish", t.user.session)
    assert client.get(f"/so/{code}").status_code == 200
    nonce = load_campaign(t.engine, cid).public_nonce
    assert client.get(f"/so/{cid}-{nonce}-{'0' * 20}").status_code == 404
    assert client.get(f"/so/{cid + 1}{code[len(str(cid)):]}").status_code == 404


def test_publish_with_distribution_targets_lists_segments_and_contacts(t):
    verified_sender(t.engine, t.user)
    cid = draft(t, with_list=False)
    list_id = make_list(t.engine, t.user, "Customers")
    segment_id = make_segment(t.engine, t.user, list_id)
    contact = make_subscriber(t.engine, list_id, "bob@x.test")
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session, json={"emailDistributionOptions": {
        "emailSubject": "New subject", "labelIds": [str(list_id)], "segmentIds": [str(segment_id)],
        "contactIds": [str(contact)]}})
    assert answer.status == 200 and answer.body["publishingData"]["landingPageUrl"]
    campaign = load_campaign(t.engine, cid)
    assert (campaign.status, campaign.schedule_type) == ("Ready", "Immediate")
    bundle = json.loads(campaign.rules_json_bundle)
    assert bundle["operator"] == "or" and len(bundle["criteria"]) == 3
    modern = t.rest.get(f"{BASE}/{cid}", t.user.session).body["campaign"]
    assert (modern["visibilityStatus"], modern["distributionStatus"], modern["emailSubject"]) == \
        ("PUBLISHED", "SCHEDULED", "New subject")
    [(_, _, body)] = [e for e in events(t, "campaign_published_event")]
    assert body["mailingListSizeEstimate"] == 1
    # It goes out from the default sender; a free-mail address gets a site-owned From and its own Reply-To.
    with t.engine.uow() as uow:
        email = uow.session.get(Email, campaign.email_id)
        assert (email.from_name, email.from_email, email.reply_to_email) == \
            ("Alice", "alice@sendmill.test", "alice@gmail.com")


def test_publish_contacts_all_with_send_at_schedules_it(t):
    verified_sender(t.engine, t.user)
    cid = draft(t)
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session, json={"emailDistributionOptions": {
        "labelIds": ["contacts-all"], "sendAt": "2026-11-24T09:30:00Z"}})
    assert answer.status == 200
    campaign = load_campaign(t.engine, cid)
    assert (campaign.status, campaign.schedule_type, str(campaign.send_date), campaign.send_time) == \
        ("Ready", "Future", "2026-11-24", "09:30:00")
    assert events(t, "campaign_scheduled_event") == [("campaign_scheduled_event", str(cid), {
        "campaignId": str(cid), "sendAt": "2026-11-24T09:30:00Z", "rescheduled": False})]


def test_publish_refuses_content_with_unknown_tags_unless_told_to_proceed(t):
    """Unknown tags would go out as empty text: arming is refused (naming them) and nothing changes; the
    subject the refused call set is not kept either."""
    verified_sender(t.engine, t.user)
    cid = draft(t, html='<p>Hi %Subscriber:FirstNmae%, see %Link:Forward%</p>')
    before = load_campaign(t.engine, cid)
    options = {"labelIds": ["contacts-all"], "emailSubject": "For %Subscriber:Cty%"}
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session, json={"emailDistributionOptions": options})
    assert (answer.status, answer.code) == (428, "CAMPAIGN_HAS_UNKNOWN_TAGS"), answer.body
    tags = ["%Subscriber:Cty%", "%Subscriber:FirstNmae%", "%Link:Forward%"]
    assert answer.body["details"]["applicationError"]["data"] == {"UnknownTags": tags}
    assert all(tag in answer.body["message"] for tag in tags)
    campaign = load_campaign(t.engine, cid)
    with t.engine.uow() as uow:
        subject = uow.session.get(Email, campaign.email_id).subject
    assert (campaign.status, [r.list_id for r in campaign.recipients], campaign.rules_json_bundle, subject) == \
        ("Draft", [r.list_id for r in before.recipients], before.rules_json_bundle, "Puppies!")
    assert events(t, "campaign_published_event") == []

    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session,
                         json={"emailDistributionOptions": options, "ignoreUnknownTags": True})
    assert answer.status == 200, answer.body
    assert load_campaign(t.engine, cid).status == "Ready"


@pytest.mark.parametrize("options,status,code", [
    ({"labelIds": ["contacts-all"], "sendAt": "2026-11-23T12:10:00Z"}, 400, "SEND_TIME_TOO_SOON"),
    ({"listIds": ["987654"]}, 400, "INVALID_AUDIENCE"),
    ({"contactIds": ["987654"]}, 400, "INVALID_AUDIENCE"),
    ({"segmentIds": ["not-ours"]}, 400, "INVALID_AUDIENCE"),
    ({"emailSubject": "x"}, 400, "INVALID_AUDIENCE"),
    ({"labelIds": ["contacts-all"], "sendAt": "tomorrow"}, 400, "INVALID_ARGUMENT"),
    ({"labelIds": ["contacts-all"], "contactsFilter": {"id": {"$in": ["1"]}}}, 400, "INVALID_ARGUMENT"),
])
def test_publish_refuses_bad_distribution_options_and_changes_nothing(t, options, status, code):
    verified_sender(t.engine, t.user)
    cid = draft(t)
    before = load_campaign(t.engine, cid)
    everything = stored_state(t.engine)
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session, json={"emailDistributionOptions": options})
    assert (answer.status, answer.code) == (status, code), answer.body
    after = load_campaign(t.engine, cid)
    assert (after.status, after.rules_json_bundle, [r.list_id for r in after.recipients]) == \
        (before.status, before.rules_json_bundle, [r.list_id for r in before.recipients])
    assert events(t, "campaign_published_event") == []
    assert stored_state(t.engine) == everything  # the email's subject and sender included


def test_publish_with_distribution_needs_a_verified_default_sender(t):
    cid = draft(t)
    before = stored_state(t.engine)
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session,
                         json={"emailDistributionOptions": {"labelIds": ["contacts-all"]}})
    assert (answer.status, answer.code) == (428, "SENDER_DETAILS_NOT_VERIFIED")
    assert load_campaign(t.engine, cid).status == "Draft" and stored_state(t.engine) == before


def test_publish_with_distribution_needs_an_active_account(t):
    verified_sender(t.engine, t.user)
    with t.engine.uow() as uow:
        uow.email_account.update(t.user.id, {"status": "SUSPENDED"})
        uow.commit()
    cid = draft(t)
    before = stored_state(t.engine)
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session,
                         json={"emailDistributionOptions": {"labelIds": ["contacts-all"]}})
    assert (answer.status, answer.code) == (428, "EMAIL_MARKETING_ACCOUNT_NOT_ACTIVE")
    assert load_campaign(t.engine, cid).status == "Draft" and stored_state(t.engine) == before


def test_publish_with_distribution_needs_quota_left(t):
    verified_sender(t.engine, t.user)
    with t.engine.uow() as uow:
        uow.email_account.update(t.user.id, {"monthly_campaigns": 0})
        uow.commit()
    cid = draft(t)
    before = stored_state(t.engine)
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session,
                         json={"emailDistributionOptions": {"labelIds": ["contacts-all"]}})
    assert (answer.status, answer.code) == (428, "EMAIL_MARKETING_QUOTA_EXCEEDED")
    assert load_campaign(t.engine, cid).status == "Draft" and stored_state(t.engine) == before


def test_publish_of_a_campaign_without_content_is_a_failed_precondition(t):
    verified_sender(t.engine, t.user)
    cid = t.api("Campaign.Create", t.user.session, CampaignName="Empty")["CampaignID"]
    make_list(t.engine, t.user)
    before = stored_state(t.engine)
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session,
                         json={"emailDistributionOptions": {"labelIds": ["contacts-all"]}})
    assert (answer.status, answer.code) == (428, "CAMPAIGN_NOT_READY")
    landing = t.rest.post(f"{BASE}/{cid}/publish", t.user.session)
    assert (landing.status, landing.code) == (428, "CAMPAIGN_NOT_READY")
    assert stored_state(t.engine) == before


# --- pause scheduling, reschedule, audience, reuse ---------------------------------------------------------
def scheduled(t, **options) -> int:
    verified_sender(t.engine, t.user)
    cid = draft(t, with_list=False)
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session, json={"emailDistributionOptions": {
        "sendAt": "2026-11-24T09:30:00Z", **options}})
    assert answer.status == 200, answer.body
    return cid


def test_pause_scheduling_then_audience_then_publish_again(t):
    list_id = make_list(t.engine, t.user, "Customers")
    segment_id = make_segment(t.engine, t.user, list_id)
    cid = scheduled(t, labelIds=[str(list_id)], segmentIds=[str(segment_id)])
    not_paused = t.rest.post(f"{BASE}/{cid}/audience", t.user.session)
    assert (not_paused.status, not_paused.code) == (428, "CAMPAIGN_NOT_PAUSED")
    assert t.rest.post(f"{BASE}/{cid}/pause-scheduling", t.user.session).body == {}
    modern = t.rest.get(f"{BASE}/{cid}", t.user.session).body["campaign"]
    assert (modern["visibilityStatus"], modern["distributionStatus"]) == ("PUBLISHED", "PAUSED")
    assert load_campaign(t.engine, cid).status == "Draft"
    assert events(t, "campaign_paused_event") == [("campaign_paused_event", str(cid), {"campaignId": str(cid)})]
    audience = t.rest.post(f"{BASE}/{cid}/audience", t.user.session).body
    assert audience == {"audience": {"contactIds": [], "labelIds": [str(list_id)], "segmentIds": [str(segment_id)],
                                     "activeContactsOnly": True}}
    before = stored_state(t.engine)
    again = t.rest.post(f"{BASE}/{cid}/pause-scheduling", t.user.session)
    assert (again.status, again.code) == (428, "CAMPAIGN_NOT_SCHEDULED")
    assert stored_state(t.engine) == before
    republished = t.rest.post(f"{BASE}/{cid}/publish", t.user.session, json={"emailDistributionOptions": {
        "labelIds": audience["audience"]["labelIds"], "segmentIds": audience["audience"]["segmentIds"]}})
    assert republished.status == 200
    assert t.rest.get(f"{BASE}/{cid}", t.user.session).body["campaign"]["distributionStatus"] == "SCHEDULED"


def test_audience_of_a_paused_campaign_lists_contacts(t):
    list_id = make_list(t.engine, t.user, "Customers")
    contacts = [make_subscriber(t.engine, list_id, f"c{i}@x.test") for i in range(2)]
    cid = scheduled(t, contactIds=[str(c) for c in contacts])
    t.rest.post(f"{BASE}/{cid}/pause-scheduling", t.user.session)
    audience = t.rest.post(f"{BASE}/{cid}/audience", t.user.session).body["audience"]
    assert audience["contactIds"] == [str(c) for c in contacts] and audience["labelIds"] == []


def test_reschedule_moves_the_send_time_and_records_a_scheduled_event(t):
    make_list(t.engine, t.user)
    cid = scheduled(t, labelIds=["contacts-all"])
    answer = t.rest.post(f"{BASE}/{cid}/reschedule", t.user.session, json={"sendAt": "2026-11-25T10:00:00+01:00"})
    assert answer.body == {}
    campaign = load_campaign(t.engine, cid)
    assert (str(campaign.send_date), campaign.send_time) == ("2026-11-25", "09:00:00")
    assert events(t, "campaign_scheduled_event")[-1][2] == {"campaignId": str(cid), "sendAt": "2026-11-25T09:00:00Z",
                                                           "rescheduled": True}
    unscheduled = draft(t)
    before = stored_state(t.engine)
    soon = t.rest.post(f"{BASE}/{cid}/reschedule", t.user.session, json={"sendAt": "2026-11-23T12:05:00Z"})
    assert (soon.status, soon.code) == (400, "SEND_TIME_TOO_SOON")
    assert t.rest.post(f"{BASE}/{cid}/reschedule", t.user.session, json={}).status == 400
    not_scheduled = t.rest.post(f"{BASE}/{unscheduled}/reschedule", t.user.session,
                                json={"sendAt": "2026-11-25T10:00:00Z"})
    assert (not_scheduled.status, not_scheduled.code) == (428, "CAMPAIGN_NOT_SCHEDULED")
    assert stored_state(t.engine) == before  # still 2026-11-25 09:00 and still a draft


def test_reuse_makes_an_unpublished_draft_copy_and_records_created(t):
    cid = draft(t)
    t.rest.post(f"{BASE}/{cid}/publish", t.user.session)
    answer = t.rest.post(f"{BASE}/{cid}/reuse", t.user.session)
    copy = answer.body["campaign"]
    assert copy["campaignId"] != str(cid)
    assert (copy["visibilityStatus"], copy["distributionStatus"]) == ("DRAFT", "NOT_STARTED")
    assert load_campaign(t.engine, int(copy["campaignId"])).email_id != load_campaign(t.engine, cid).email_id
    created = [e for e in events(t, "created") if e[1] == copy["campaignId"]]
    assert len(created) == 1 and created[0][2]["visibilityStatus"] == "DRAFT"


# --- status consistency and the sending-side events ------------------------------------------------------
@pytest.mark.parametrize("status,reason,visibility,distribution", [
    ("Draft", "", "DRAFT", "NOT_STARTED"), ("Ready", "", "PUBLISHED", "SCHEDULED"),
    ("Pending Approval", "", "PUBLISHED", "IN_MODERATION"), ("Sending", "", "PUBLISHED", "SENDING"),
    ("Paused", "", "PUBLISHED", "PAUSED"), ("Sent", "", "PUBLISHED", "DISTRIBUTED"),
    ("Sent", "Canceled", "PUBLISHED", "TERMINATED"), ("Failed", "Audience unavailable", "PUBLISHED", "REJECTED"),
    ("Paused", "Account not active", "PUBLISHED", "REJECTED"),
])
def test_modern_statuses_follow_the_legacy_status(t, status, reason, visibility, distribution):
    cid = draft(t)
    set_campaign(t.engine, cid, status=status, status_reason=reason)
    campaign = t.rest.get(f"{BASE}/{cid}", t.user.session).body["campaign"]
    assert (campaign["status"], campaign["visibilityStatus"], campaign["distributionStatus"]) == \
        ("ACTIVE", visibility, distribution)
    listed = t.rest.get(BASE, t.user.session, visibilityStatuses=visibility).body["campaigns"]
    assert [c["campaignId"] for c in listed] == [str(cid)]


def test_arming_through_the_legacy_commands_records_published_once(t):
    list_id = make_list(t.engine, t.user, "Two")
    make_subscriber(t.engine, list_id, "a@x.test")
    make_subscriber(t.engine, list_id, "b@x.test")
    cid = t.api("Campaign.Create", t.user.session, CampaignName="Legacy")["CampaignID"]
    assert t.api("Campaign.Update", t.user.session, CampaignID=cid, RelEmailID=make_email(t.engine, t.user),
                 RecipientListsAndSegments=f"{list_id}:0", ScheduleType="Immediate", CampaignStatus="Ready")["Success"]
    assert t.api("Campaign.Update", t.user.session, CampaignID=cid, CampaignName="Renamed")["Success"]
    assert (load_campaign(t.engine, cid).name, load_campaign(t.engine, cid).status) == ("Renamed", "Ready")
    assert [body for _, _, body in events(t, "campaign_published_event")] == [
        {"campaignId": str(cid), "landingPageUrl": t.rest.get(f"{BASE}/{cid}", t.user.session)
         .body["campaign"]["publishingData"]["landingPageUrl"], "mailingListSizeEstimate": 2}]
    assert t.api("Campaign.PauseScheduling", t.user.session, CampaignID=cid)["Success"]
    assert t.api("Campaign.Publish", t.user.session, CampaignID=cid)["Success"]
    assert len(events(t, "campaign_published_event")) == 2


def test_cancel_while_sending_records_terminated(t):
    cid = draft(t)
    set_campaign(t.engine, cid, status="Sending", total_sent=3)
    assert t.api("Campaign.Cancel", t.user.session, CampaignID=cid)["Success"]
    assert events(t, "campaign_terminated_event") == [
        ("campaign_terminated_event", str(cid), {"campaignId": str(cid)})]
    assert t.rest.get(f"{BASE}/{cid}", t.user.session).body["campaign"]["distributionStatus"] == "TERMINATED"


def test_a_finished_send_records_distributed(t):
    from scheduler.tick import tick

    verified_sender(t.engine, t.user)
    cid = draft(t)
    t.rest.post(f"{BASE}/{cid}/publish", t.user.session, json={"emailDistributionOptions": {
        "labelIds": ["contacts-all"]}})
    tick(t.engine)   # the list is empty: the instance starts and finishes at once
    assert load_campaign(t.engine, cid).status == "Sent"
    assert events(t, "campaign_distributed_event") == [
        ("campaign_distributed_event", str(cid), {"campaignId": str(cid)})]
    assert t.rest.get(f"{BASE}/{cid}", t.user.session).body["campaign"]["distributionStatus"] == "DISTRIBUTED"


def test_a_campaign_the_account_may_not_send_is_rejected_by_the_tick(t):
    from scheduler.tick import tick

    verified_sender(t.engine, t.user)
    cid = draft(t)
    t.rest.post(f"{BASE}/{cid}/publish", t.user.session, json={"emailDistributionOptions": {
        "labelIds": ["contacts-all"]}})
    with t.engine.uow() as uow:
        uow.email_account.update(t.user.id, {"status": "SUSPENDED"})
        uow.commit()
    tick(t.engine)   # arms the campaign
    tick(t.engine)   # due: the account may not send, so it is held without sending
    assert load_campaign(t.engine, cid).status == "Paused"
    assert events(t, "campaign_rejected_event") == [
        ("campaign_rejected_event", str(cid), {"campaignId": str(cid)})]
    assert events(t, "campaign_distributed_event") == []
    # The Campaign API answers only an ACTIVE account; active again, the campaign shows as rejected.
    assert t.rest.get(f"{BASE}/{cid}", t.user.session).code == "EMAIL_MARKETING_ACCOUNT_NOT_ACTIVE"
    with t.engine.uow() as uow:
        uow.email_account.update(t.user.id, {"status": "ACTIVE"})
        uow.commit()
    assert t.rest.get(f"{BASE}/{cid}", t.user.session).body["campaign"]["distributionStatus"] == "REJECTED"


# --- send test -----------------------------------------------------------------------------------------
def test_send_test_validates_the_address(t):
    cid = draft(t)
    before = stored_state(t.engine)
    answer = t.rest.post(f"{BASE}/{cid}/test", t.user.session, json={"toEmailAddress": "not an address"})
    assert (answer.status, answer.code) == (400, "INVALID_ARGUMENT")
    assert t.rest.post(f"{BASE}/{cid}/test", t.user.session, json={}).status == 400
    assert stored_state(t.engine) == before


def test_send_test_without_smtp_is_a_failed_precondition(t):
    cid = draft(t)
    before = stored_state(t.engine)
    answer = t.rest.post(f"{BASE}/{cid}/test", t.user.session, json={"toEmailAddress": "me@example.com"})
    assert (answer.status, answer.code) == (428, "SMTP_NOT_CONFIGURED")
    assert stored_state(t.engine) == before


@pytest.fixture
def relay(engine):
    """An SMTP server on 127.0.0.1 as the engine's only relay, allowing two test sends an hour."""
    from tests.e2e.support import loopback_relay

    with loopback_relay(engine, test_send_limit=2, test_send_window_seconds=3600) as recorder:
        yield recorder


def test_send_test_mails_the_campaign_and_is_rate_limited(t, relay):
    cid = draft(t)
    path = f"{BASE}/{cid}/test"
    answer = t.rest.post(path, t.user.session, json={"toEmailAddress": "me@example.com", "emailSubject": "Look"})
    assert (answer.status, answer.body) == (200, {})
    assert relay.recipients() == ["me@example.com"]
    assert b"Subject: [Test] Look" in relay.messages[0][2]
    assert t.rest.post(path, t.user.session, json={"toEmailAddress": "me@example.com"}).status == 200
    before = stored_state(t.engine)
    assert len(before["test_sends"]) == 2  # both sends are recorded
    limited = t.rest.post(path, t.user.session, json={"toEmailAddress": "me@example.com"})
    assert (limited.status, limited.code) == (429, "TOO_MANY_REQUESTS")
    assert int(limited.headers["Retry-After"]) == 3600
    assert len(relay.messages) == 2 and stored_state(t.engine) == before
    t.clock.advance(seconds=3601)
    assert t.rest.post(path, t.user.session, json={"toEmailAddress": "me@example.com"}).status == 200


def test_send_test_preconditions_and_a_refusing_relay(t, relay):
    no_content = t.api("Campaign.Create", t.user.session, CampaignName="Empty")["CampaignID"]
    before = stored_state(t.engine)
    answer = t.rest.post(f"{BASE}/{no_content}/test", t.user.session, json={"toEmailAddress": "me@example.com"})
    assert (answer.status, answer.code) == (428, "CAMPAIGN_HAS_NO_CONTENT")
    assert stored_state(t.engine) == before
    cid = draft(t)
    with t.engine.uow() as uow:
        uow.suppression.add(t.user.id, "blocked@example.com", reason="test")
        uow.commit()
    before = stored_state(t.engine)
    answer = t.rest.post(f"{BASE}/{cid}/test", t.user.session, json={"toEmailAddress": "blocked@example.com"})
    assert (answer.status, answer.code) == (428, "RECIPIENT_SUPPRESSED")
    relay.reject["nobody@example.com"] = "550 5.1.1 No such user"
    answer = t.rest.post(f"{BASE}/{cid}/test", t.user.session, json={"toEmailAddress": "nobody@example.com"})
    assert (answer.status, answer.code) == (502, "TEST_EMAIL_NOT_DELIVERED")
    assert relay.messages == [] and stored_state(t.engine) == before


def test_a_send_time_without_offset_is_utc(t):
    make_list(t.engine, t.user)
    cid = scheduled(t, labelIds=["contacts-all"])
    assert t.rest.post(f"{BASE}/{cid}/reschedule", t.user.session, json={"sendAt": "2026-11-26T07:15:00"}).body == {}
    campaign = load_campaign(t.engine, cid)
    assert (str(campaign.send_date), campaign.send_time) == ("2026-11-26", "07:15:00")


def test_landing_page_head_requests_are_not_counted(t, client):
    cid = draft(t)
    url = t.rest.post(f"{BASE}/{cid}/publish", t.user.session).body["publishingData"]["landingPageUrl"]
    path = url.replace("http://sendmill.test", "")
    assert client.head(path).status_code == 200
    assert load_campaign(t.engine, cid).total_views_on_browser == 0
    client.get(path)
    client.get(path)
    stats = t.rest.get(f"{BASE}/statistics", t.user.session, campaignIds=str(cid)).body["statistics"][0]
    assert stats["landingPage"] == {"opened": 2, "clicked": 0}
