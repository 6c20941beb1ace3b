"""What one request may carry (README "Request limits"), through HTTP on both surfaces.

Each limit answers a documented client error, never 100005 or HTTP 500, and a refused request
writes nothing (re-read after every refusal). The time each request takes is asserted only in the
fuzz test (tests/properties/test_fuzz_commands.py); here the old quadratic parsing made the
150,000-ID subscribe run for minutes, which pytest-timeout turns into a failure.
"""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from engine.models import Campaign, Subscriber
from engine.models.senders import SenderDetails, SenderEmail
from protocol.limits import MAX_BODY_BYTES, MAX_LIST_ITEMS, MAX_UPLOAD_BYTES, MAX_VALUES
from tests.builders import load_row, make_subscriber, set_list

JSON_TYPE = "application/json; charset=utf-8"
FAR_IDS = [2**31 - 1 - i for i in range(200_000)]  # valid IDs no row has


def envelope(response, status: int = 200) -> dict:
    assert response.status_code == status, response.data[:300]
    assert response.headers["Content-Type"] == JSON_TYPE
    answer = json.loads(response.get_data())
    assert isinstance(answer["Success"], bool)
    return answer


def too_large(response) -> str:
    """The transport refusal of /api.php: HTTP 413 with the legacy hard-failure envelope, code 100007."""
    answer = envelope(response, 413)
    assert answer["Success"] is False and answer["ErrorCode"] == 100007
    assert answer["Errors"] == [{"Code": 100007, "Message": answer["ErrorText"]}]
    return answer["ErrorText"]


def count(engine, model) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def subscribe_params(list_ids) -> dict:
    return {"Command": "Subscriber.Subscribe", "ListID": list_ids, "EmailAddress": "ann@example.com",
            "IPAddress": "203.0.113.7"}


# --- item 3: long ID lists ------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["form", "json"])
def test_150000_ids_in_an_anonymous_subscribe_answer_invalid_listid_and_write_nothing(client, engine, list_id,
                                                                                       encoding):
    ids = ",".join(map(str, [list_id] + FAR_IDS[:149_999]))
    params = subscribe_params(ids)
    response = client.post("/api.php", data=params) if encoding == "form" else client.post("/api.php", json=params)
    answer = envelope(response)
    assert answer["ErrorCode"] == [4]
    assert "more than 100 entries" in answer["ErrorText"][0]
    assert count(engine, Subscriber) == 0


def test_subscribe_takes_up_to_100_lists(client, engine, list_id):
    answer = envelope(client.post("/api.php", data=subscribe_params(",".join(map(str, [list_id] * 100)))))
    assert answer["Success"] is True and count(engine, Subscriber) == 1


@pytest.mark.parametrize("shape", ["json array", "php array"])
def test_150000_ids_as_an_array_are_more_values_than_a_request_may_carry(client, engine, list_id, shape):
    ids = [list_id] + FAR_IDS[:149_999]
    if shape == "json array":
        response = client.post("/api.php", json=subscribe_params(ids))
    else:
        pairs = [(k, v) for k, v in subscribe_params("").items() if k != "ListID"]
        response = client.post("/api.php", data=MultiDict(pairs + [("ListID[]", str(i)) for i in ids]))
    assert f"more than {MAX_VALUES}" in too_large(response)
    assert count(engine, Subscriber) == 0


def test_a_list_parameter_takes_10000_entries_and_answers_its_invalid_code_beyond(api, engine, user, list_id):
    sid = make_subscriber(engine, list_id, "ann@example.com")
    over = ",".join(map(str, [sid] + FAR_IDS[:MAX_LIST_ITEMS]))
    answer = api("Subscribers.Delete", user.session, SubscriberListID=list_id, Subscribers=over)
    assert answer["ErrorCode"] == [8] and f"more than {MAX_LIST_ITEMS} entries" in answer["ErrorText"][0]
    assert load_row(engine, Subscriber, sid) is not None
    exactly = ",".join(map(str, [sid] + FAR_IDS[:MAX_LIST_ITEMS - 1]))
    answer = api("Subscribers.Delete", user.session, SubscriberListID=list_id, Subscribers=exactly)
    assert answer["Success"] is True and answer["TotalDeleted"] == 1
    assert load_row(engine, Subscriber, sid) is None


# --- item 3: body size and parameter count ----------------------------------------------------------------
def test_a_json_body_over_10_mb_is_refused_with_the_envelope_and_nothing_runs(client, engine, user):
    body = json.dumps({"Command": "Campaign.Create", "SessionID": user.session, "CampaignName": "big",
                       "Padding": "x" * MAX_BODY_BYTES}).encode()
    assert "larger than" in too_large(client.post("/api.php", data=body, content_type="application/json"))
    assert count(engine, Campaign) == 0


def test_a_multipart_upload_may_exceed_the_body_cap(client, engine, user):
    upload = (io.BytesIO(b"EmailAddress\n" + b"x" * (MAX_BODY_BYTES + 1024)), "list.csv")
    answer = envelope(client.post("/api.php", data={"Command": "Campaign.Create", "SessionID": user.session,
                                                    "CampaignName": "with a file", "Attachment": upload}))
    assert answer["Success"] is True and count(engine, Campaign) == 1


def test_a_multipart_body_over_the_upload_cap_is_refused_before_it_is_read(client, engine, user):
    class Unreadable(io.BytesIO):
        def read(self, size=-1):
            raise AssertionError("the body of a refused request was read")

    response = client.post("/api.php", input_stream=Unreadable(), content_type="multipart/form-data; boundary=x",
                           environ_overrides={"CONTENT_LENGTH": str(MAX_UPLOAD_BYTES + 1)})
    assert "larger than" in too_large(response)


