"""Admin.Campaign.RetryFailed end to end: a campaign sent through a real SMTP server on loopback, some
recipients refused, the retry through HTTP, and the second round — each failed recipient retried once,
nobody mailed twice, nobody added, the send-time re-check still applied."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select, update

from engine.delivery.relays import parse_relays
from engine.delivery.runner import DeliveryRunner
from engine.delivery.transport import SmtpPool
from engine.models import Campaign, Delivery, SendInstance, Subscriber
from protocol.commands import campaign_retry as commands
from scheduler.tick import tick
from tests.builders import CodeRecorder, assert_codes_reached
from tests.e2e.support import make_campaign, make_list, make_owner
from tests.helpers import stored_state

SEEN: dict = {}
# Sendmill's workers poll the ledger; there is no message queue whose notification could fail after the
# commit, and a database error rolls the whole retry back (the dispatcher's internal-error code).
NEVER_EMITTED = {"Admin.Campaign.RetryFailed": {6}}
PEOPLE = [f"r{i}@example.com" for i in range(10)]
REFUSED = ["r2@example.com", "r5@example.com", "r7@example.com"]


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def pool(smtp):
    transport = SmtpPool(parse_relays(smtp.url))
    yield transport
    transport.close()


def send_round(engine, pool, clock):
    summary = DeliveryRunner(engine, pool, clock=clock, worker_id="retry-test").run_once(60)
    tick(engine, clock())
    return summary


def ledger(engine, campaign_id: int) -> dict[str, str]:
    with engine.uow() as uow:
        return dict(uow.session.execute(
            select(Delivery.email_normalized, Delivery.state).join(SendInstance, SendInstance.id == Delivery.instance_id)
            .where(SendInstance.campaign_id == campaign_id)).all())


def campaign(engine, campaign_id: int) -> Campaign:
    with engine.uow() as uow:
        row = uow.session.get(Campaign, campaign_id)
        uow.session.expunge(row)
        return row


@pytest.fixture
def sent_with_failures(engine, clock, smtp, pool):
    owner = make_owner(engine)
    list_id = make_list(engine, owner, PEOPLE, "Retry")
    campaign_id = make_campaign(engine, owner, [list_id])
    assert tick(engine, clock()).started == 1
    for address in REFUSED:
        smtp.reject[address] = "550 5.1.1 No such user"
    first = send_round(engine, pool, clock)
    assert (first.sent, first.failed) == (7, 3)
    row = campaign(engine, campaign_id)
    assert (row.status, row.total_sent, row.total_failed) == ("Sent", 7, 3)
    return campaign_id, list_id


def test_retry_sends_each_failed_recipient_once_and_nobody_else(api, admin, engine, clock, smtp, pool,
                                                                 sent_with_failures):
    campaign_id, list_id = sent_with_failures
    smtp.reject.clear()
    # Since the send: someone joined the list (must not be added), a refused one unsubscribed (re-checked).
    with engine.uow() as uow:
        uow.session.add(Subscriber(list_id=list_id, email_address="late@example.com", email_normalized="late@example.com",
                                   subscription_date=clock()))
        uow.session.execute(update(Subscriber).where(Subscriber.email_normalized == "r5@example.com")
                            .values(subscription_status="Unsubscribed"))
        uow.commit()
    answer = api("Admin.Campaign.RetryFailed", admin.session, CampaignID=campaign_id)
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "RetriedCount": 3, "BatchesCreated": 1,
                      "Message": "3 failed recipients queued for retry in 1 batch(es)."}
    row = campaign(engine, campaign_id)
    assert (row.status, row.total_failed) == ("Sending", 0)
    assert Counter(ledger(engine, campaign_id).values()) == {"sent": 7, "pending": 3}
    # A second retry while the first is pending: refused, nothing changes.
    before = stored_state(engine)
    assert api("Admin.Campaign.RetryFailed", admin.session, CampaignID=campaign_id)["ErrorCode"] == 3
    assert stored_state(engine) == before

    second = send_round(engine, pool, clock)
    assert (second.sent, second.skipped) == (2, 1)
    received = Counter(smtp.recipients())
    assert max(received.values()) == 1 and "late@example.com" not in received and "r5@example.com" not in received
    assert set(received) == set(PEOPLE) - {"r5@example.com"}
    states = ledger(engine, campaign_id)
    assert states["r5@example.com"] == "skipped" and "late@example.com" not in states
    row = campaign(engine, campaign_id)
    assert (row.status, row.total_sent, row.total_failed) == ("Sent", 9, 0)
    before = stored_state(engine)
    assert api("Admin.Campaign.RetryFailed", admin.session, CampaignID=campaign_id)["ErrorCode"] == 5
    assert stored_state(engine) == before


def test_two_administrators_retrying_at_once_retry_once(app, admin, engine, sent_with_failures):
    import threading

    campaign_id, _ = sent_with_failures
    barrier, answers = threading.Barrier(2), []

    def retry():
        client = app.test_client()
        barrier.wait(30)
        answers.append(client.post("/api.php", data={"Command": "Admin.Campaign.RetryFailed", "ResponseFormat": "JSON",
                                                     "SessionID": admin.session, "CampaignID": campaign_id}).get_json())

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(a["ErrorCode"] for a in answers) == [0, 3], answers
    assert [a["RetriedCount"] for a in answers if a["Success"]] == [3]
    assert Counter(ledger(engine, campaign_id).values()) == {"sent": 7, "pending": 3}
    assert campaign(engine, campaign_id).total_failed == 0


def test_retry_on_api_v1(client, admin, engine, smtp, sent_with_failures):
    campaign_id, _ = sent_with_failures
    response = client.post("/api/v1/admin.campaign.retryfailed",
                           json={"SessionID": admin.session, "CampaignID": campaign_id})
    assert response.status_code == 200 and response.get_json()["RetriedCount"] == 3
    response = client.post("/api/v1/admin.campaign.retryfailed",
                           json={"SessionID": admin.session, "CampaignID": campaign_id})
    assert response.status_code == 409 and response.get_json()["Errors"][0]["Code"] == 3


def test_refusals_change_nothing(api, admin, user, engine, clock):
    owner = make_owner(engine)
    list_id = make_list(engine, owner, PEOPLE[:2], "Draft")
    never_sent = make_campaign(engine, owner, [list_id])
    with engine.uow() as uow:
        uow.session.get(Campaign, never_sent).status = "Sent"   # marked Sent without ever starting
        uow.commit()
    ready = make_campaign(engine, owner, [list_id])
    before = stored_state(engine)
    assert api("Admin.Campaign.RetryFailed", admin.session)["ErrorCode"] == 1
    assert api("Admin.Campaign.RetryFailed", admin.session, CampaignID="abc")["ErrorCode"] == 1
    assert api("Admin.Campaign.RetryFailed", admin.session, CampaignID=ready + 100)["ErrorCode"] == 2
    assert api("Admin.Campaign.RetryFailed", admin.session, CampaignID=ready)["ErrorCode"] == 3
    assert api("Admin.Campaign.RetryFailed", admin.session, CampaignID=never_sent)["ErrorCode"] == 4
    assert api("Admin.Campaign.RetryFailed", user.session, CampaignID=ready)["ErrorCode"] in (99998, 99999)
    assert stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, NEVER_EMITTED)
