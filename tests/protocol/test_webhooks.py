"""Webhook registration and the delivery log: the /api.php commands (every code) and the REST surface,
with a real receiver on loopback."""
from __future__ import annotations

import dataclasses
import json

import pytest

from engine.events import outbox
from engine.events.webhook_dispatch import dispatch
from protocol.commands.webhooks import COMMANDS
from tests.engine.test_webhooks import loopback_allowed, receiver  # noqa: F401 - fixtures
from tests.helpers import codes, stored_state

BASE = "/webhooks/v1/webhooks"


def create(api, account, url: str, **params) -> dict:
    answer = api("Webhook.Create", account.session, URL=url, **params)
    assert answer["Success"] is True, answer
    return answer


def record(engine, account, slug: str = "campaign_paused_event") -> str:
    with engine.uow() as uow:
        event = uow.outbox.record(owner_user_id=account.id, entity_fqdn=outbox.CAMPAIGN, slug=slug, entity_id=4,
                                  body={"campaignId": "4"})
        uow.commit()
        return event.event_id


# --- /api.php ----------------------------------------------------------------------------------------
def test_create_answers_the_secret_once_and_deliveries_verify_with_it(engine, api, user, receiver):
    answer = create(api, user, receiver.url(),
                    EventTypes="wix.email_marketing.v1.campaign, wix.promote.v1.sender_email")
    assert answer["Webhook"]["EventTypes"] == ["wix.email_marketing.v1.campaign", "wix.promote.v1.sender_email"]
    assert answer["Webhook"]["Enabled"] is True and len(answer["Secret"]) >= 32
    receiver.secrets["/hook"] = answer["Secret"]
    listed = api("Webhooks.Get", user.session)
    assert listed["TotalWebhookCount"] == 1 and listed["Webhooks"][0]["WebhookID"] == answer["WebhookID"]
    assert answer["Secret"] not in json.dumps(listed)
    event_id = record(engine, user)
    dispatch(engine)
    assert [e["id"] for e in receiver.events()] == [event_id]
    log = api("Webhook.Deliveries.Get", user.session, WebhookID=answer["WebhookID"])
    assert log["TotalDeliveryCount"] == 1
    row = log["Deliveries"][0]
    assert (row["EventID"], row["State"], row["Attempts"], row["LastStatusCode"]) == (event_id, "delivered", 1, 200)
    assert row["EventType"] == "wix.email_marketing.v1.campaign_campaign_paused_event"


def test_update_delete_and_the_delivery_log_filters(engine, api, user, clock, receiver):
    webhook_id = create(api, user, receiver.url())["WebhookID"]
    receiver.fail["/hook"] = 1
    receiver.secrets["/hook"] = "unknown-until-update-" + "x" * 32
    first, second = record(engine, user), record(engine, user, "campaign_published_event")
    dispatch(engine)   # both refused: 500, then 401 (the receiver does not know the secret)
    assert api("Webhook.Deliveries.Get", user.session, WebhookID=webhook_id, State="delivered")[
        "TotalDeliveryCount"] == 0
    pending = api("Webhook.Deliveries.Get", user.session, WebhookID=webhook_id, State="Pending",
                  RecordsPerRequest=1, RecordsFrom=1)
    assert pending["TotalDeliveryCount"] == 2 and [d["EventID"] for d in pending["Deliveries"]] == [first]
    updated = api("Webhook.Update", user.session, WebhookID=webhook_id, URL=receiver.url("/moved"),
                  EventTypes="wix.email_marketing.v1.campaign_campaign_published_event", Enabled="false")
    assert updated["Webhook"]["URL"].endswith("/moved") and updated["Webhook"]["Enabled"] is False
    before = stored_state(engine)
    assert api("Webhook.Test", user.session, WebhookID=webhook_id)["ErrorCode"] == 3
    assert stored_state(engine) == before  # no ping event was recorded
    assert api("Webhook.Update", user.session, WebhookID=webhook_id, Enabled="true", EventTypes="*")[
        "Webhook"]["EventTypes"] == []
    assert api("Webhook.Delete", user.session, WebhookID=webhook_id)["Success"] is True
    assert api("Webhooks.Get", user.session)["TotalWebhookCount"] == 0
    assert api("Webhook.Deliveries.Get", user.session, WebhookID=webhook_id)["ErrorCode"] == 2


def test_webhook_test_pings_the_endpoint(engine, api, user, receiver):
    answer = create(api, user, receiver.url())
    receiver.secrets["/hook"] = answer["Secret"]
    ping = api("Webhook.Test", user.session, WebhookID=answer["WebhookID"])
    assert ping["Success"] is True
    dispatch(engine)
    (event,) = receiver.events()
    assert (event["id"], event["slug"]) == (ping["EventID"], "ping")
    (_path, claims, _headers), = receiver.accepted
    assert claims["data"]["eventType"] == "sendmill.v1.webhook_ping"