def test_more_form_pairs_than_a_request_may_carry_are_refused_before_they_are_decoded(client, engine, user):
    pairs = [("Command", "Campaign.Create"), ("SessionID", user.session), ("CampaignName", "many")]
    pairs += [(f"x{i}", "1") for i in range(MAX_VALUES)]
    assert f"more than {MAX_VALUES} parameters" in too_large(client.post("/api.php", data=MultiDict(pairs)))
    query = "&".join(f"x{i}=1" for i in range(MAX_VALUES + 1))
    assert f"more than {MAX_VALUES} parameters" in too_large(client.get(f"/api.php?Command=Campaigns.Get&{query}"))
    multipart = dict(pairs[:MAX_VALUES + 1], Upload=(io.BytesIO(b"x"), "a.txt"))
    assert "multipart" in too_large(client.post("/api.php", data=multipart, content_type="multipart/form-data"))
    assert count(engine, Campaign) == 0
    # Below the limit the same kind of request works.
    answer = envelope(client.post("/api.php", data=MultiDict(pairs[:MAX_VALUES])))
    assert answer["Success"] is True and count(engine, Campaign) == 1


# --- item 10: errors that were 100005 / HTTP 500 ------------------------------------------------------------
def test_opt_in_with_a_non_ascii_confirmation_code_is_a_wrong_code(api, engine, list_id):
    set_list(engine, list_id, opt_in_mode="Double")
    sid = make_subscriber(engine, list_id, "ann@example.com", subscription_status="Opt-In Pending")
    for code in ("é" * 24, "😀", "ü0f"):
        answer = api("Subscriber.OptIn", None, ListID=list_id, SubscriberID=sid, ConfirmationCode=code)
        assert answer["ErrorCode"] == [4], answer
    assert load_row(engine, Subscriber, sid).subscription_status == "Opt-In Pending"


@pytest.fixture
def sender(engine, user):
    """Sender details on a verified sender email, so PATCH sender-details reaches the database."""
    with engine.uow() as uow:
        now = uow.clock()
        uow.session.add(SenderEmail(owner_user_id=user.id, email_address="alice@shop.example",
                                    email_normalized="alice@shop.example", verified=True, verified_at=now,
                                    created_at=now, updated_at=now))
        uow.session.add(SenderDetails(user_id=user.id, from_name="Alice", from_email="alice@shop.example",
                                      updated_at=now))
        uow.commit()
    return user


def from_name(engine, account) -> str:
    with engine.uow() as uow:
        return uow.session.get(SenderDetails, account.id).from_name


def violations(answer) -> list[dict]:
    assert (answer.status, answer.code) == (400, "INVALID_ARGUMENT"), answer.body
    return answer.body["details"]["validationError"]["fieldViolations"]


def test_rest_values_with_nul_are_field_violations(rest, engine, sender):
    url = "/email-marketing/v1/sender-details"
    answer = rest.patch(url, sender.session, json={"senderDetails": {"fromName": "Ali\x00ce"}})
    assert violations(answer) == [{"field": "senderDetails.fromName",
                                   "description": "must not contain a NUL character"}]
    answer = rest.patch(url, sender.session, json={"senderDetails": {"from\x00Name": "x"}})
    assert violations(answer)[0]["field"] == "senderDetails.from\x00Name"
    answer = rest.get("/sender-emails/v1/sender-emails", sender.session, emailAddress="alice\x00@shop.example")
    assert violations(answer) == [{"field": "emailAddress", "description": "must not contain a NUL character"}]
    answer = rest.post("/sender-emails/v1/sender-emails/1\x00/verify", sender.session, json={"verificationCode": "123"})
    assert violations(answer)[0]["field"] == "senderEmailId"
    assert from_name(engine, sender) == "Alice"


@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
def test_a_deeply_nested_rest_body_is_invalid_argument(rest, engine, sender, depth):
    raw = ('{"senderDetails": {"fromName": ' + "[" * depth + "]" * depth + "}}").encode()
    answer = rest("PATCH", "/email-marketing/v1/sender-details", sender.session, raw=raw)
    assert (answer.status, answer.code) == (400, "INVALID_ARGUMENT"), answer.body
    assert "nested deeper than 64" in answer.body["message"] or "not valid JSON" in answer.body["message"]
    assert from_name(engine, sender) == "Alice"


def test_a_rest_list_over_10000_entries_is_a_field_violation(rest, user):
    options = {"labelIds": ["1"] * (MAX_LIST_ITEMS + 1)}
    answer = rest.post("/email-marketing/v1/campaigns/1/publish", user.session,
                       json={"emailDistributionOptions": options})
    assert violations(answer) == [{"field": "emailDistributionOptions.labelIds",
                                   "description": f"must have at most {MAX_LIST_ITEMS} items"}]


def test_rest_bodies_over_the_limits_answer_413_with_the_modern_body(client, engine, sender):
    headers = {"Authorization": f"Bearer {sender.session}"}
    url = "/email-marketing/v1/sender-details"
    for body in (json.dumps({"senderDetails": {"fromName": "x" * MAX_BODY_BYTES}}),
                 json.dumps({"senderDetails": {"fromName": "Bob"}, "padding": [0] * (MAX_VALUES + 1)})):
        response = client.patch(url, headers=headers, data=body, content_type="application/json")
        assert response.status_code == 413 and response.mimetype == "application/json"
        error = response.get_json()["details"]["applicationError"]
        assert error["code"] == "PAYLOAD_TOO_LARGE" and error["description"]
    assert from_name(engine, sender) == "Alice"
