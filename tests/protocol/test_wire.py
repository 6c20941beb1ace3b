"""The /api.php wire rules every legacy client relies on (legacy-clients.md §5, protocol.md Part 1 and §1).

These tests speak raw HTTP through the Flask test client, the way the SDKs do: form posts, GET
query strings, JSON and multipart bodies, repeated keys, odd casing, PHP bracket arrays. They
assert what a client would notice: the answer it decodes and the state it leaves behind.
"""
from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.accounts.auth import Actor
from engine.models import Campaign
from protocol.command import ADMIN, USER
from protocol.registry import COMMANDS
from tests.builders import load_campaign
from tests.helpers import stored_state

JSON_TYPE = "application/json; charset=utf-8"
USER_ONLY = sorted(c.name for c in COMMANDS.values() if c.auth == USER)
ADMIN_ONLY = sorted(c.name for c in COMMANDS.values() if c.auth == ADMIN)


def decode(response) -> dict:
    """The answer as a legacy PHP client reads it: HTTP 200, JSON content type, json_decode-able bytes."""
    assert response.status_code == 200, response.data[:300]
    assert response.headers["Content-Type"] == JSON_TYPE
    raw = response.get_data()
    assert raw[:1] == b"{", raw[:40]  # no BOM, no leading white space: json_decode would fail
    assert int(response.headers["Content-Length"]) == len(raw)  # HTTP/1.0 clients need it
    answer = json.loads(raw.decode("utf-8"))
    assert isinstance(answer["Success"], bool)
    return answer


def post(client, path="/api.php", **kwargs) -> dict:
    return decode(client.post(path, **kwargs))


def get(client, path="/api.php", **kwargs) -> dict:
    return decode(client.get(path, **kwargs))


def campaign_names(engine, owner_id: int) -> list[str]:
    with engine.uow() as uow:
        return list(uow.session.scalars(
            select(Campaign.name).where(Campaign.owner_user_id == owner_id).order_by(Campaign.id)))


def campaign_count(engine) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Campaign))


def api_key_for(engine, account) -> str:
    with engine.uow() as uow:
        token, _ = uow.auth.create_api_key(Actor("user", account.id, "*"), "wire tests")
        uow.commit()
    return token


@pytest.fixture
def campaign(api, user):
    answer = api("Campaign.Create", user.session, CampaignName="Summer Sale")
    assert answer["Success"] is True
    return answer["CampaignID"]


# --- the same answer whatever the encoding ---------------------------------------------------------
def test_form_get_json_and_multipart_give_the_same_answer(client, user, campaign):
    params = {"Command": "Campaign.Get", "SessionID": user.session, "CampaignID": str(campaign),
              "RetrieveStatistics": "true", "ResponseFormat": "JSON"}
    by_form = post(client, data=params)
    by_get = get(client, query_string=params)
    by_json = post(client, json=params)
    by_multipart = post(client, data=params, content_type="multipart/form-data")
    assert by_form["Success"] is True and by_form["Campaign"]["CampaignName"] == "Summer Sale"
    assert by_get == by_form and by_json == by_form and by_multipart == by_form


def test_every_encoding_can_write(client, engine, user):
    base = {"Command": "Campaign.Create", "SessionID": user.session}
    post(client, data={**base, "CampaignName": "form"})
    get(client, query_string={**base, "CampaignName": "get"})
    post(client, json={**base, "CampaignName": "json"})
    post(client, data={**base, "CampaignName": "multipart",
                       "Attachment": (io.BytesIO(b"ignored"), "a.txt")}, content_type="multipart/form-data")
    assert campaign_names(engine, user.id) == ["form", "get", "json", "multipart"]


def test_json_numbers_and_numeric_strings_are_the_same_id(client, user, campaign):
    as_number = post(client, json={"Command": "Campaign.Get", "SessionID": user.session, "CampaignID": campaign})
    as_text = post(client, json={"Command": "Campaign.Get", "SessionID": user.session,
                                 "CampaignID": str(campaign)})
    assert as_number["Success"] is True and as_number == as_text


# --- query string + body -----------------------------------------------------------------------------
def test_query_string_and_body_are_merged(client, engine, user):
    # 1a65 puts Command in the URL and the parameters in the body.
    answer = post(client, query_string={"Command": "Campaign.Create", "ResponseFormat": "JSON"},
                  data={"SessionID": user.session, "CampaignName": "merged"})
    assert answer["Success"] is True
    assert campaign_names(engine, user.id) == ["merged"]