def test_another_user_s_webhook_is_answered_as_missing(api, engine, user, other_user, receiver):
    theirs = create(api, other_user, receiver.url())["WebhookID"]
    before = stored_state(engine)
    for command, params in (("Webhook.Update", {"URL": receiver.url("/x")}), ("Webhook.Delete", {}),
                            ("Webhook.Deliveries.Get", {}), ("Webhook.Test", {})):
        assert api(command, user.session, WebhookID=theirs, **params)["ErrorCode"] == 2, command
    assert stored_state(engine) == before
    assert api("Webhooks.Get", user.session)["TotalWebhookCount"] == 0
    assert api("Webhooks.Get", other_user.session)["TotalWebhookCount"] == 1


@pytest.mark.parametrize("command, params, code", [
    ("Webhook.Create", {}, 1),
    ("Webhook.Create", {"URL": "ftp://127.0.0.1/x"}, 2),
    ("Webhook.Create", {"URL": "http://127.0.0.1/x", "EventTypes": "wix.nothing.v1.x"}, 3),
    ("Webhook.Create", {"URL": "http://127.0.0.1/x", "EventTypes": "[1, 2]"}, 3),
    ("Webhook.Update", {}, 1),
    ("Webhook.Update", {"WebhookID": "999999"}, 2),
    ("Webhook.Update", {"WebhookID": "OWN", "URL": "javascript:alert(1)"}, 3),
    ("Webhook.Update", {"WebhookID": "OWN", "EventTypes": "campaign_created"}, 4),
    ("Webhook.Delete", {}, 1),
    ("Webhook.Delete", {"WebhookID": "abc"}, 2),
    ("Webhook.Deliveries.Get", {}, 1),
    ("Webhook.Deliveries.Get", {"WebhookID": "999999"}, 2),
    ("Webhook.Deliveries.Get", {"WebhookID": "OWN", "State": "lost"}, 3),
    ("Webhook.Deliveries.Get", {"WebhookID": "OWN", "RecordsFrom": "-1"}, 4),
    ("Webhook.Deliveries.Get", {"WebhookID": "OWN", "RecordsPerRequest": "1001"}, 5),
    ("Webhook.Test", {}, 1),
    ("Webhook.Test", {"WebhookID": "999999"}, 2),
    ("Webhook.Test", {"WebhookID": "DISABLED"}, 3),
])
def test_every_error_code(api, engine, user, command, params, code):
    own = create(api, user, "http://127.0.0.1:9/hook")["WebhookID"]
    disabled = create(api, user, "http://127.0.0.1:9/off", Enabled="false")["WebhookID"]
    params = {k: {"OWN": own, "DISABLED": disabled}.get(v, v) for k, v in params.items()}
    before = stored_state(engine)
    answer = api(command, user.session, **params)
    assert answer["Success"] is False and codes(answer) == [code], answer
    assert api("Webhooks.Get", user.session)["TotalWebhookCount"] == 2   # nothing half-written
    assert stored_state(engine) == before


@pytest.mark.parametrize("host", ["[64:ff9b::7f00:1]", "[64:ff9b::a9fe:a9fe]", "[2002:a00:1::]", "[::7f00:1]",
                                  "[::ffff:0:c0a8:101]", "192.0.0.9"])
def test_ipv6_forms_of_private_addresses_are_refused_at_registration(engine, api, user, host):
    # NAT64 of 127.0.0.1 and 169.254.169.254, 6to4 of 10.0.0.1, IPv4-compatible loopback,
    # IPv4-translated 192.168.1.1, and the IETF protocol block.
    engine.settings = dataclasses.replace(engine.settings, webhook_allow_private=False)
    url = f"http://{host}:8080/hook"
    own = create(api, user, "https://hooks.example.com/a")["WebhookID"]
    before = stored_state(engine)
    assert codes(api("Webhook.Create", user.session, URL=url)) == [2]
    assert codes(api("Webhook.Update", user.session, WebhookID=own, URL=url)) == [3]
    assert stored_state(engine) == before
    listed = api("Webhooks.Get", user.session)["Webhooks"]
    assert [w["URL"] for w in listed] == ["https://hooks.example.com/a"]   # nothing stored, nothing changed
    assert create(api, user, "http://[64:ff9b::808:808]/hook")["Webhook"]["URL"] == "http://[64:ff9b::808:808]/hook"


def test_every_code_of_the_table_is_exercised():
    exercised = {(c, code) for c, _p, code in test_every_error_code.pytestmark[0].args[1]}
    assert exercised == {(cmd.name, code) for cmd in COMMANDS for code in cmd.errors}


