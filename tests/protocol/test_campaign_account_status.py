"""The Campaign API only for an ACTIVE email-marketing account (modern-email-marketing-overview.txt:
"Campaign API: Accessible only when email account status = ACTIVE"), through HTTP on both surfaces:
every operation the modern spec names refuses a SUSPENDED account with its documented code and changes
nothing, and no test message leaves for it. The clock is the injected one: 2026-11-23 12:00 UTC."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from engine.models import Campaign, TestSend
from protocol.registry import COMMANDS
from protocol.rest.campaigns import ENDPOINTS
from tests.builders import load_campaign, make_email, make_list, make_subscriber
from tests.e2e.support import loopback_relay
from tests.helpers import stored_state

BASE = "/email-marketing/v1/campaigns"


@pytest.fixture
def relay(engine):
    with loopback_relay(engine) as recorder:
        yield recorder


@pytest.fixture
def t(api, rest, user, engine, relay):
    return SimpleNamespace(api=api, rest=rest, user=user, engine=engine, relay=relay)


def set_status(t, status: str) -> None:
    with t.engine.uow() as uow:
        uow.email_account.update(t.user.id, {"status": status})
        uow.commit()


def campaign(t, status: str = "Draft") -> int:
    """A campaign with content (From the account's own example.com address) and one subscriber;
    Ready (Future, tomorrow) or Draft."""
    cid = t.api("Campaign.Create", t.user.session, CampaignName="Yoga")["CampaignID"]
    list_id = make_list(t.engine, t.user)
    make_subscriber(t.engine, list_id, "ann@example.com")
    params = dict(CampaignID=cid, RelEmailID=make_email(t.engine, t.user, subject="Hi", html_content="<p>Hi</p>"),
                  RecipientListsAndSegments=f"{list_id}:0")
    if status == "Ready":
        params.update(ScheduleType="Future", SendDate="2026-11-24", SendTime="10:00:00", SendTimeZone="UTC",
                      CampaignStatus="Ready")
    assert t.api("Campaign.Update", t.user.session, **params)["Success"] is True
    return cid


def stored(t) -> list[tuple]:
    """Every campaign of the account as stored, and the test sends: what a refused call must leave alone."""
    with t.engine.uow() as uow:
        rows = uow.session.execute(select(Campaign.id, Campaign.name, Campaign.status, Campaign.schedule_type,
                                          Campaign.send_date, Campaign.send_time, Campaign.publish_on_rss,
                                          Campaign.rules_json_bundle).order_by(Campaign.id)).all()
        sends = uow.session.scalar(select(func.count()).select_from(TestSend))
        return [tuple(r) for r in rows] + [("test sends", sends)]


# --- REST: every endpoint of the Campaign API -----------------------------------------------------------------
REST_CASES = [
    ("GET", "{base}", {}, None, "Draft"),
    ("GET", "{base}/statistics", {"campaignIds": "{cid}"}, None, "Draft"),
    ("GET", "{base}/{cid}", {}, None, "Draft"),
    ("DELETE", "{base}/{cid}", {}, None, "Draft"),
    ("GET", "{base}/{cid}/statistics/recipients", {"activity": "DELIVERED"}, None, "Draft"),
    ("POST", "{base}/{cid}/publish", {}, {"emailDistributionOptions": {"labelIds": ["contacts-all"]}}, "Draft"),
    ("POST", "{base}/{cid}/publish", {}, {}, "Draft"),   # the landing page only
    ("POST", "{base}/{cid}/test", {}, {"toEmailAddress": "victim@elsewhere.example"}, "Draft"),
    ("POST", "{base}/{cid}/pause-scheduling", {}, None, "Ready"),
    ("POST", "{base}/{cid}/reschedule", {}, {"sendAt": "2026-11-25T10:00:00Z"}, "Ready"),
    ("POST", "{base}/{cid}/reuse", {}, None, "Draft"),
    ("POST", "{base}/{cid}/audience", {}, None, "Draft"),
]


def test_the_cases_cover_every_endpoint_of_the_campaign_api():
    assert {(m, p.format(base=BASE, cid="{campaignId}")) for m, p, *_ in REST_CASES} == \
        {(e.method, e.path) for e in ENDPOINTS}
    assert all(e.requires_active_account for e in ENDPOINTS)


@pytest.mark.parametrize("status", ["SUSPENDED", "BANNED"])
@pytest.mark.parametrize("method,path,query,body,setup", REST_CASES,
                         ids=[f"{m}-{p.rsplit('/', 1)[-1]}-{i}" for i, (m, p, *_) in enumerate(REST_CASES)])
def test_a_campaign_api_endpoint_refuses_an_account_that_is_not_active(t, status, method, path, query, body,
                                                                      setup):
    cid = campaign(t, setup)
    set_status(t, status)
    before, everything = stored(t), stored_state(t.engine)
    answer = t.rest(method, path.format(base=BASE, cid=cid), t.user.session, json=body,
                    query={k: v.format(cid=cid) for k, v in query.items()} or None)
    assert (answer.status, answer.code) == (428, "EMAIL_MARKETING_ACCOUNT_NOT_ACTIVE"), answer.body
    assert status in answer.body["message"]
    assert stored(t) == before           # nothing published, deleted, copied or rescheduled
    assert stored_state(t.engine) == everything   # …nor any email, audience or event written
    assert t.relay.messages == []        # and nothing mailed
    set_status(t, "ACTIVE")              # the same call is answered again once the account is ACTIVE
    assert t.rest("GET", f"{BASE}/{cid}", t.user.session).status == 200


def test_account_details_stay_readable_while_suspended(t):
    set_status(t, "SUSPENDED")
    answer = t.rest.get("/email-marketing/v1/account-details", t.user.session)
    assert answer.status == 200 and answer.body["accountDetails"]["status"] == "SUSPENDED"


# --- /api.php: the same operations -------------------------------------------------------------------------------
API_CASES = [
    ("Campaigns.Get", 1, lambda cid: {}, "Draft"),
    ("Campaign.Get", 4, lambda cid: dict(CampaignID=cid), "Draft"),
    ("Campaigns.Delete", 2, lambda cid: dict(Campaigns=str(cid)), "Draft"),
    ("Campaign.Copy", 2, lambda cid: dict(CampaignID=cid), "Draft"),
    ("Campaign.Reuse", 3, lambda cid: dict(CampaignID=cid), "Draft"),
    ("Campaign.Statistics.List", 4, lambda cid: dict(CampaignIDs=str(cid)), "Draft"),
    ("Campaign.Recipients.ByActivity", 6, lambda cid: dict(CampaignID=cid, Activity="DELIVERED"), "Draft"),
    ("Campaign.Publish", 7, lambda cid: dict(CampaignID=cid, ScheduledAt="2026-11-24T10:00:00Z"), "Draft"),
    ("Campaign.LandingPage.Publish", 5, lambda cid: dict(CampaignID=cid), "Draft"),
    ("Campaign.SendTest", 9, lambda cid: dict(CampaignID=cid, EmailAddress="victim@elsewhere.example"), "Draft"),
    ("Campaign.PauseScheduling", 4, lambda cid: dict(CampaignID=cid), "Ready"),
    ("Campaign.Reschedule", 7, lambda cid: dict(CampaignID=cid, SendAt="2026-11-25T10:00:00Z"), "Ready"),
    ("Campaign.Audience.Get", 4, lambda cid: dict(CampaignID=cid), "Draft"),
]


def test_every_command_that_requires_an_active_account_has_a_case():
    gated = {c.name for c in COMMANDS.values() if c.requires_active_account}
    assert gated == {name for name, *_ in API_CASES}


@pytest.mark.parametrize("command,code,params,setup", API_CASES, ids=[c for c, *_ in API_CASES])
def test_the_api_php_equivalent_refuses_a_suspended_account(t, command, code, params, setup):
    cid = campaign(t, setup)
    set_status(t, "SUSPENDED")
    before, everything = stored(t), stored_state(t.engine)
    answer = t.api(command, t.user.session, **params(cid))
    assert answer["Success"] is False, answer
    error = answer["ErrorCode"]
    assert (next(iter(error.values())) if isinstance(error, dict) else error[0] if isinstance(error, list)
            else error) == code, answer
    assert "SUSPENDED" in str(answer)
    assert stored(t) == before and stored_state(t.engine) == everything
    assert t.relay.messages == []


# --- test messages --------------------------------------------------------------------------------------------------
def test_no_test_message_leaves_for_a_suspended_account(t):
    cid = campaign(t)
    email_id = load_campaign(t.engine, cid).email_id
    set_status(t, "SUSPENDED")
    preview = t.api("Email.EmailPreview", t.user.session, EmailID=email_id, EmailAddress="victim@elsewhere.example")
    assert (preview["Success"], preview["ErrorCode"]) == (False, 23) and "SUSPENDED" in preview["ErrorText"]
    raw = t.api("Email.EmailPreview", t.user.session, EmailAddress="victim@elsewhere.example",
                HTMLContent="<p>Click here</p>")
    assert raw["ErrorCode"] == 23
    rest = t.rest.post(f"{BASE}/{cid}/test", t.user.session, json={"toEmailAddress": "victim@elsewhere.example"})
    assert (rest.status, rest.code) == (428, "EMAIL_MARKETING_ACCOUNT_NOT_ACTIVE")
    assert t.relay.messages == [] and stored(t)[-1] == ("test sends", 0)
    set_status(t, "ACTIVE")
    assert t.api("Email.EmailPreview", t.user.session, EmailID=email_id, EmailAddress="qa@example.com")["Success"]
    assert len(t.relay.messages) == 1 and stored(t)[-1] == ("test sends", 1)


def test_legacy_commands_outside_the_campaign_api_still_let_a_suspended_account_stop_sending(t):
    cid = campaign(t, "Ready")
    set_status(t, "SUSPENDED")
    assert t.api("Campaign.Cancel", t.user.session, CampaignID=cid)["Success"] is True
    assert load_campaign(t.engine, cid).status == "Draft"