def test_the_body_wins_over_the_query_string(client, engine, user):
    answer = post(client, query_string={"Command": "User.Logout", "CampaignName": "from query"},
                  data={"Command": "Campaign.Create", "SessionID": user.session, "CampaignName": "from body"})
    assert answer["Success"] is True
    assert campaign_names(engine, user.id) == ["from body"]


def test_a_json_body_merges_with_the_query_string_and_wins(client, engine, user):
    answer = post(client, query_string={"SessionID": user.session, "CampaignName": "from query"},
                  json={"Command": "Campaign.Create", "CampaignName": "from json"})
    assert answer["Success"] is True
    assert campaign_names(engine, user.id) == ["from json"]


# --- duplicate keys: the last one wins ------------------------------------------------------------------
def test_a_repeated_command_runs_the_last_one(client, engine, user):
    body = f"Command=User.Logout&SessionID={user.session}&CampaignName=dup&Command=Campaign.Create"
    answer = post(client, data=body, content_type="application/x-www-form-urlencoded")
    assert answer["Success"] is True and isinstance(answer["CampaignID"], int)
    assert campaign_names(engine, user.id) == ["dup"]
    # User.Logout never ran: the session still works.
    assert post(client, data={"Command": "Campaigns.Get", "SessionID": user.session})["Success"] is True


def test_1a65s_glued_get_request_works(client, engine, user):
    """1a65 GETs `api.php?Command=X&ResponseFormat=JSON` with its base URL's copy glued in front."""
    key = api_key_for(engine, user)
    url = (f"/api.php?Command=Campaign.Create&ResponseFormat=JSONCommand=Campaign.Create"
           f"&ResponseFormat=JSON&ApiKey={key}&CampaignName=From+1a65")
    answer = get(client, url)
    assert answer["Success"] is True
    assert campaign_names(engine, user.id) == ["From 1a65"]


def test_a_repeated_parameter_keeps_its_last_value(client, engine, user):
    body = f"Command=Campaign.Create&SessionID={user.session}&CampaignName=first&CampaignName=last"
    post(client, data=body, content_type="application/x-www-form-urlencoded")
    assert campaign_names(engine, user.id) == ["last"]


# --- names are case-insensitive -----------------------------------------------------------------------
@pytest.mark.parametrize("command", ["campaign.create", "CAMPAIGN.CREATE", "Campaign.create", "cAmPaIgN.CrEaTe"])
def test_command_names_are_case_insensitive(client, engine, user, command):
    answer = post(client, data={"Command": command, "SessionID": user.session, "CampaignName": command})
    assert answer["Success"] is True and isinstance(answer["CampaignID"], int)
    assert campaign_names(engine, user.id) == [command]


@pytest.mark.parametrize("command", ["Campaigns.Get", "campaigns.get", "Campaigns.get", "CAMPAIGNS.GET"])
def test_roempro_style_casing_gets_the_same_answer(client, user, campaign, command):
    # Roempro sends `Customfields.Get`: a casing no document uses.
    canonical = post(client, data={"Command": "Campaigns.Get", "SessionID": user.session})
    assert post(client, data={"Command": command, "SessionID": user.session}) == canonical
    assert canonical["Campaigns"][0]["CampaignName"] == "Summer Sale"


def test_parameter_names_are_case_insensitive(client, engine, user):
    spellings = list(zip(["CampaignName", "campaignname", "CAMPAIGNNAME", "campaignNAME"],
                         ["SessionID", "sessionid", "SESSIONID", "SessionId"],
                         ["Command", "command", "COMMAND", "cOmmand"]))
    for name, session_name, command_name in spellings:
        answer = post(client, data={command_name: "Campaign.Create", session_name: user.session, name: name})
        assert answer["Success"] is True, (name, session_name, command_name)
    assert campaign_names(engine, user.id) == [name for name, _, _ in spellings]


@pytest.mark.parametrize("key_name", ["APIKey", "ApiKey", "apikey", "APIKEY"])
def test_api_key_is_accepted_under_any_casing_in_body_or_query(client, engine, user, key_name):
    key = api_key_for(engine, user)
    in_body = post(client, data={"Command": "Campaign.Create", key_name: key, "CampaignName": "body"})
    in_query = post(client, query_string={key_name: key}, data={"Command": "Campaign.Create",
                                                                  "CampaignName": "query"})
    assert in_body["Success"] is True and in_query["Success"] is True
    assert campaign_names(engine, user.id) == ["body", "query"]


