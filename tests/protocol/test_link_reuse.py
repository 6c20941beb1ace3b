"""A public link opens the row it was made for, or the not-found page: never another row that got its id.

Two layers (README "Security"): ids are never handed out again, on every backend (SQLite included:
AUTOINCREMENT), and every link carries the random nonce of its row, so even a row that does come back
with an old id (a restored database, an id SQLite reused before revision 0002) is not opened by the old
row's links. The tests here delete a row and make the next one in another account, and check the id and
the old link; then they force the old id onto a new row and check the nonce. tests/e2e/test_link_reuse.py
does the same with the links of real mailed messages.
"""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from engine.campaigns.landing_pages import landing_page_url
from engine.campaigns.modern_status import LANDING_PAGE_ON
from engine.models import Campaign, EmailSubscription, Subscriber
from engine.models.sending import Delivery, SendInstance
from engine.tracking.tokens import Kind
from tests.builders import load_campaign, load_row, make_email, make_list
from tests.helpers import legacy_token
from tests.protocol.test_tracking import HTML, dsn, sent_campaign, stats

SITE = "http://sendmill.test"
CAMPAIGNS = "/email-marketing/v1/campaigns"
SUBSCRIPTIONS = "/email-marketing/v1/email-subscriptions"


def published(api, rest, engine, account, html: str) -> tuple[int, str]:
    """A campaign of `account` with its landing page published: (id, landing page path)."""
    cid = api("Campaign.Create", account.session, CampaignName="Landing")["CampaignID"]
    email_id = make_email(engine, account, subject="Hello", html_content=html)
    assert api("Campaign.Update", account.session, CampaignID=cid, RelEmailID=email_id)["Success"]
    answer = rest.post(f"{CAMPAIGNS}/{cid}/publish", account.session)
    assert answer.status == 200, answer.body
    return cid, answer.body["publishingData"]["landingPageUrl"].removeprefix(SITE)


# --- landing pages ---------------------------------------------------------------------------------
def test_a_deleted_campaigns_landing_page_never_shows_the_next_accounts_campaign(api, rest, client, engine, user,
                                                                                 other_user):
    mine, my_page = published(api, rest, engine, user, "<p>Alice's private offer</p>")
    assert client.get(my_page).status_code == 200
    assert rest.delete(f"{CAMPAIGNS}/{mine}", user.session).status == 200

    theirs, their_page = published(api, rest, engine, other_user, "<p>Mallory's news</p>")

    assert theirs > mine                       # the deleted campaign's id is not handed out again
    gone = client.get(my_page)
    assert gone.status_code == 404 and b"Link not found" in gone.data and b"Mallory" not in gone.data
    assert client.get(their_page).status_code == 200
    assert load_campaign(engine, theirs).total_views_on_browser == 1   # the 404 counted no view


def test_a_landing_page_link_never_opens_a_campaign_that_came_back_with_its_id(api, rest, client, engine, user,
                                                                              other_user):
    """A restored database, or an id SQLite reused before revision 0002: the nonce tells them apart."""
    mine, my_page = published(api, rest, engine, user, "<p>Alice's private offer</p>")
    assert rest.delete(f"{CAMPAIGNS}/{mine}", user.session).status == 200
    email_id = make_email(engine, other_user, subject="Hello", html_content="<p>Mallory's news</p>")
    with engine.uow() as uow:
        now = uow.clock()
        intruder = Campaign(id=mine, owner_user_id=other_user.id, name="Same id", email_id=email_id,
                            publish_on_rss=LANDING_PAGE_ON, created_at=now, last_activity_at=now)
        uow.session.add(intruder)
        uow.commit()
        their_page = landing_page_url(engine.settings, intruder).removeprefix(SITE)

    assert client.get(my_page).status_code == 404
    assert client.get(their_page).status_code == 200   # the same id, with its own nonce
    assert load_campaign(engine, mine).total_views_on_browser == 1


def test_a_landing_page_code_from_before_nonces_is_not_found(api, rest, client, engine, user):
    """`/so/<id>-<mac>` named an id only: on SQLite it could already name another account's campaign."""
    import hashlib
    import hmac

    cid, page = published(api, rest, engine, user, "<p>Hi</p>")
    key = hmac.new(b"test-secret", b"sendmill/landing-page/v1", hashlib.sha256).digest()
    old = f"/so/{cid}-{hmac.new(key, str(cid).encode(), hashlib.sha256).hexdigest()[:20]}"
    assert client.get(old).status_code == 404
    assert client.get(page).status_code == 200


