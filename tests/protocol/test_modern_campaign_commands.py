"""The modern campaign operations as /api.php commands (protocol/commands/modern_campaigns.py):
answers over the same engine as the REST surface, and one case per documented code."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.models import Delivery, SendInstance
from engine.models.activity import SubscriberActivity
from engine.models.test_sends import TestSend
from protocol.commands import modern_campaigns as commands
from tests.builders import load_campaign, make_email, make_list, make_subscriber, set_campaign
from tests.helpers import stored_state


def draft(t, account=None, *, content: bool = True, from_email: str = "") -> int:
    account = account or t.user
    cid = t.api("Campaign.Create", account.session, CampaignName="Weekly")["CampaignID"]
    if content:
        email_id = make_email(t.engine, account, subject="Hello", html_content="<p>Hi</p>", from_email=from_email)
        assert t.api("Campaign.Update", account.session, CampaignID=cid, RelEmailID=email_id,
                     RecipientListsAndSegments=f"{make_list(t.engine, account)}:0")["Success"]
    return cid


def paused(t) -> tuple[int, int]:
    cid = draft(t)
    list_id = load_campaign(t.engine, cid).recipients[0].list_id
    assert t.api("Campaign.Publish", t.user.session, CampaignID=cid, ScheduledAt="2026-11-24T10:00:00Z")["Success"]
    assert t.api("Campaign.PauseScheduling", t.user.session, CampaignID=cid)["Success"]
    return cid, list_id


@pytest.fixture
def t(api, user, other_user, engine, clock):
    return SimpleNamespace(api=api, user=user, other_user=other_user, engine=engine, clock=clock)


def test_statistics_list_and_recipients_by_activity(t):
    cid = draft(t)
    list_id = make_list(t.engine, t.user, "Sent")
    people = [make_subscriber(t.engine, list_id, f"p{i}@x.test") for i in range(3)]
    with t.engine.uow() as uow:
        now = uow.clock()
        instance = SendInstance(campaign_id=cid, number=1, scheduled_for=now, started_at=now, state="done")
        uow.session.add(instance)
        uow.session.flush()
        for sid in people:
            uow.session.add(Delivery(instance_id=instance.id, subscriber_id=sid, email_normalized=str(sid),
                                     state="sent", sent_at=now))
        uow.session.add(SubscriberActivity(subscriber_id=people[0], campaign_id=cid, kind="click", occurred_at=now))
        uow.commit()
    set_campaign(t.engine, cid, status="Sent")
    answer = t.api("Campaign.Statistics.List", t.user.session, CampaignIDs=str(cid))
    assert answer["Statistics"] == [{"CampaignID": cid, "LandingPage": {"Opened": 0, "Clicked": 0},
                                     "Email": {"Delivered": 3, "Opened": 0, "Clicked": 1, "Bounced": 0,
                                               "Complained": 0, "NotSent": 0, "Unknown": 0}}]
    first = t.api("Campaign.Recipients.ByActivity", t.user.session, CampaignID=cid, Activity="delivered", Limit=2)
    assert [r["SubscriberID"] for r in first["Recipients"]] == people[:2] and first["NextCursor"]
    rest = t.api("Campaign.Recipients.ByActivity", t.user.session, CampaignID=cid, Activity="DELIVERED",
                 Limit=2, Cursor=first["NextCursor"])
    assert [r["SubscriberID"] for r in rest["Recipients"]] == people[2:] and rest["NextCursor"] == ""
    clicked = t.api("Campaign.Recipients.ByActivity", t.user.session, CampaignID=cid, Activity="CLICKED")
    assert clicked["Recipients"] == [{"SubscriberID": people[0], "LastActivityDate": "2026-11-23T12:00:00Z"}]


def test_reuse_audience_and_landing_page(t):
    cid, list_id = paused(t)
    assert t.api("Campaign.Audience.Get", t.user.session, CampaignID=cid)["Audience"] == \
        {"ListIDs": [list_id], "SegmentIDs": [], "SubscriberIDs": []}
    copy = t.api("Campaign.Reuse", t.user.session, CampaignID=cid)["Campaign"]
    assert copy["CampaignStatus"] == "Draft" and copy["CampaignID"] != cid and copy["PublishOnRSS"] == "Disabled"
    stored = load_campaign(t.engine, int(copy["CampaignID"]))
    assert (stored.status, [r.list_id for r in stored.recipients]) == ("Draft", [list_id])
    other = draft(t)
    answer = t.api("Campaign.LandingPage.Publish", t.user.session, CampaignID=other)
    assert answer["LandingPageURL"].startswith("http://sendmill.test/so/") and answer["DatePublished"]
    assert load_campaign(t.engine, other).publish_on_rss == "Enabled"


def _foreign(t):
    return draft(t, t.other_user)


def _suspended(t, campaign_id: int) -> int:
    """The campaign, its owner's email-marketing account now SUSPENDED."""
    with t.engine.uow() as uow:
        uow.email_account.update(t.user.id, {"status": "SUSPENDED"})
        uow.commit()
    return campaign_id