# --- PHP bracket arrays ---------------------------------------------------------------------------------
def tag_with_campaigns(api, user, count=2):
    tag = api("Tag.Create", user.session, Tag="vip")["TagID"]
    ids = [api("Campaign.Create", user.session, CampaignName=f"c{i}")["CampaignID"] for i in range(count)]
    return tag, ids


def tagged(engine, campaign_ids):
    return [[t.name for t in load_campaign(engine, cid).tags] for cid in campaign_ids]


@pytest.mark.parametrize("style", ["brackets", "indexed", "mixed case", "json list", "comma list"])
def test_array_parameters_in_every_spelling(client, engine, api, user, style):
    tag, ids = tag_with_campaigns(api, user)
    base = {"Command": "Tag.AssignToCampaigns", "SessionID": user.session, "TagID": str(tag)}
    if style == "brackets":
        body = "&".join([f"{k}={v}" for k, v in base.items()] + [f"CampaignIDs[]={i}" for i in ids])
        answer = post(client, data=body, content_type="application/x-www-form-urlencoded")
    elif style == "indexed":
        answer = post(client, data={**base, "CampaignIDs[1]": str(ids[1]), "CampaignIDs[0]": str(ids[0])})
    elif style == "mixed case":
        body = "&".join([f"{k}={v}" for k, v in base.items()] +
                        [f"campaignids[]={ids[0]}", f"CAMPAIGNIDS[]={ids[1]}"])
        answer = post(client, data=body, content_type="application/x-www-form-urlencoded")
    elif style == "json list":
        answer = post(client, json={**base, "CampaignIDs": ids})
    else:
        answer = post(client, data={**base, "CampaignIDs": f"{ids[0]},{ids[1]}"})
    assert answer["Success"] is True, answer
    assert tagged(engine, ids) == [["vip"], ["vip"]]


def test_nested_brackets_with_odd_casing_reach_the_command(client, engine, api, user):
    tag, ids = tag_with_campaigns(api, user, count=1)
    answer = post(client, data={"Command": "Tag.AssignToCampaigns", "SessionID": user.session,
                                "TagID": tag, "CampaignIDs[A]": ids[0]})
    assert answer["Success"] is True
    assert tagged(engine, ids) == [["vip"]]


# --- empty, unknown, boolean --------------------------------------------------------------------------------
def test_an_empty_value_is_the_same_as_an_absent_one(client, engine, user):
    empty = post(client, data={"Command": "Campaign.Create", "SessionID": user.session, "CampaignName": ""})
    absent = post(client, data={"Command": "Campaign.Create", "SessionID": user.session})
    assert empty == absent
    assert empty["Success"] is False and empty["ErrorCode"] == 1
    assert campaign_count(engine) == 0


def test_empty_optional_parameters_are_not_errors(client, user, campaign):
    # What SDKs really send (legacy-clients.md §1.3).
    answer = post(client, data={"Command": "Campaigns.Get", "SessionID": user.session, "RecordsPerRequest": "",
                                "RecordsFrom": "", "SearchKeyword": "", "OrderField": "", "OrderType": "",
                                "CampaignStatus": ""})
    assert answer["Success"] is True and [c["CampaignName"] for c in answer["Campaigns"]] == ["Summer Sale"]
    answer = post(client, data={"Command": "Campaign.Get", "SessionID": user.session, "CampaignID": campaign,
                                "RetrieveStatistics": "", "FailOnNotFound": ""})
    assert answer["Success"] is True and "Statistics" not in answer["Campaign"]


def test_a_blank_session_id_next_to_an_api_key_does_not_get_in_the_way(client, engine, user):
    key = api_key_for(engine, user)
    answer = post(client, data={"Command": "Campaign.Create", "SessionID": "", "APIKey": key,
                                "CampaignName": "blank session"})
    assert answer["Success"] is True
    assert campaign_names(engine, user.id) == ["blank session"]


def test_unknown_parameters_are_ignored(client, engine, user):
    plain = post(client, data={"Command": "Campaign.Create", "SessionID": user.session, "CampaignName": "A"})
    noisy = post(client, data={"Command": "Campaign.Create", "SessionID": user.session, "CampaignName": "B",
                               "RememberMe": "yes", "Captcha": "x", "DisableCaptcha": "1", "PublishOnRSS": "1",
                               "Recipients": "1,2", "SendDateAndTime": "now", "Campaign[Name]": "nested",
                               "Access": "admin", "Foo[Bar][]": "x", "Bar[00]": "x", "Bar[²]": "y"})
    assert plain["Success"] is True and noisy["Success"] is True
    assert set(noisy) == set(plain)
    assert campaign_names(engine, user.id)[0] == "A"