# --- the links of a campaign's messages --------------------------------------------------------------
def test_a_sent_campaigns_links_never_open_rows_that_came_back_with_their_ids(api, client, engine, user,
                                                                             other_user):
    """Open, click, unsubscribe, web view and the VERP bounce address of a deleted campaign's message,
    after another account's campaign, send instance and subscriber got the very same ids."""
    sent = sent_campaign(engine, api, user)
    links = {kind: sent.url(kind, sent.alice, **({"link_index": 1} if kind is Kind.CLICK else {}))
             for kind in (Kind.OPEN, Kind.CLICK, Kind.UNSUBSCRIBE, Kind.WEB_VIEW)}
    bounce_to = sent.verp(sent.alice)
    assert api("Campaigns.Delete", user.session, Campaigns=sent.campaign_id)["Success"]
    assert api("Subscribers.Delete", user.session, SubscriberListID=sent.list_id,
               Subscribers=f"{sent.alice},{sent.bob}")["Success"]

    theirs = same_ids_in_another_account(engine, other_user, sent.campaign_id, sent.instance_id, sent.alice)

    for kind, url in links.items():
        assert client.get(url).status_code == 404, kind
    assert client.post(links[Kind.UNSUBSCRIBE], data={"List-Unsubscribe": "One-Click"}).status_code == 404
    with engine.uow() as uow:
        assert uow.events.record_message(dsn(bounce_to, "carol@example.org"), [bounce_to]) == (1, 0)
        uow.commit()
    carol = load_row(engine, Subscriber, sent.alice)
    assert (carol.email_address, carol.subscription_status, carol.bounce_type) == (
        "carol@example.org", "Subscribed", "Not Bounced")
    figures = stats(api, other_user, sent.campaign_id)
    assert figures["OpenStatistics"]["TotalOpens"] == 0 and figures["ClickStatistics"]["TotalClicks"] == 0
    # The same ids signed with the new campaign's own nonce do open it: the old links failed on the nonce.
    assert client.get(replace(sent, nonce=theirs).url(Kind.WEB_VIEW, sent.alice)).status_code == 200


def same_ids_in_another_account(engine, account, campaign_id: int, instance_id: int, subscriber_id: int) -> str:
    """The other account's campaign, send instance and subscriber, forced onto the given ids; its nonce."""
    list_id = make_list(engine, account, "Theirs")
    email_id = make_email(engine, account, subject="Theirs", html_content=HTML, from_email="news@example.com")
    with engine.uow() as uow:
        now = uow.clock()
        campaign = Campaign(id=campaign_id, owner_user_id=account.id, name="Same ids", email_id=email_id,
                            status="Sent", created_at=now, last_activity_at=now)
        uow.session.add(campaign)
        uow.session.add(Subscriber(id=subscriber_id, list_id=list_id, email_address="carol@example.org",
                                   email_normalized="carol@example.org", subscription_date=now))
        uow.session.flush()
        uow.session.add(SendInstance(id=instance_id, campaign_id=campaign_id, number=1, scheduled_for=now,
                                     started_at=now, state="done", total_recipients=1))
        uow.session.flush()
        uow.session.add(Delivery(instance_id=instance_id, subscriber_id=subscriber_id,
                                 email_normalized="carol@example.org", state="sent", sent_at=now))
        uow.commit()
        return campaign.public_nonce


# --- account-wide unsubscribe links --------------------------------------------------------------------
def test_an_unsubscribe_link_of_a_deleted_account_never_unsubscribes_the_next_accounts_address(
        api, rest, client, engine, admin, user, other_user):
    link = rest.post(f"{SUBSCRIPTIONS}/unsubscribe-link", user.session,
                     json={"emailAddress": "ann@example.com"}).body["link"].removeprefix(SITE)
    assert client.get(link).status_code == 200
    mine = subscription_ids(engine)
    assert api("Users.Delete", admin.session, Users=user.id)["Success"]   # and, by cascade, its records

    theirs = rest.post(f"{SUBSCRIPTIONS}/unsubscribe-link", other_user.session,
                       json={"emailAddress": "bea@example.com"}).body["link"].removeprefix(SITE)

    assert min(subscription_ids(engine)) > max(mine)
    assert client.get(link).status_code == 404
    assert client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    with engine.uow() as uow:
        assert uow.session.scalars(select(EmailSubscription.subscription_status)).all() == ["NOT_SET"]
    assert b"bea@example.com" in client.get(theirs).data


def subscription_ids(engine) -> list[int]:
    with engine.uow() as uow:
        return list(uow.session.scalars(select(EmailSubscription.id)))


# --- links signed before nonces (version 1) --------------------------------------------------------------
def test_a_link_signed_before_nonces_opens_only_rows_that_existed_before_them(api, client, engine, user):
    """Unsubscribe links already mailed keep working for the rows revision 0002 found (legacy_links),
    and never open a row made since; for a campaign message, its campaign and subscriber must both be old."""
    sent = sent_campaign(engine, api, user)
    signer = engine.settings.signer()
    unsubscribe = "/t/u/" + legacy_token(signer, Kind.UNSUBSCRIBE, instance_id=sent.instance_id,
                                         subscriber_id=sent.alice)
    confirm = "/t/confirm/" + legacy_token(signer, Kind.CONFIRM, subscriber_id=sent.bob)

    assert client.get(unsubscribe).status_code == 404 and client.get(confirm).status_code == 404
    mark_legacy(engine, Campaign, sent.campaign_id)
    assert client.get(unsubscribe).status_code == 404            # the subscriber is new
    mark_legacy(engine, Subscriber, sent.alice)
    mark_legacy(engine, Subscriber, sent.bob)
    page = client.get(unsubscribe)
    assert page.status_code == 200 and b"alice@example.org" in page.data
    assert client.get(confirm).status_code == 200
    assert load_row(engine, Subscriber, sent.alice).subscription_status == "Subscribed"   # a GET changes nothing


def mark_legacy(engine, model, row_id: int) -> None:
    """What revision 0002 does to the rows it finds."""
    with engine.uow() as uow:
        uow.session.get(model, row_id).legacy_links = True
        uow.commit()


def test_a_new_row_gets_its_own_nonce(api, engine, user):
    first, second = (api("Campaign.Create", user.session, CampaignName=name)["CampaignID"] for name in "AB")
    nonces = {load_campaign(engine, cid).public_nonce for cid in (first, second)}
    assert len(nonces) == 2 and all(len(n) == 8 and int(n, 16) >= 0 for n in nonces)
    assert not load_campaign(engine, first).legacy_links