ERROR_CASES = [
    ("Campaign.Statistics.List", 1, lambda t: {}),
    ("Campaign.Statistics.List", 2, lambda t: dict(CampaignIDs="1,abc")),
    ("Campaign.Statistics.List", 2, lambda t: dict(CampaignIDs=",".join(str(i) for i in range(1, 102)))),
    ("Campaign.Statistics.List", 3, lambda t: dict(CampaignIDs=str(_foreign(t)))),
    ("Campaign.Statistics.List", 4, lambda t: dict(CampaignIDs=str(_suspended(t, draft(t))))),
    ("Campaign.Recipients.ByActivity", 1, lambda t: dict(Activity="OPENED")),
    ("Campaign.Recipients.ByActivity", 2, lambda t: dict(CampaignID=_foreign(t), Activity="OPENED")),
    ("Campaign.Recipients.ByActivity", 3, lambda t: dict(CampaignID=draft(t), Activity="SPAM")),
    ("Campaign.Recipients.ByActivity", 4, lambda t: dict(CampaignID=draft(t), Activity="OPENED", Limit=1001)),
    ("Campaign.Recipients.ByActivity", 5, lambda t: dict(CampaignID=draft(t), Activity="OPENED", Cursor="x!")),
    ("Campaign.Recipients.ByActivity", 6, lambda t: dict(CampaignID=_suspended(t, draft(t)), Activity="OPENED")),
    ("Campaign.Reuse", 1, lambda t: {}),
    ("Campaign.Reuse", 2, lambda t: dict(CampaignID=_foreign(t))),
    ("Campaign.Reuse", 3, lambda t: dict(CampaignID=_suspended(t, draft(t)))),
    ("Campaign.Audience.Get", 1, lambda t: {}),
    ("Campaign.Audience.Get", 2, lambda t: dict(CampaignID=_foreign(t))),
    ("Campaign.Audience.Get", 3, lambda t: dict(CampaignID=draft(t))),
    ("Campaign.Audience.Get", 4, lambda t: dict(CampaignID=_suspended(t, paused(t)[0]))),
    ("Campaign.LandingPage.Publish", 1, lambda t: {}),
    ("Campaign.LandingPage.Publish", 2, lambda t: dict(CampaignID=_foreign(t))),
    ("Campaign.LandingPage.Publish", 3, lambda t: dict(CampaignID=paused(t)[0])),
    ("Campaign.LandingPage.Publish", 4, lambda t: dict(CampaignID=draft(t, content=False))),
    ("Campaign.LandingPage.Publish", 5, lambda t: dict(CampaignID=_suspended(t, draft(t)))),
    ("Campaign.SendTest", 1, lambda t: dict(EmailAddress="me@example.com")),
    ("Campaign.SendTest", 2, lambda t: dict(CampaignID=_foreign(t), EmailAddress="me@example.com")),
    ("Campaign.SendTest", 3, lambda t: dict(CampaignID=draft(t))),
    ("Campaign.SendTest", 3, lambda t: dict(CampaignID=draft(t), EmailAddress="not an address")),
    ("Campaign.SendTest", 4, lambda t: dict(CampaignID=draft(t), EmailAddress="me@example.com", Subject="x" * 1001)),
    ("Campaign.SendTest", 6, lambda t: dict(CampaignID=draft(t, content=False), EmailAddress="me@example.com")),
    ("Campaign.SendTest", 8, lambda t: dict(CampaignID=draft(t), EmailAddress="me@example.com")),
    ("Campaign.SendTest", 9, lambda t: dict(CampaignID=_suspended(t, draft(t)), EmailAddress="me@example.com")),
    ("Campaign.SendTest", 10, lambda t: dict(CampaignID=draft(t, from_email="security@bank.example"),
                                             EmailAddress="me@example.com")),
]
# Reached by the tests below, which need a relay or a suppression.
SPECIAL = {("Campaign.SendTest", 5), ("Campaign.SendTest", 7)}


@pytest.mark.parametrize("command,code,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _) in enumerate(ERROR_CASES)])
def test_documented_code(t, command, code, params):
    prepared = params(t)
    before = stored_state(t.engine)
    answer = t.api(command, t.user.session, **prepared)
    assert answer["Success"] is False and answer["ErrorCode"] == code, answer
    assert stored_state(t.engine) == before  # a refused command changes nothing


def test_every_documented_code_has_a_case():
    for command in commands.COMMANDS:
        covered = {code for name, code, _ in ERROR_CASES if name == command.name}
        covered |= {code for name, code in SPECIAL if name == command.name}
        assert covered == set(command.errors), command.name


def test_send_test_to_a_suppressed_address_is_code_7(t):
    cid = draft(t)
    with t.engine.uow() as uow:
        uow.suppression.add(t.user.id, "blocked@example.com", reason="test")
        uow.commit()
    before = stored_state(t.engine)
    answer = t.api("Campaign.SendTest", t.user.session, CampaignID=cid, EmailAddress="blocked@example.com")
    assert (answer["Success"], answer["ErrorCode"]) == (False, 7)
    assert stored_state(t.engine) == before


def test_send_test_sends_then_is_rate_limited_with_code_5(t, engine):
    from tests.e2e.support import loopback_relay

    with loopback_relay(engine, test_send_limit=1) as recorder:
        cid = draft(t)
        assert t.api("Campaign.SendTest", t.user.session, CampaignID=cid, EmailAddress="me@example.com",
                     Subject="Look")["Success"] is True
        before = stored_state(t.engine)
        answer = t.api("Campaign.SendTest", t.user.session, CampaignID=cid, EmailAddress="me@example.com")
        assert (answer["Success"], answer["ErrorCode"]) == (False, 5)
        assert recorder.recipients() == ["me@example.com"]
        assert stored_state(t.engine) == before
        with t.engine.uow() as uow:  # the first send is recorded, the refused one is not
            assert [row.recipient for row in uow.session.query(TestSend)] == ["me@example.com"]