def test_truthy_spellings_in_any_case_and_everything_else_is_false(client, user, campaign):
    def statistics_shown(value) -> bool:
        answer = post(client, data={"Command": "Campaign.Get", "SessionID": user.session, "CampaignID": campaign,
                                    "RetrieveStatistics": value})
        assert answer["Success"] is True
        return "Statistics" in answer["Campaign"]

    truthy = ["true", "TRUE", "True", "1", "yes", "YES", "Yes", "on", "ON", "On", " true "]
    falsy = ["false", "FALSE", "0", "no", "off", "nah", "2", "y", "t"]
    assert {v: statistics_shown(v) for v in truthy + falsy} == {**{v: True for v in truthy},
                                                               **{v: False for v in falsy}}


def test_json_booleans_are_booleans(client, user, campaign):
    for value, shown in ((True, True), (1, True), ("true", True), (False, False), (0, False)):
        answer = post(client, json={"Command": "Campaign.Get", "SessionID": user.session, "CampaignID": campaign,
                                    "RetrieveStatistics": value})
        assert ("Statistics" in answer["Campaign"]) is shown, value


# --- ResponseFormat=XML ---------------------------------------------------------------------------------------
def xml_answer(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    raw = response.get_data()
    assert raw.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(raw)
    assert root.tag == "response"
    return raw, root


def test_xml_envelope_with_cdata_scalars(client, api, user):
    tricky = 'Sale <b>&amp; "more" ]]> end'
    campaign_id = api("Campaign.Create", user.session, CampaignName=tricky)["CampaignID"]
    raw, root = xml_answer(client.post("/api.php", data={
        "Command": "Campaign.Get", "SessionID": user.session, "CampaignID": campaign_id, "ResponseFormat": "XML"}))
    assert b"<Success><![CDATA[true]]></Success>" in raw
    assert root.findtext("Success") == "true" and root.findtext("ErrorCode") == "0"
    assert root.findtext("Campaign/CampaignID") == str(campaign_id)
    assert root.findtext("Campaign/CampaignName") == tricky  # even "]]>" survives the CDATA wrapping
    assert root.findtext("Campaign/CampaignStatus") == "Draft"


def test_xml_lists_are_node_n_elements(client, api, user):
    for name in ("one", "two"):
        api("Campaign.Create", user.session, CampaignName=name)
    _, root = xml_answer(client.get("/api.php", query_string={
        "Command": "Campaigns.Get", "SessionID": user.session, "ResponseFormat": "XML",
        "OrderField": "CampaignName", "OrderType": "ASC"}))
    campaigns = root.find("Campaigns")
    assert [child.tag for child in campaigns] == ["node_0", "node_1"]
    assert [c.findtext("CampaignName") for c in campaigns] == ["one", "two"]


def test_xml_failures_keep_their_codes(client, engine, user):
    _, root = xml_answer(client.post("/api.php", data={"Command": "Campaign.Create", "ResponseFormat": "XML"}))
    assert root.findtext("Success") == "false" and root.findtext("ErrorCode") == "99998"
    _, root = xml_answer(client.post("/api.php", data={"Command": "Campaign.Create", "SessionID": user.session,
                                                       "ResponseFormat": "XML"}))
    assert root.findtext("Success") == "false" and root.findtext("ErrorCode") == "1"
    assert campaign_count(engine) == 0


def test_anything_but_exactly_xml_is_json(client, user):
    for value in ("xml", "Xml", "JSON", "json", "html", "XML ", "JSONCommand=Campaigns.Get"):
        answer = post(client, data={"Command": "Campaigns.Get", "SessionID": user.session, "ResponseFormat": value})
        assert answer["Success"] is True and answer["Campaigns"] == [], value


# --- JSONPCallBack ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("callback", ["cb", "jQuery1102_1446", "window.app.$handle"])
def test_jsonp_wraps_the_answer_for_a_safe_identifier(client, user, campaign, callback):
    params = {"Command": "Campaign.Get", "SessionID": user.session, "CampaignID": campaign}
    plain = post(client, data=params)
    response = client.post("/api.php", data={**params, "JSONPCallBack": callback})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
    raw = response.get_data(as_text=True)
    assert raw.startswith(callback + "(") and raw.endswith(");")
    assert json.loads(raw[len(callback) + 1:-2]) == plain


def test_jsonp_parameter_name_is_case_insensitive(client, user):
    response = client.get("/api.php", query_string={"Command": "Campaigns.Get", "SessionID": user.session,
                                                    "jsonpcallback": "cb"})
    assert response.get_data(as_text=True).startswith("cb({")


def test_an_unsafe_callback_is_ignored_and_plain_json_answered(client, user):
    for callback in ("alert(1)//", "<script>", "cb;alert(1)", "a b", "1cb", "cb()", "a..b", "x" * 200, "true()",
                     "</script><script>alert(1)</script>", "cb\n", "ünïcode"):
        answer = post(client, data={"Command": "Campaigns.Get", "SessionID": user.session, "JSONPCallBack": callback})
        assert answer["Success"] is True, callback


# --- hard failures: always HTTP 200, scalar codes ----------------------------------------------------------------
def test_an_unknown_or_missing_command_is_100003(client, engine, user):
    before = stored_state(engine)
    for data in ({"Command": "Nope.Nope"}, {"Command": "campaign"}, {"Command": "Campaign.Create."}, {},
                 {"Command": ""}, {"Command": "   "}, {"Command[]": "Campaign.Create"},
                 {"Command[a]": "Campaign.Create"}, {"CommandName": "Campaign.Create"}):
        answer = post(client, data={"SessionID": user.session, **data})
        assert answer["Success"] is False and answer["ErrorCode"] == 100003, data
        assert isinstance(answer["ErrorText"], str) and answer["Errors"] == [{"Code": 100003,
                                                                              "Message": answer["ErrorText"]}]
    assert stored_state(engine) == before


def test_an_unknown_command_is_named_in_the_error_text(client):
    answer = get(client, query_string={"Command": "Nope.Nope"})
    assert answer["ErrorText"] == 'Invalid API command: "Nope.Nope" not found.'


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/vnd.api+json"])
def test_a_body_that_is_not_a_json_object_is_100000(client, engine, user, content_type):
    before = stored_state(engine)
    for body in (b"{", b"Command=Campaign.Create", b"{'Command': 'x'}", b"[1, 2]", b'"x"', b"\xff\xfe{}",
                 b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", b'{"a": ' + b"[" * 600 + b"]" * 600 + b"}"):
        answer = post(client, data=body, content_type=content_type)
        assert answer["Success"] is False and answer["ErrorCode"] == 100000, body[:40]
    assert stored_state(engine) == before


def test_xml_is_not_used_for_a_broken_json_body(client):
    # The documented exception: 100000 is always JSON, since the ResponseFormat could not be read.
    answer = post(client, query_string={"ResponseFormat": "XML"}, data=b"{", content_type="application/json")
    assert answer["ErrorCode"] == 100000


def test_deeply_nested_brackets_do_not_crash_the_parser(client, engine, user):
    key = "Fields" + "[a]" * 2000
    answer = post(client, data={"Command": "Campaign.Create", "SessionID": user.session, "CampaignName": "x",
                                key: "1"})
    assert answer["Success"] is True
    assert campaign_names(engine, user.id) == ["x"]


def test_an_id_no_column_can_hold_is_the_commands_invalid_id_code(client, user):
    # PostgreSQL would refuse to bind it ("integer out of range"): answered before the database sees it.
    for campaign_id in ("2147483648", "999999999999999999", "9" * 40, 2**31, 2**63, 2**70, 1e300):
        answer = post(client, json={"Command": "Campaign.Get", "SessionID": user.session, "CampaignID": campaign_id})
        assert answer["Success"] is False and answer["ErrorCode"] == 2, campaign_id


def test_an_integer_no_column_can_hold_is_the_fields_code(client, engine, user, campaign):
    # Integer columns are 32-bit on PostgreSQL and MariaDB; SQLite would have stored it.
    before = stored_state(engine)
    for value in (2**31, "2147483648", 10**17, -(2**31) - 1):
        answer = post(client, json={"Command": "Campaign.Update", "SessionID": user.session, "CampaignID": campaign,
                                    "RelEmailID": value})
        assert answer["Success"] is False and answer["ErrorCode"] == 4, value
    assert load_campaign(engine, campaign).email_id is None and stored_state(engine) == before


def test_a_huge_number_is_refused_or_ignored_never_an_internal_error(client, engine, user):
    before = stored_state(engine)
    for value in (2**63, 2**70, -(2**70), 1e300, "9" * 19):
        listing = post(client, json={"Command": "Campaigns.Get", "SessionID": user.session, "RecordsFrom": value,
                                     "RecordsPerRequest": value, "Tags": value})
        assert listing["Success"] is True, value  # Campaigns.Get documents no codes: unreadable values are ignored
        tagging = post(client, json={"Command": "Tag.AssignToCampaigns", "SessionID": user.session, "TagID": value,
                                     "CampaignIDs": [value]})
        assert tagging["Success"] is False and tagging["ErrorCode"][0] in COMMANDS["tag.assigntocampaigns"].errors
    assert stored_state(engine) == before


def test_an_exception_in_a_handler_is_100005_without_details_and_writes_nothing(client, engine, user,
                                                                                monkeypatch, caplog):
    from engine.campaigns.service import CampaignService

    original = CampaignService.create

    def half_then_crash(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.uow.session.flush()  # the row is in the transaction when the surprise comes
        raise RuntimeError("connection to db.internal:5432 as sendmill/hunter2 lost in /srv/engine/x.py")

    monkeypatch.setattr(CampaignService, "create", half_then_crash)
    answer = post(client, data={"Command": "Campaign.Create", "SessionID": user.session, "CampaignName": "x"})
    assert answer["Success"] is False and answer["ErrorCode"] == 100005
    text = json.dumps(answer)
    for secret in ("hunter2", "db.internal", "/srv", "RuntimeError", "Traceback", "campaigns.py"):
        assert secret not in text
    assert campaign_count(engine) == 0
    # The operator finds the details in the log, under the request id the client was given.
    request_id = answer["ErrorText"].rsplit(" ", 1)[-1].rstrip(")")
    assert any(request_id in r.getMessage() and r.exc_info for r in caplog.records)


def test_the_api_keeps_working_after_an_internal_error(client, engine, user, monkeypatch):
    from engine.campaigns.service import CampaignService

    def crash(self, *args, **kwargs):
        raise RuntimeError("surprise")

    monkeypatch.setattr(CampaignService, "create", crash)
    assert post(client, data={"Command": "Campaign.Create", "SessionID": user.session,
                              "CampaignName": "x"})["ErrorCode"] == 100005
    monkeypatch.undo()
    assert post(client, data={"Command": "Campaign.Create", "SessionID": user.session,
                              "CampaignName": "y"})["Success"] is True
    assert campaign_names(engine, user.id) == ["y"]


# --- 99998: who are you? -----------------------------------------------------------------------------------------
def assert_99998(answer):
    # Scalar: Roempro compares `== 99998` to decide to log in again.
    assert answer["Success"] is False and answer["ErrorCode"] == 99998
    assert isinstance(answer["ErrorText"], str) and answer["ErrorText"]


def test_missing_or_garbage_credentials_are_scalar_99998(client, engine, user):
    for credentials in ({}, {"SessionID": "garbage"}, {"SessionID": "0"}, {"SessionID": " "}, {"SessionID[]": "x"},
                        {"SessionID": user.session + "x"}, {"SessionID": user.session.upper()},
                        {"APIKey": "garbage"}, {"APIKey": "0000-0000-0000-0000-0000-0000-0000-0000"},
                        {"ApiKey": "garbage", "SessionID": "garbage"}, {"AdminAPIKey": "garbage"}):
        assert_99998(post(client, data={"Command": "Campaign.Create", "CampaignName": "x", **credentials}))
    assert campaign_count(engine) == 0


def test_an_expired_session_is_99998(client, engine, user, clock):
    clock.advance(days=engine.settings.session_lifetime_days, seconds=1)
    assert_99998(post(client, data={"Command": "Campaigns.Get", "SessionID": user.session}))


def test_a_logged_out_session_is_99998(client, user):
    assert post(client, data={"Command": "User.Logout", "SessionID": user.session})["Success"] is True
    assert_99998(post(client, data={"Command": "Campaigns.Get", "SessionID": user.session}))


def test_a_session_slides_while_it_is_used(client, engine, user, clock):
    lifetime = timedelta(days=engine.settings.session_lifetime_days)
    for _ in range(3):
        clock.advance(seconds=(lifetime - timedelta(hours=1)).total_seconds())
        assert post(client, data={"Command": "Campaigns.Get", "SessionID": user.session})["Success"] is True


@pytest.mark.parametrize("cookie", ["PHPSESSID", "SessionID", "sessionid"])
def test_cookies_are_never_credentials(client, engine, user, cookie):
    client.set_cookie(cookie, user.session)
    assert_99998(post(client, data={"Command": "Campaign.Create", "CampaignName": "x"}))
    # Not even for a JSONP page that would hand the answer to another site.
    response = client.get("/api.php", query_string={"Command": "Campaigns.Get", "JSONPCallBack": "steal"})
    payload = json.loads(response.get_data(as_text=True)[len("steal("):-2])
    assert payload["ErrorCode"] == 99998 and "Campaigns" not in payload
    assert campaign_count(engine) == 0


# --- 99999: who may do what ----------------------------------------------------------------------------------------
def assert_99999(answer):
    assert answer["Success"] is False and answer["ErrorCode"] == 99999
    assert isinstance(answer["ErrorText"], str)


def test_a_user_calling_any_admin_command_is_scalar_99999(client, engine, user):
    assert ADMIN_ONLY, "no admin-only command registered"
    before = stored_state(engine)
    answers = {c: post(client, data={"Command": c, "SessionID": user.session}) for c in ADMIN_ONLY}
    wrong = {c: a for c, a in answers.items() if (a["Success"], a["ErrorCode"]) != (False, 99999)}
    assert wrong == {}
    assert all(isinstance(a["ErrorText"], str) for a in answers.values())
    assert stored_state(engine) == before


def test_an_admin_calling_any_user_command_is_scalar_99999(client, engine, admin):
    assert "Campaign.Create" in USER_ONLY
    before = stored_state(engine)
    answers = {c: post(client, data={"Command": c, "SessionID": admin.session, "CampaignName": "x"})
               for c in USER_ONLY}
    wrong = {c: a for c, a in answers.items() if (a["Success"], a["ErrorCode"]) != (False, 99999)}
    assert wrong == {}
    assert campaign_count(engine) == 0 and stored_state(engine) == before


def test_a_user_whose_group_lacks_the_permission_is_99999(client, engine, api, user):
    from engine.models import User

    with engine.uow() as uow:
        group = uow.accounts.create_group("Readers", permissions="Campaigns.Get,Campaign.Get")
        uow.session.get(User, user.id).group_id = group.id
        uow.commit()
    assert_99999(post(client, data={"Command": "Campaign.Create", "SessionID": user.session, "CampaignName": "x"}))
    assert post(client, data={"Command": "Campaigns.Get", "SessionID": user.session})["Success"] is True
    assert campaign_count(engine) == 0


def without_id(answer: dict, object_id: int) -> dict:
    def scrub(text):
        if isinstance(text, list):
            return [scrub(t) for t in text]
        return re.sub(rf"\b{object_id}\b", "<id>", text) if isinstance(text, str) else text
    return {k: scrub(v) if k in ("ErrorText", "ErrorMessage") else v for k, v in answer.items()}


# --- tenancy: another user's objects do not exist ---------------------------------------------------------------------
def test_another_users_campaign_is_not_found_and_nothing_leaks(client, engine, user, other_user, campaign):
    sid = other_user.session
    before = stored_state(engine)
    probes = {
        "Campaign.Get": ({"CampaignID": campaign, "RetrieveStatistics": "1"}, 3),
        "Campaign.Update": ({"CampaignID": campaign, "CampaignName": "Hijacked"}, None),
        "Campaign.Cancel": ({"CampaignID": campaign}, 2),
        "Campaign.Copy": ({"CampaignID": campaign}, [1]),
        "Campaigns.Delete": ({"Campaigns": campaign}, None),
    }
    for command, (params, code) in probes.items():
        response = client.post("/api.php", data={"Command": command, "SessionID": sid, **params})
        answer = decode(response)
        missing = client.post("/api.php", data={"Command": command, "SessionID": sid,
                                                **{**params, next(iter(params)): 987654}})
        # Exactly what a missing campaign answers (the echoed ID aside): the foreign one is indistinguishable.
        assert without_id(answer, campaign) == without_id(decode(missing), 987654), command
        assert answer["Success"] is False or command == "Campaigns.Delete", command
        if code is not None:
            assert answer["ErrorCode"] == code, command
        assert b"Summer Sale" not in response.get_data(), command
    listing = post(client, data={"Command": "Campaigns.Get", "SessionID": sid})
    assert listing["Campaigns"] == [] and listing["TotalCampaigns"] == 0
    stored = load_campaign(engine, campaign)
    assert (stored.name, stored.status, stored.owner_user_id) == ("Summer Sale", "Draft", user.id)
    assert campaign_count(engine) == 1 and stored_state(engine) == before


# --- routing and the envelope -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api.php/anything/else", "/api.php/v1/campaign.create", "/api.php/x.json"])
def test_extra_path_after_api_php_reaches_the_dispatcher(client, engine, user, path):
    assert post(client, path, data={"Command": "Campaign.Create", "SessionID": user.session,
                                    "CampaignName": path})["Success"] is True
    assert get(client, path, query_string={"Command": "Nope"})["ErrorCode"] == 100003
    assert campaign_names(engine, user.id) == [path]


def test_success_envelope_has_integer_zero_error_code(client, user):
    answer = post(client, data={"Command": "Campaign.Create", "SessionID": user.session, "CampaignName": "x"})
    assert answer["Success"] is True and answer["ErrorCode"] == 0 and type(answer["ErrorCode"]) is int


ENVELOPE_CASES = {
    "success": lambda sid: {"data": {"Command": "Campaigns.Get", "SessionID": sid}},
    "scalar error": lambda sid: {"data": {"Command": "Campaign.Get", "SessionID": sid, "CampaignID": "x"}},
    "list error": lambda sid: {"data": {"Command": "Campaign.Copy", "SessionID": sid}},
    "keyed error": lambda sid: {"data": {"Command": "Campaigns.Delete", "SessionID": sid}},
    "99998": lambda sid: {"data": {"Command": "Campaigns.Get"}},
    "100003": lambda sid: {"data": {"Command": "Nope"}},
    "100000": lambda sid: {"data": b"{", "content_type": "application/json"},
    "failed login": lambda sid: {"data": {"Command": "Admin.Login", "Username": "nobody", "Password": "x"}},
    "json body": lambda sid: {"json": {"Command": "User.Login"}},
    "unicode": lambda sid: {"data": {"Command": "Campaign.Create", "SessionID": sid, "CampaignName": "Ünï ✓ 😀"}},
}


@pytest.mark.parametrize("case", sorted(ENVELOPE_CASES))
def test_every_answer_is_http_200_json_utf8_without_bom(client, user, case):
    answer = post(client, **ENVELOPE_CASES[case](user.session))  # decode() checks the envelope
    assert set(answer) >= {"Success", "ErrorCode"}
    if answer["Success"] is False:
        codes = answer["ErrorCode"]
        codes = list(codes.values()) if isinstance(codes, dict) else codes if isinstance(codes, list) else [codes]
        assert codes and all(type(c) is int for c in codes)
    else:
        assert type(answer["ErrorCode"]) is int and answer["ErrorCode"] == 0


def test_non_ascii_text_is_sent_as_utf8(client, user):
    name = "Ünïcødé ✓ 😀"
    response = client.post("/api.php", data={"Command": "Campaign.Create", "SessionID": user.session,
                                             "CampaignName": name})
    campaign_id = decode(response)["CampaignID"]
    response = client.post("/api.php", data={"Command": "Campaign.Get", "SessionID": user.session,
                                             "CampaignID": campaign_id})
    assert name.encode("utf-8") in response.get_data()
    assert decode(response)["Campaign"]["CampaignName"] == name


# --- the command table itself --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_a_consistent_error_table(name):
    from protocol.command import ANY, KEYED, LIST, NAMED, PUBLIC, SCALAR, V1

    command = COMMANDS[name]
    assert name == command.name.lower()
    assert command.auth in (USER, ADMIN, ANY, PUBLIC)
    assert command.error_shape in (SCALAR, LIST, KEYED, NAMED, V1)
    errors = command.errors
    assert hasattr(errors, "items"), "errors must be a {code: text} table"
    for code, text in errors.items():
        assert type(code) is int and code > 0, code
        assert isinstance(text, str) and text.strip(), code
        assert code not in (99998, 99999, 100000, 100003, 100005), "dispatcher codes are not command codes"
    # Every code the command can emit is documented in its own table.
    for exc, code in command.raises.items():
        assert code in errors, f"raises {exc.__name__} → {code}, which the errors table lacks"
    if command.params is not None:
        for field_name, field in command.params().fields.items():
            for kind in ("code", "invalid_code"):
                code = field.metadata.get(kind)
                assert code is None or code in errors, f"{field_name} {kind} {code} not in the errors table"
    assert set(command.error_keys) <= set(errors)
