"""ListIntegration.*: integration URLs are list-scoped webhooks, delivered signed to a real receiver on
loopback when someone subscribes or unsubscribes; the form HTML; every code of the command tables."""
from __future__ import annotations

import dataclasses
import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from engine.events.webhook_dispatch import dispatch
from engine.models import OutboxEvent
from engine.models.webhooks import WebhookEndpoint
from tests.builders import make_list
from tests.engine.test_webhooks import loopback_allowed, receiver  # noqa: F401 - fixtures
from tests.helpers import codes, stored_state


@pytest.fixture
def plain_server():
    """Answers 200 on /ok and 500 on anything else, whatever the body (TestURL sends plain JSON)."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200 if self.path == "/ok" else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def add(api, account, list_id, url, event="subscription") -> int:
    answer = api("ListIntegration.AddURL", account.session, SubscriberListID=list_id, URL=url, Event=event)
    assert answer["Success"] is True, answer
    return answer["WebServiceIntegrationID"]


def test_add_get_and_delete_urls(engine, api, user, list_id):
    first = add(api, user, list_id, "https://hooks.example.com/in")
    second = add(api, user, list_id, "https://hooks.example.com/out", event="Unsubscribe")
    listed = api("ListIntegration.GetURLs", user.session, SubscriberListID=list_id)
    assert listed["URLs"] == [
        {"WebServiceIntegrationID": first, "RelListID": list_id, "EventType": "subscription",
         "ServiceURL": "https://hooks.example.com/in"},
        {"WebServiceIntegrationID": second, "RelListID": list_id, "EventType": "unsubscription",
         "ServiceURL": "https://hooks.example.com/out"}]
    only = api("ListIntegration.GetURLs", user.session, SubscriberListID=list_id, Event="unsubscription")
    assert [u["WebServiceIntegrationID"] for u in only["URLs"]] == [second]
    # Integration URLs are not the account's general webhooks.
    assert api("Webhooks.Get", user.session)["TotalWebhookCount"] == 0
    assert api("ListIntegration.DeleteURLs", user.session, URLs=f"{first},{second}")["Success"] is True
    assert api("ListIntegration.GetURLs", user.session, SubscriberListID=list_id)["URLs"] == []
    with engine.uow() as uow:
        assert uow.session.scalars(select(WebhookEndpoint)).all() == []


def test_refusals_change_nothing(engine, api, user, other_user, list_id):
    foreign_list = make_list(engine, other_user)
    foreign = add(api, other_user, foreign_list, "https://hooks.example.com/theirs")
    mine = add(api, user, list_id, "https://hooks.example.com/mine")
    before = stored_state(engine)
    call = lambda **p: codes(api("ListIntegration.AddURL", user.session, **p))  # noqa: E731
    assert call(URL="https://x.example", Event="subscription") == [1]
    assert call(SubscriberListID=list_id, Event="subscription") == [2]
    assert call(SubscriberListID=list_id, URL="https://x.example") == [3]
    assert call(SubscriberListID=foreign_list, URL="https://x.example", Event="subscription") == [4]
    assert call(SubscriberListID=list_id, URL="ftp://x.example", Event="subscription") == [5]
    assert call(SubscriberListID=list_id, URL="https://x.example", Event="bounce") == [6]
    get = lambda **p: codes(api("ListIntegration.GetURLs", user.session, **p))  # noqa: E731
    assert get() == [1] and get(SubscriberListID=foreign_list) == [2]
    assert get(SubscriberListID=list_id, Event="open") == [3]
    assert codes(api("ListIntegration.DeleteURLs", user.session)) == [1]
    assert codes(api("ListIntegration.DeleteURLs", user.session, URLs=f"{mine},{foreign}")) == [2]
    assert codes(api("ListIntegration.DeleteURLs", user.session, URLs="x")) == [2]
    assert stored_state(engine) == before


def test_private_addresses_are_refused_in_production(engine, api, user, list_id):
    engine.settings = dataclasses.replace(engine.settings, webhook_allow_private=False)
    before = stored_state(engine)
    for url in ("http://127.0.0.1:9/x", "http://10.0.0.1/hook", "http://[::1]/x"):
        answer = api("ListIntegration.AddURL", user.session, SubscriberListID=list_id, URL=url, Event="subscription")
        assert codes(answer) == [5], url
    assert codes(api("ListIntegration.TestURL", user.session, URL="http://localhost:9/x")) == [2]
    assert stored_state(engine) == before


def test_subscriptions_and_unsubscriptions_reach_only_their_list_integration(engine, api, user, list_id, receiver):
    other_list = make_list(engine, user, name="Other")
    joined = add(api, user, list_id, receiver.url("/joined"))
    left = add(api, user, list_id, receiver.url("/left"), event="unsubscription")
    add(api, user, other_list, receiver.url("/other"))
    # AddURL shows no secret; a receiver that verifies signatures rotates it like any webhook's.
    for path, integration in (("/joined", joined), ("/left", left)):
        rotated = api("Webhook.Update", user.session, WebhookID=integration, RotateSecret="true")
        receiver.secrets[path] = rotated["Secret"]
    answer = api("Subscriber.Subscribe", ListID=list_id, EmailAddress="bob@example.com", IPAddress="192.0.2.1")
    assert answer["Success"] is True, answer
    dispatch(engine)
    (event,) = receiver.events("/joined")
    body = event["actionEvent"]["body"]
    assert (event["entityFqdn"], event["slug"], event["entityId"]) == (
        "sendmill.v1.list_integration", "subscription", str(list_id))
    assert (body["emailAddress"], body["listId"], body["subscriptionStatus"]) == (
        "bob@example.com", str(list_id), "Subscribed")
    assert receiver.events("/left") == [] and receiver.hits["/other"] == 0
    answer = api("Subscriber.Unsubscribe", ListID=list_id, EmailAddress="bob@example.com", IPAddress="192.0.2.1")
    assert answer["Success"] is True, answer
    dispatch(engine)
    assert [e["slug"] for e in receiver.events("/left")] == ["unsubscription"]
    assert len(receiver.events("/joined")) == 1 and receiver.hits["/other"] == 0
    log = api("Webhook.Deliveries.Get", user.session, WebhookID=left)
    assert [d["State"] for d in log["Deliveries"]] == ["delivered"]


def test_no_event_is_recorded_for_a_list_without_integrations(engine, api, user, list_id):
    api("Subscriber.Subscribe", ListID=list_id, EmailAddress="carol@example.com", IPAddress="192.0.2.1")
    with engine.uow() as uow:
        assert uow.session.scalars(select(OutboxEvent.entity_fqdn)).all().count("sendmill.v1.list_integration") == 0


def test_test_url_posts_now(api, user, plain_server):
    ok = api("ListIntegration.TestURL", user.session, URL=plain_server + "/ok")
    assert ok["Success"] is True and ok["StatusCode"] == 200
    assert codes(api("ListIntegration.TestURL", user.session, URL=plain_server + "/broken")) == [3]
    assert codes(api("ListIntegration.TestURL", user.session)) == [1]
    assert codes(api("ListIntegration.TestURL", user.session, URL="javascript:alert(1)")) == [2]


def test_subscription_form_posts_to_subscriber_subscribe(engine, api, user, list_id, client):
    field = api("CustomField.Create", user.session, SubscriberListID=list_id, FieldName="Town <b>",
                FieldType="Single line")["CustomFieldID"]
    answer = api("ListIntegration.GenerateSubscriptionFormHTMLCode", user.session, SubscriberListID=list_id,
                 CustomFields=str(field), EmailAddressString="Your email", SubscribeButtonString="Join")
    lines = [html.unescape(line) for line in answer["HTMLCode"]]
    assert lines[0] == f'<form action="{engine.settings.base_url}/api.php" method="post">'
    assert '<input type="hidden" name="Command" value="Subscriber.Subscribe">' in lines
    assert f'<input type="hidden" name="ListID" value="{list_id}">' in lines
    assert f'<label>Town &lt;b&gt; <input type="text" name="CustomField{field}"></label>' in lines
    raw = api("ListIntegration.GenerateSubscriptionFormHTMLCode", user.session, SubscriberListID=list_id,
              HTMLSpecialChars="false")["HTMLCode"]
    assert raw[0].startswith("<form") and '<button type="submit">Subscribe</button>' in raw
    # What the form posts subscribes (a browser sends these fields).
    posted = client.post("/api.php", data={"Command": "Subscriber.Subscribe", "ListID": str(list_id),
                                           "IPAddress": "0.0.0.0", "EmailAddress": "dan@example.com",
                                           f"CustomField{field}": "Ghent"}).get_json()
    assert posted["Success"] is True, posted
    gen = lambda **p: codes(api("ListIntegration.GenerateSubscriptionFormHTMLCode", user.session, **p))  # noqa
    assert gen() == [1] and gen(SubscriberListID="x") == [2] and gen(SubscriberListID=999999) == [3]
    assert gen(SubscriberListID=list_id, CustomFields="999999") == [4]
    assert gen(SubscriberListID=list_id, SubscribeButtonString="x" * 300) == [5]
    unsub = api("ListIntegration.GenerateUnsubscriptionFormHTMLCode", user.session, SubscriberListID=list_id,
                UnsubscribeButtonString="Leave")
    assert '&lt;input type=&quot;hidden&quot; name=&quot;Command&quot; value=&quot;Subscriber.Unsubscribe&quot;&gt;' \
        in unsub["HTMLCode"]
    un = lambda **p: codes(api("ListIntegration.GenerateUnsubscriptionFormHTMLCode", user.session, **p))  # noqa
    assert un() == [1] and un(SubscriberListID="0") == [2] and un(SubscriberListID=999999) == [3]
    assert un(SubscriberListID=list_id, UnsubscribeButtonString="y" * 300) == [4]
