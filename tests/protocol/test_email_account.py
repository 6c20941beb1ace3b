"""The email-marketing account through HTTP: Get Account Details (REST), User.EmailAccount.Get/Update
(/api.php), and its enforcement: arming a campaign needs an ACTIVE account with quota left, and the
tick holds (Paused, "Quota exceeded") a due campaign its account may not send, instead of sending it.
The clock is the injected one: 2026-11-23 12:00 UTC."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from engine.models import Delivery, SendInstance, User
from protocol.commands import email_account as account_commands
from scheduler.tick import tick
from tests.builders import CodeRecorder, assert_codes_reached, load_campaign, make_email, make_list, make_subscriber
from tests.helpers import stored_state

URL = "/email-marketing/v1/account-details"
SEEN: dict = {}


@pytest.fixture
def call(api):
    return CodeRecorder(api, SEEN)


def set_account(call, admin, user, **params) -> dict:
    answer = call("User.EmailAccount.Update", admin.session, UserID=user.id, **params)
    assert answer["Success"] is True, answer
    return answer["EmailAccount"]


def campaign(call, engine, user, recipients: int = 2, *, ready: bool = True) -> tuple[int, dict]:
    """An Immediate campaign with content and `recipients` subscribers; armed unless ready=False."""
    list_id = make_list(engine, user)
    for i in range(recipients):
        make_subscriber(engine, list_id, f"r{i}@example.com")
    cid = call("Campaign.Create", user.session, CampaignName="November")["CampaignID"]
    params = dict(CampaignID=cid, RelEmailID=make_email(engine, user), RecipientListsAndSegments=f"{list_id}:0",
                  ScheduleType="Immediate")
    answer = call("Campaign.Update", user.session, **params, **({"CampaignStatus": "Ready"} if ready else {}))
    return cid, answer


def usage(rest, user) -> dict:
    return rest.get(URL, user.session).body["accountDetails"]["quotaPeriod"]["quotaUsage"]


def counts(engine, cid: int) -> tuple[int, int]:
    with engine.uow() as uow:
        instances = uow.session.scalar(select(func.count()).select_from(SendInstance)
                                       .where(SendInstance.campaign_id == cid))
        deliveries = uow.session.scalar(select(func.count()).select_from(Delivery)
                                        .join(SendInstance, SendInstance.id == Delivery.instance_id)
                                        .where(SendInstance.campaign_id == cid))
        return instances, deliveries


# --- reading ----------------------------------------------------------------------------------------
def test_account_details_default_to_active_with_the_group_quotas(rest, user):
    answer = rest.get(URL, user.session)
    assert answer.status == 200
    details = answer.body["accountDetails"]
    assert details["status"] == "ACTIVE"
    assert details["package"]["monthlyQuotaAllocation"] == {"campaigns": -1, "emails": -1}  # group limit 0
    assert details["quotaPeriod"] == {"dateFrom": "2026-11-01T00:00:00.000Z", "dateTo": "2026-12-01T00:00:00.000Z",
                                      "quotaUsage": {"campaigns": 0, "emails": 0}}


def test_an_administrator_sets_status_and_quotas_and_the_user_reads_them(call, rest, engine, admin, user,
                                                                          other_user):
    account = set_account(call, admin, user, Status="suspended", MonthlyCampaignQuota=3, MonthlyEmailQuota=500)
    assert (account["Status"], account["MonthlyCampaignQuota"], account["MonthlyEmailQuota"]) == ("SUSPENDED", 3, 500)
    details = rest.get(URL, user.session).body["accountDetails"]
    assert details["status"] == "SUSPENDED"
    assert details["package"]["monthlyQuotaAllocation"] == {"campaigns": 3, "emails": 500}
    mine = call("User.EmailAccount.Get", user.session, UserID=other_user.id)["EmailAccount"]
    assert mine["UserID"] == user.id and mine["Status"] == "SUSPENDED"  # never another user's
    theirs = call("User.EmailAccount.Get", admin.session, UserID=other_user.id)["EmailAccount"]
    assert theirs["Status"] == "ACTIVE" and theirs["MonthlyEmailQuota"] == -1
    before = stored_state(engine)
    assert call("User.EmailAccount.Update", user.session, UserID=user.id, Status="ACTIVE")["ErrorCode"] == 99999
    assert stored_state(engine) == before
    assert rest.get(URL, user.session).body["accountDetails"]["status"] == "SUSPENDED"
    assert rest.get(URL, admin.session).status == 403


def test_the_group_limits_are_the_default_quotas(call, rest, engine, admin, user):
    with engine.uow() as uow:
        group = uow.accounts.create_group("Small", permissions="*", limit_campaign_send_per_period=4,
                                          limit_email_send_per_period=1000)
        uow.session.get(User, user.id).group_id = group.id
        uow.commit()
    assert rest.get(URL, user.session).body["accountDetails"]["package"]["monthlyQuotaAllocation"] == \
        {"campaigns": 4, "emails": 1000}
    # A per-user quota wins over the group's.
    set_account(call, admin, user, MonthlyEmailQuota=-1)
    assert rest.get(URL, user.session).body["accountDetails"]["package"]["monthlyQuotaAllocation"] == \
        {"campaigns": 4, "emails": -1}


# --- enforcement when a campaign is armed ----------------------------------------------------------------
def test_a_suspended_account_cannot_arm_a_campaign(call, engine, admin, user):
    set_account(call, admin, user, Status="SUSPENDED")
    cid, answer = campaign(call, engine, user)
    assert answer["Success"] is False and answer["ErrorCode"] == 3 and "SUSPENDED" in answer["ErrorText"]
    refused = load_campaign(engine, cid)
    assert (refused.status, refused.email_id, refused.recipients) == ("Draft", None, [])  # nothing half-written
    draft_id, _ = campaign(call, engine, user, ready=False)
    before = stored_state(engine)
    publish = call("Campaign.Publish", user.session, CampaignID=draft_id)
    assert publish["ErrorCode"] == 7 and "SUSPENDED" in publish["ErrorText"]
    assert stored_state(engine) == before
    set_account(call, admin, user, Status="ACTIVE")
    assert call("Campaign.Publish", user.session, CampaignID=draft_id)["Success"] is True


def test_a_used_up_campaign_quota_refuses_arming(call, engine, admin, user):
    set_account(call, admin, user, MonthlyCampaignQuota=0)
    cid, answer = campaign(call, engine, user)
    assert answer["ErrorCode"] == 3 and "quota" in answer["ErrorText"]
    refused = load_campaign(engine, cid)
    assert (refused.status, refused.email_id, refused.recipients) == ("Draft", None, [])


# --- enforcement when the tick starts an instance -----------------------------------------------------------
def test_the_tick_counts_usage_and_holds_a_campaign_over_quota(call, rest, engine, admin, user, clock):
    set_account(call, admin, user, MonthlyEmailQuota=3)
    first, _ = campaign(call, engine, user, recipients=2)
    assert tick(engine).started == 1
    assert usage(rest, user) == {"campaigns": 1, "emails": 2}
    second, answer = campaign(call, engine, user, recipients=2)
    assert answer["Success"] is True  # one email is still left when it is armed
    summary = tick(engine)
    assert (summary.started, summary.paused) == (0, 1) and "1 paused" in summary.line()
    held = load_campaign(engine, second)
    assert (held.status, held.status_reason) == ("Paused", "Quota exceeded")
    assert counts(engine, second) == (0, 0)  # nothing queued, nothing sent
    assert usage(rest, user) == {"campaigns": 1, "emails": 2}
    assert tick(engine).started == 0  # it stays held
    # More quota, then Resume: armed again, and the next tick sends it.
    set_account(call, admin, user, MonthlyEmailQuota=10)
    assert call("Campaign.Resume", user.session, CampaignID=second)["Success"] is True
    assert load_campaign(engine, second).status == "Ready"
    assert tick(engine).started == 1
    assert counts(engine, second) == (1, 2) and usage(rest, user) == {"campaigns": 2, "emails": 4}
    # Deleting a campaign gives no quota back; a new month starts at zero.
    assert call("Campaigns.Delete", user.session, Campaigns=str(first))["Success"] is True
    assert usage(rest, user) == {"campaigns": 2, "emails": 4}
    clock.now = clock.now.replace(month=12, day=1, hour=0)
    assert usage(rest, user) == {"campaigns": 0, "emails": 0}
    assert rest.get(URL, user.session).body["accountDetails"]["quotaPeriod"]["dateFrom"] == \
        "2026-12-01T00:00:00.000Z"


def test_the_tick_holds_a_campaign_of_an_account_suspended_after_arming(call, engine, admin, user):
    cid, _ = campaign(call, engine, user)
    set_account(call, admin, user, Status="BANNED")
    assert tick(engine).paused == 1
    held = load_campaign(engine, cid)
    assert (held.status, held.status_reason) == ("Paused", "Account not active")
    assert counts(engine, cid) == (0, 0)
    # Resumed while still banned: armed, and held again by the next tick.
    assert call("Campaign.Resume", user.session, CampaignID=cid)["Success"] is True
    assert tick(engine).paused == 1 and load_campaign(engine, cid).status == "Paused"


def test_a_campaign_quota_counts_each_started_instance(call, engine, admin, user):
    set_account(call, admin, user, MonthlyCampaignQuota=1)
    cid, _ = campaign(call, engine, user)
    other, _ = campaign(call, engine, user)  # both armed while one campaign is left
    summary = tick(engine)
    assert (summary.started, summary.paused) == (1, 1)
    assert sorted(load_campaign(engine, c).status for c in (cid, other)) == ["Paused", "Sending"]


# --- /api.php: every documented code --------------------------------------------------------------------------
CASES = [
    ("User.EmailAccount.Get", 1, "admin", lambda t: {}),
    ("User.EmailAccount.Get", 2, "admin", lambda t: dict(UserID=999999)),
    ("User.EmailAccount.Update", 1, "admin", lambda t: dict(Status="ACTIVE")),
    ("User.EmailAccount.Update", 2, "admin", lambda t: dict(UserID=999999, Status="ACTIVE")),
    ("User.EmailAccount.Update", 2, "admin", lambda t: dict(UserID="x")),
    ("User.EmailAccount.Update", 3, "admin", lambda t: dict(UserID=t.user.id, Status="ON HOLD")),
    ("User.EmailAccount.Update", 4, "admin", lambda t: dict(UserID=t.user.id, MonthlyCampaignQuota=-2)),
    ("User.EmailAccount.Update", 5, "admin", lambda t: dict(UserID=t.user.id, MonthlyEmailQuota="lots")),
]


@pytest.mark.parametrize("command,code,who,params", CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _, _) in enumerate(CASES)])
def test_documented_code(call, engine, admin, user, command, code, who, params):
    t = dataclasses.make_dataclass("T", ["user"])(user)
    set_account(call, admin, user, MonthlyCampaignQuota=3)
    before = stored_state(engine)
    answer = call(command, admin.session, **params(t))
    assert answer["Success"] is False and answer["ErrorCode"] == code, answer
    assert stored_state(engine) == before
    assert call("User.EmailAccount.Get", user.session)["EmailAccount"]["Status"] == "ACTIVE"  # nothing changed


def test_every_documented_code_has_a_case():
    for command in account_commands.COMMANDS:
        assert {code for name, code, _, _ in CASES if name == command.name} == set(command.errors), command.name


def test_credentials_are_required(api, engine, user):
    before = stored_state(engine)
    for command in account_commands.COMMANDS:
        assert api(command.name, UserID=user.id, Status="SUSPENDED")["ErrorCode"] == 99998
    assert stored_state(engine) == before


def test_every_code_is_reached(request):
    assert_codes_reached(request, SEEN, account_commands.COMMANDS, {})


def test_the_quota_period_is_the_calendar_month_in_utc():
    from datetime import datetime, timedelta, timezone

    from engine.accounts.email_account import month_window

    start, end, key = month_window(datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc))
    assert (start, end, key) == (datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2027, 1, 1, tzinfo=timezone.utc),
                                 "2026-12")
    # 00:30 on 1 January in Berlin is still December in UTC.
    berlin = timezone(timedelta(hours=1))
    assert month_window(datetime(2027, 1, 1, 0, 30, tzinfo=berlin))[2] == "2026-12"