# --- REST ----------------------------------------------------------------------------------------------
def test_rest_registration_and_delivery_log(engine, rest, user, other_user, receiver):
    made = rest.post(BASE, user.session, json={"webhook": {"url": receiver.url(),
                                                           "eventTypes": ["wix.email_marketing.v1.campaign"]}})
    assert made.status == 200, made.body
    webhook, secret = made.body["webhook"], made.body["secret"]
    assert webhook["eventTypes"] == ["wix.email_marketing.v1.campaign"] and webhook["enabled"] is True
    assert webhook["dateCreated"] == "2026-11-23T12:00:00Z"
    receiver.secrets["/hook"] = secret
    path = f"{BASE}/{webhook['id']}"
    got = rest.get(path, user.session)
    assert got.body == {"webhook": webhook} and secret not in json.dumps(rest.get(BASE, user.session).body)
    event_id = record(engine, user)
    dispatch(engine)
    log = rest.get(f"{path}/deliveries", user.session, state="DELIVERED")
    assert log.status == 200 and log.body["pagingMetadata"] == {"count": 1, "offset": 0, "total": 1}
    assert (log.body["deliveries"][0]["eventId"], log.body["deliveries"][0]["state"]) == (event_id, "DELIVERED")
    patched = rest.patch(path, user.session, json={"webhook": {"enabled": False, "eventTypes": []}})
    assert (patched.body["webhook"]["enabled"], patched.body["webhook"]["eventTypes"]) == (False, [])
    before = stored_state(engine)
    assert rest.post(f"{path}/test", user.session).code == "WEBHOOK_DISABLED"
    # Another user's webhook, or an id that names none, is not found.
    for probe in (lambda p: rest.get(p, other_user.session), lambda p: rest.delete(p, other_user.session),
                  lambda p: rest.get(f"{p}/deliveries", other_user.session),
                  lambda p: rest.patch(p, other_user.session, json={"webhook": {"enabled": True}})):
        assert probe(path).status == 404
    assert rest.get(f"{BASE}/not-a-number", user.session).status == 404
    assert stored_state(engine) == before
    assert rest.delete(path, user.session).status == 200
    assert rest.get(BASE, user.session).body == {"webhooks": []}


def test_rest_refuses_bad_input(rest, engine, user):
    before = stored_state(engine)
    assert rest.post(BASE, user.session, json={"webhook": {"url": "file:///etc/passwd"}}).code == "INVALID_WEBHOOK_URL"
    assert rest.post(BASE, user.session, json={"webhook": {"url": "http://127.0.0.1/x", "eventTypes": ["nope"]}}
                     ).code == "INVALID_EVENT_TYPE"
    assert rest.post(BASE, user.session, json={"webhook": {}}).status == 400
    assert rest.post(BASE, None, json={"webhook": {"url": "http://127.0.0.1/x"}}).status == 401
    assert stored_state(engine) == before
    made = rest.post(BASE, user.session, json={"webhook": {"url": "http://127.0.0.1/x"}})
    bad_state = rest.get(f"{BASE}/{made.body['webhook']['id']}/deliveries", user.session, state="LOST")
    assert bad_state.status == 400
    assert rest.get(BASE, user.session).body["webhooks"][0]["url"] == "http://127.0.0.1/x"


def test_campaign_events_from_commands_arrive_and_a_refused_command_sends_none(engine, api, user, other_user,
                                                                               receiver):
    answer = create(api, user, receiver.url(), EventTypes="wix.email_marketing.v1.campaign_created,"
                                                          "wix.email_marketing.v1.campaign_deleted")
    receiver.secrets["/hook"] = answer["Secret"]
    mine = api("Campaign.Create", user.session, CampaignName="Spring")["CampaignID"]
    foreign = api("Campaign.Create", other_user.session, CampaignName="Theirs")["CampaignID"]
    refused = api("Campaigns.Delete", user.session, Campaigns=f"{mine},{foreign}")   # all-or-nothing
    assert refused["Success"] is False
    dispatch(engine)
    assert [(e["slug"], e["entityId"]) for e in receiver.events()] == [("created", str(mine))]
    assert api("Campaigns.Delete", user.session, Campaigns=str(mine))["Success"] is True
    dispatch(engine)
    created, deleted = receiver.events()
    assert "actionEvent" in created and (deleted["slug"], deleted["entityId"], deleted["deletedEvent"]) == (
        "deleted", str(mine), {})
    (_p, claims, _h), _ = receiver.accepted
    assert claims["data"]["eventType"] == "wix.email_marketing.v1.campaign_created"


def test_rotating_the_secret_signs_the_next_deliveries_with_the_new_one(engine, api, rest, user, clock, receiver):
    answer = create(api, user, receiver.url())
    receiver.secrets["/hook"] = answer["Secret"]
    assert "Secret" not in api("Webhook.Update", user.session, WebhookID=answer["WebhookID"], Enabled="true")
    rotated = api("Webhook.Update", user.session, WebhookID=answer["WebhookID"], RotateSecret="true")
    assert rotated["Secret"] not in (answer["Secret"], "") and len(rotated["Secret"]) >= 32
    record(engine, user)
    assert dispatch(engine).retrying == 1        # the receiver still verifies with the old secret: 401
    receiver.secrets["/hook"] = rotated["Secret"]
    path = f"{BASE}/{answer['WebhookID']}"
    assert "secret" not in rest.patch(path, user.session, json={"webhook": {}}).body
    again = rest.patch(path, user.session, json={"webhook": {}, "rotateSecret": True}).body["secret"]
    assert again != rotated["Secret"]
    receiver.secrets["/hook"] = again
    clock.advance(seconds=30)   # the first retry is due
    assert dispatch(engine).delivered == 1
