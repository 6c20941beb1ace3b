"""UserGroup.Patch through HTTP: only the fields sent are written, every refusal writes nothing."""
from __future__ import annotations

import pytest

from engine.models import UserGroup
from protocol.commands import usergroup_patch as commands
from tests.builders import CodeRecorder, assert_codes_reached, load_row
from tests.helpers import stored_state

SEEN: dict = {}
NEVER_EMITTED: dict = {}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def group_id(engine):
    with engine.uow() as uow:
        group = uow.accounts.create_group("Basic", permissions="Lists.Get,List.Create", limit_subscribers=100,
                                          limit_lists=5, force_unsubscription_link=True)
        uow.commit()
        return group.id


def patch(api, admin, group_id, **fields):
    return api("UserGroup.Patch", admin.session, UserGroupID=group_id, **fields)


def test_patch_writes_only_what_is_sent(api, admin, engine, group_id):
    before = load_row(engine, UserGroup, group_id)
    answer = patch(api, admin, group_id, LimitEmailSendPerPeriod=250000, LimitSubscribers=50000)
    assert answer == {"Success": True, "ErrorCode": 0, "UserGroupID": str(group_id),
                      "UpdatedFields": ["LimitSubscribers", "LimitEmailSendPerPeriod"], "IgnoredFields": []}
    after = load_row(engine, UserGroup, group_id)
    assert (after.limit_subscribers, after.limit_email_send_per_period) == (50000, 250000)
    for column in ("name", "permissions", "limit_lists", "force_unsubscription_link", "force_reject_opt_link",
                   "limit_campaign_send_per_period", "allowed_sender_domains"):
        assert getattr(after, column) == getattr(before, column), column


def test_patch_of_flags_names_and_permissions(api, admin, engine, group_id):
    answer = patch(api, admin, group_id, GroupName=" Gold ", ForceUnsubscriptionLink="Disabled",
                   ForceRejectOptLink="enabled", Permissions="campaign.create, Campaigns.Get", LimitLists=-1)
    assert answer["UpdatedFields"] == ["LimitLists", "GroupName", "ForceUnsubscriptionLink", "ForceRejectOptLink",
                                       "Permissions"]
    row = load_row(engine, UserGroup, group_id)
    assert (row.name, row.force_unsubscription_link, row.force_reject_opt_link, row.permissions, row.limit_lists) == (
        "Gold", False, True, "Campaign.Create,Campaigns.Get", -1)


def test_a_no_op_patch_and_settings_sendmill_does_not_have(api, admin, engine, group_id):
    before = stored_state(engine)
    assert patch(api, admin, group_id)["UpdatedFields"] == []
    answer = patch(api, admin, group_id, XMailer="Sendmill", PaymentSystem="Enabled", TrialGroup="Disabled",
                   SendMethod="smtp", SendMethodSMTPPort="587", Options='{"a": 1}')
    assert answer["Success"] is True and answer["UpdatedFields"] == []
    assert sorted(answer["IgnoredFields"]) == sorted(["XMailer", "PaymentSystem", "TrialGroup", "SendMethod",
                                                      "SendMethodSMTPPort", "Options"])
    assert stored_state(engine) == before


def test_patch_with_a_json_body_and_arrays(client, admin, engine, group_id):
    response = client.post("/api.php", json={"Command": "usergroup.patch", "SessionID": admin.session,
                                             "UserGroupID": group_id, "Permissions": ["Lists.Get", "Campaign.Create"],
                                             "DefaultRateLimits": {"send": 10}})
    body = response.get_json()
    assert body["Success"] is True and body["UpdatedFields"] == ["Permissions"], body
    assert load_row(engine, UserGroup, group_id).permissions == "Lists.Get,Campaign.Create"


@pytest.mark.parametrize("fields,code,error_field", [
    ({"RelThemeID": 3}, 19, "relthemeid"),
    ({"SendMethod": "Pigeon"}, 22, "sendmethod"),
    ({"SendMethodSMTPSecure": "starttls"}, 23, "sendmethodsmtpsecure"),
    ({"SendMethodSMTPAuth": "maybe"}, 24, "sendmethodsmtpauth"),
    ({"CreditSystem": "on"}, 26, "creditsystem"),
    ({"ForceOptInList": "Yes"}, 26, "forceoptinlist"),
    ({"TrialGroup": "Perhaps"}, 27, "trialgroup"),
    ({"Options": "[1, 2]"}, 28, "options"),
    ({"DefaultRateLimits": "not json"}, 29, "defaultratelimits"),
    ({"Permissions": "No.Such.Permission"}, 30, "permissions"),
    ({"LimitLists": "0x1A"}, 32, "limitlists"),
    ({"LimitSubscribers": "1.5"}, 32, "limitsubscribers"),
    ({"LimitSubscribers": "1e3"}, 32, "limitsubscribers"),
    ({"ThresholdImport": "99999999999"}, 32, "thresholdimport"),
])
def test_refused_values_write_nothing(api, admin, engine, group_id, fields, code, error_field):
    before = stored_state(engine)
    answer = patch(api, admin, group_id, LimitSubscribers=7, **fields) if "LimitSubscribers" not in fields else \
        patch(api, admin, group_id, **fields)
    assert answer["Success"] is False and answer["ErrorCode"] == code and answer["ErrorField"] == error_field, answer
    assert stored_state(engine) == before


def test_non_scalar_values_are_31(client, admin, engine, group_id):
    before = stored_state(engine)
    response = client.post("/api.php", json={"Command": "UserGroup.Patch", "SessionID": admin.session,
                                             "UserGroupID": group_id, "XMailer": {"a": "b"}})
    body = response.get_json()
    assert (body["ErrorCode"], body["ErrorField"]) == (31, "xmailer")
    SEEN.setdefault("UserGroup.Patch", set()).add(body["ErrorCode"])   # sent as JSON, past the form recorder
    assert stored_state(engine) == before


def test_missing_or_unknown_group(api, admin, engine, group_id):
    before = stored_state(engine)
    assert api("UserGroup.Patch", admin.session, LimitLists=3)["ErrorCode"] == 20
    assert patch(api, admin, "abc", LimitLists=3)["ErrorCode"] == 21
    assert patch(api, admin, group_id + 100, LimitLists=3)["ErrorCode"] == 21
    assert stored_state(engine) == before


def test_patch_is_for_administrators(api, user, engine, group_id):
    before = stored_state(engine)
    assert patch(api, user, group_id, LimitLists=3)["ErrorCode"] in (99998, 99999)
    assert stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, NEVER_EMITTED)
