"""Users, user groups and API keys through HTTP: every documented code, the stored state of every
success, and who may do what (administrators manage accounts; users only their own profile)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.models import (
    ApiKey, AuthSession, Campaign, CampaignRecipient, CampaignTag, Email, Segment, Subscriber, SubscriberList,
    Tag, User, UserGroup,
)
from protocol.command import KEYED, LIST, SCALAR
from protocol.commands import accounts as account_commands
from protocol.commands import apikeys as apikey_commands
from protocol.registry import COMMANDS
from tests.builders import make_email, make_list, make_segment
from tests.helpers import make_user, stored_state

FAMILY = account_commands.COMMANDS + apikey_commands.COMMANDS



def shaped(command: str, code: int):
    """`code` in the wire shape `command` answers with."""
    spec = COMMANDS[command.lower()]
    if spec.error_shape == LIST:
        return [code]
    if spec.error_shape == KEYED:
        return {spec.error_keys[code]: code}
    assert spec.error_shape == SCALAR
    return code



def default_group_id(engine) -> int:
    with engine.uow() as uow:
        return uow.accounts.ensure_default_group().id


def load_user(engine, user_id: int) -> User | None:
    with engine.uow() as uow:
        user = uow.session.get(User, user_id)
        if user is not None:
            _ = user.group
            uow.session.expunge_all()
        return user


def load_group(engine, group_id: int) -> UserGroup | None:
    with engine.uow() as uow:
        group = uow.session.get(UserGroup, group_id)
        if group is not None:
            uow.session.expunge(group)
        return group


def count(engine, model, *where) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def new_user_params(engine, **overrides) -> dict:
    params = dict(RelUserGroupID=default_group_id(engine), EmailAddress="newbie@example.com", Username="newbie",
                  Password="newbie-pass-1", FirstName="Nora", LastName="Newbie", TimeZone="Europe/Berlin",
                  Language="en")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def new_group(api, admin, **params) -> int:
    answer = api("UserGroup.Create", admin.session, **{"GroupName": "Writers", **params})
    assert answer["Success"] is True, answer
    return answer["UserGroupID"]


# --- User.Create ------------------------------------------------------------------------------------
def test_admin_creates_a_user_who_can_log_in(api, admin, engine):
    answer = api("User.Create", admin.session, **new_user_params(
        engine, CompanyName="Acme", ReputationLevel="untrusted", AccountStatus="Enabled"))
    assert answer == {"Success": True, "ErrorCode": 0, "UserID": answer["UserID"]}
    assert isinstance(answer["UserID"], int)
    stored = load_user(engine, answer["UserID"])
    assert (stored.username, stored.email_address, stored.email_normalized, stored.first_name, stored.last_name,
            stored.company_name, stored.time_zone, stored.language, stored.account_status,
            stored.reputation_level, stored.group_id) == \
        ("newbie", "newbie@example.com", "newbie@example.com", "Nora", "Newbie", "Acme", "Europe/Berlin", "en",
         "Enabled", "Untrusted", default_group_id(engine))
    assert stored.password_hash.startswith("$argon2") and "newbie-pass-1" not in stored.password_hash
    login = api("User.Login", Username="newbie", Password="newbie-pass-1")
    assert login["Success"] is True and login["UserInfo"]["UserID"] == answer["UserID"]


def test_create_defaults_to_enabled_and_trusted_and_takes_company_instead_of_first_name(api, admin, engine):
    answer = api("User.Create", admin.session, **new_user_params(engine, FirstName=None, CompanyName="Acme"))
    stored = load_user(engine, answer["UserID"])
    assert (stored.account_status, stored.reputation_level, stored.first_name) == ("Enabled", "Trusted", "")


def test_create_refuses_usernames_and_addresses_in_use_case_insensitively(api, admin, user, engine):
    before = stored_state(engine)
    assert api("User.Create", admin.session, **new_user_params(engine, Username="ALICE"))["ErrorCode"] == [12]
    assert api("User.Create", admin.session,
               **new_user_params(engine, EmailAddress="Alice@EXAMPLE.com"))["ErrorCode"] == [13]
    # A username may not be someone else's address: logins accept either.
    assert api("User.Create", admin.session,
               **new_user_params(engine, Username="alice@example.com"))["ErrorCode"] == [12]
    assert count(engine, User) == 1 and stored_state(engine) == before


def test_create_names_every_missing_required_parameter_in_one_answer(api, admin, engine):
    # The README's first session once failed three times in a row, one missing parameter per answer.
    answer = api("User.Create", admin.session, Username="nora", Password="nora-pass-1",
                 EmailAddress="nora@example.com", FirstName="Nora")
    assert answer["Success"] is False
    assert answer["ErrorCode"] == [1, 8, 9], answer
    assert [text.split(" (")[0] for text in answer["ErrorText"]] == [
        "Missing RelUserGroupID parameter", "Missing TimeZone parameter", "Missing Language parameter"]
    assert count(engine, User) == 0


def test_an_invalid_value_is_reported_beside_the_missing_parameters(api, admin, engine):
    answer = api("User.Create", admin.session, Username="nora", Password="nora-pass-1", RelUserGroupID="gold",
                 EmailAddress="nora@example.com", FirstName="Nora", TimeZone="Europe/Berlin")
    assert answer["ErrorCode"] == [9, 11], answer
    assert count(engine, User) == 0


# --- User.Update ------------------------------------------------------------------------------------
def test_user_updates_own_profile_and_password(api, user, engine):
    answer = api("User.Update", user.session, UserID=user.id, FirstName="Alicia", LastName="Smith",
                 CompanyName="Acme", EmailAddress="Alicia@Example.org", TimeZone="America/New_York",
                 Language="pt-BR", Password="brand-new-pass")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    stored = load_user(engine, user.id)
    assert (stored.first_name, stored.last_name, stored.company_name, stored.email_address,
            stored.email_normalized, stored.time_zone, stored.language) == \
        ("Alicia", "Smith", "Acme", "Alicia@Example.org", "alicia@example.org", "America/New_York", "pt-BR")
    assert api("User.Login", Username="alice", Password=user.password)["ErrorCode"] == [3]
    assert api("User.Login", Username="alicia@example.org", Password="brand-new-pass")["Success"] is True
    # The session that changed the password goes on working.
    assert api("User.Current", user.session)["Success"] is True


def test_partial_update_leaves_everything_else_alone(api, user, engine):
    before = load_user(engine, user.id)
    assert api("User.Update", user.session, UserID=user.id, LastName="Liddell")["Success"] is True
    after = load_user(engine, user.id)
    assert after.last_name == "Liddell"
    assert (after.username, after.email_address, after.password_hash, after.first_name) == \
        (before.username, before.email_address, before.password_hash, before.first_name)


def test_admin_updates_status_reputation_group_and_password(api, admin, user, engine):
    group_id = new_group(api, admin, Permissions="Campaign.Create")
    answer = api("User.Update", admin.session, UserID=user.id, AccountStatus="Disabled",
                 ReputationLevel="Untrusted", RelUserGroupID=group_id, Password="set-by-admin")
    assert answer["Success"] is True, answer
    stored = load_user(engine, user.id)
    assert (stored.account_status, stored.reputation_level, stored.group_id) == ("Disabled", "Untrusted", group_id)
    # A password set by an administrator ends the user's sessions.
    assert count(engine, AuthSession, AuthSession.user_id == user.id) == 0
    api("User.Update", admin.session, UserID=user.id, AccountStatus="enabled")
    assert api("User.Login", Username="alice", Password="set-by-admin")["Success"] is True


def test_user_cannot_change_admin_only_fields(api, admin, user, engine):
    group_id = new_group(api, admin)
    for field, value in (("AccountStatus", "Disabled"), ("ReputationLevel", "Untrusted"),
                         ("RelUserGroupID", group_id)):
        answer = api("User.Update", user.session, UserID=user.id, FirstName="Changed", **{field: value})
        assert answer["Success"] is False and answer["ErrorCode"] == 99999, answer
    stored = load_user(engine, user.id)
    assert (stored.account_status, stored.reputation_level, stored.group_id, stored.first_name) == \
        ("Enabled", "Trusted", default_group_id(engine), "")


def test_user_may_send_back_the_admin_only_values_they_already_have(api, user, engine):
    # Clients that round-trip User.Current's UserInfo into User.Update must keep working.
    info = api("User.Current", user.session)["UserInfo"]
    answer = api("User.Update", user.session, UserID=user.id, FirstName="Al", AccountStatus=info["AccountStatus"],
                 ReputationLevel=info["ReputationLevel"], RelUserGroupID=info["RelUserGroupID"])
    assert answer["Success"] is True, answer
    assert load_user(engine, user.id).first_name == "Al"


def test_user_cannot_update_another_account(api, user, other_user, engine):
    before = stored_state(engine)
    answer = api("User.Update", user.session, UserID=other_user.id, FirstName="Hacked")
    assert answer == {"Success": False, "ErrorCode": 2, "ErrorText": "User can only update their own account"}
    assert load_user(engine, other_user.id).first_name == "" and stored_state(engine) == before


def test_update_needs_the_user_update_permission(api, admin, user, engine):
    group_id = new_group(api, admin, Permissions="Campaign.Create")
    api("User.Update", admin.session, UserID=user.id, RelUserGroupID=group_id)
    before = stored_state(engine)
    assert api("User.Update", user.session, UserID=user.id, FirstName="X")["ErrorCode"] == 99999
    assert load_user(engine, user.id).first_name == "" and stored_state(engine) == before


# --- User.Get / User.Current --------------------------------------------------------------------------
def test_get_by_id_or_address_with_group_and_utilization(api, admin, user, engine):
    make_list(engine, user, "One")
    make_list(engine, user, "Two")
    by_id = api("User.Get", admin.session, UserID=user.id)
    by_address = api("User.Get", admin.session, EmailAddress="ALICE@example.com")
    assert by_id == by_address
    info = by_id["UserInformation"]
    assert (info["UserID"], info["Username"], info["EmailAddress"], info["Password"]) == \
        (user.id, "alice", "alice@example.com", "****** masked ******")
    assert info["GroupInformation"]["UserGroupID"] == default_group_id(engine)
    assert info["GroupInformation"]["Permissions"] == "*"
    assert by_id["LimitUtilization"] == {"Subscribers": {"Used": 0, "Limit": 0}, "Lists": {"Used": 2, "Limit": 0}}


def test_current_shows_profile_group_permissions_and_limits(api, admin, user, engine):
    group_id = new_group(api, admin, GroupName="Limited", Permissions="campaign.create, CAMPAIGNS.GET",
                         LimitSubscribers="500", LimitLists="3", ForceUnsubscriptionLink="Enabled",
                         AllowedSenderDomains="Shop.Example, @news.shop.example")
    api("User.Update", admin.session, UserID=user.id, RelUserGroupID=group_id)
    answer = api("User.Current", user.session)
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    info = answer["UserInfo"]
    assert (info["UserID"], info["Username"], info["RelUserGroupID"], info["AccountStatus"]) == \
        (user.id, "alice", group_id, "Enabled")
    assert "password_hash" not in str(info) and info["Password"] == "****** masked ******"
    # v5.9.4's user-safe projection: numbers as numeric strings, options Sendmill lacks as "absent".
    assert info["GroupInfo"] == {
        "UserGroupID": str(group_id), "GroupName": "Limited", "GroupPlanName": "", "DefaultSenderDomain": None,
        "Permissions": "Campaign.Create,Campaigns.Get", "ForceUnsubscriptionLink": "Enabled",
        "ForceRejectOptLink": "Disabled", "ForceOptInList": "Disabled", "LimitSubscribers": "500",
        "LimitLists": "3", "LimitCampaignSendPerPeriod": "0", "LimitCampaignSendPeriod": "Monthly",
        "LimitEmailSendPerPeriod": "0", "LimitEmailSendPerDay": "0", "LimitEmailSendPeriod": "Monthly",
        "LimitEmailSendLifetime": "0", "LimitEmailGatewaySenderDomains": "0", "SenderDomainManagement": "Enabled",
        "EnableSenderInfo": "Disabled", "ForcedSenderInfo": "Disabled", "DefaultSenderDomainActivate": "Disabled",
        "AllowedSenderDomains": "shop.example,news.shop.example",
    }


def test_current_is_for_users_only(api, admin):
    assert api("User.Current", admin.session)["ErrorCode"] == 99999


# --- Users.Get ----------------------------------------------------------------------------------------
@pytest.fixture
def crowd(api, admin, engine):
    """Five users: two in a second group, one disabled, one untrusted."""
    group_id = new_group(api, admin, GroupName="Second")
    specs = [("carol", "Carol", "Zeta", {}), ("dave", "Dave", "Young", {"RelUserGroupID": group_id}),
             ("erin", "Erin", "Xu", {"AccountStatus": "Disabled"}),
             ("frank", "Frank", "Walker", {"ReputationLevel": "Untrusted", "RelUserGroupID": group_id}),
             ("grace", "Grace", "Vance", {"CompanyName": "Carolina Inc"})]
    ids = {}
    for username, first, last, extra in specs:
        params = new_user_params(engine, Username=username, EmailAddress=f"{username}@example.com",
                                 FirstName=first, LastName=last, **extra)
        ids[username] = api("User.Create", admin.session, **params)["UserID"]
    return ids, group_id


def usernames(answer) -> list[str]:
    assert answer["Success"] is True, answer
    return [u["Username"] for u in answer["Users"]]


def test_users_get_pages_and_counts(api, admin, crowd):
    answer = api("Users.Get", admin.session, RecordsPerRequest="2", RecordsFrom="1")
    assert usernames(answer) == ["dave", "erin"] and answer["TotalUsers"] == 5
    row = answer["Users"][0]
    assert row["UserID"] == crowd[0]["dave"] and row["GroupInformation"]["GroupName"] == "Second"
    assert usernames(api("Users.Get", admin.session)) == ["carol", "dave", "erin", "frank", "grace"]


def test_users_get_orders_by_whitelisted_fields(api, admin, crowd):
    answer = api("Users.Get", admin.session, OrderField="LastName", OrderType="ASC")
    assert usernames(answer) == ["grace", "frank", "erin", "dave", "carol"]
    answer = api("Users.Get", admin.session, OrderField="userid", OrderType="desc")
    assert usernames(answer) == ["grace", "frank", "erin", "dave", "carol"]


def test_users_get_filters_by_group_status_and_reputation(api, admin, crowd):
    ids, group_id = crowd
    assert usernames(api("Users.Get", admin.session, RelUserGroupID=str(group_id))) == ["dave", "frank"]
    assert usernames(api("Users.Get", admin.session, **{"RelUserGroupID[]": str(group_id)})) == ["dave", "frank"]
    assert usernames(api("Users.Get", admin.session, RelUserGroupID="Disabled")) == ["erin"]
    assert len(usernames(api("Users.Get", admin.session, RelUserGroupID="enabled"))) == 4
    assert usernames(api("Users.Get", admin.session, RelUserGroupID="Untrusted")) == ["frank"]
    assert "frank" not in usernames(api("Users.Get", admin.session, RelUserGroupID="Trusted"))
    answer = api("Users.Get", admin.session, RelUserGroupID="Online")
    assert usernames(answer) == [] and answer["Users"] == []


def test_online_means_signed_in_recently(api, admin, crowd, clock):
    api("User.Login", Username="carol", Password="newbie-pass-1")
    assert usernames(api("Users.Get", admin.session, RelUserGroupID="Online")) == ["carol"]
    clock.advance(minutes=16)
    assert usernames(api("Users.Get", admin.session, RelUserGroupID="Online")) == []


def test_users_get_searches_a_field_or_all_of_them(api, admin, crowd):
    assert usernames(api("Users.Get", admin.session, SearchKeyword="carol")) == ["carol", "grace"]
    assert usernames(api("Users.Get", admin.session, SearchKeyword="CAROL", SearchField="Username")) == ["carol"]
    # User text never acts as a LIKE wildcard.
    assert usernames(api("Users.Get", admin.session, SearchKeyword="%")) == []


# --- Users.Delete -------------------------------------------------------------------------------------
def give_data(api, engine, account) -> None:
    """A little of everything: list, segment, subscriber, email, a tagged campaign with recipients."""
    list_id = make_list(engine, account)
    segment_id = make_segment(engine, account, list_id)
    with engine.uow() as uow:
        uow.session.add(Subscriber(list_id=list_id, email_address="sub@example.com",
                                   email_normalized="sub@example.com", subscription_date=uow.clock()))
        uow.commit()
    email_id = make_email(engine, account)
    campaign_id = api("Campaign.Create", account.session, CampaignName="Mine")["CampaignID"]
    assert api("Campaign.Update", account.session, CampaignID=campaign_id, RelEmailID=email_id,
               RecipientListsAndSegments=f"{list_id}:0,{list_id}:{segment_id}")["Success"] is True
    tag_id = api("Tag.Create", account.session, Tag="Sale")["TagID"]
    assert api("Tag.AssignToCampaigns", account.session, TagID=tag_id, CampaignIDs=str(campaign_id))["Success"]
    api("User.APIKey.Create", account.session, Note="script")


OWNED = ((Campaign, Campaign.owner_user_id), (SubscriberList, SubscriberList.owner_user_id),
         (Segment, Segment.owner_user_id), (Email, Email.owner_user_id), (Tag, Tag.owner_user_id),
         (ApiKey, ApiKey.user_id), (AuthSession, AuthSession.user_id))


def test_delete_removes_users_and_everything_they_own(api, admin, user, other_user, engine):
    give_data(api, engine, user)
    give_data(api, engine, other_user)
    answer = api("Users.Delete", admin.session, Users=f"{user.id}")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    assert load_user(engine, user.id) is None and load_user(engine, other_user.id) is not None
    for model, column in OWNED:
        assert count(engine, model, column == user.id) == 0, model
        assert count(engine, model, column == other_user.id) == 1, model
    assert count(engine, Subscriber) == 1 and count(engine, CampaignRecipient) == 2 and count(engine, CampaignTag) == 1
    assert api("User.Current", user.session)["ErrorCode"] == 99998
    assert api("User.Current", other_user.session)["Success"] is True


def test_delete_with_an_unknown_id_deletes_nothing(api, admin, user, engine):
    give_data(api, engine, user)
    before = stored_state(engine)
    answer = api("Users.Delete", admin.session, Users=f"{user.id},999999")
    assert answer["ErrorCode"] == {"users": 1} and "999999" in answer["ErrorText"]
    assert load_user(engine, user.id) is not None and stored_state(engine) == before


# --- user groups --------------------------------------------------------------------------------------
def test_group_create_get_update_and_list(api, admin, engine):
    group_id = new_group(api, admin, GroupName="Premium", Permissions="Campaign.Create,campaigns.get,Campaign.Get",
                         LimitSubscribers="10000", LimitLists="50", LimitCampaignSendPerPeriod="100",
                         LimitEmailSendPerPeriod="50000", ForceUnsubscriptionLink="Enabled",
                         ForceRejectOptLink="true", SubscriberAreaLogoutURL="https://example.com/bye", RelThemeID="1")
    assert isinstance(group_id, int)
    stored = load_group(engine, group_id)
    assert (stored.name, stored.permissions, stored.limit_subscribers, stored.limit_lists,
            stored.limit_campaign_send_per_period, stored.limit_email_send_per_period,
            stored.force_unsubscription_link, stored.force_reject_opt_link) == \
        ("Premium", "Campaign.Create,Campaigns.Get,Campaign.Get", 10000, 50, 100, 50000, True, True)
    got = api("UserGroup.Get", admin.session, UserGroupID=group_id)
    assert got["UserGroup"]["GroupName"] == "Premium" and got["UserGroup"]["LimitLists"] == 50
    assert got["UserGroup"]["AllowedSenderDomains"] == ""   # the safe default: verified senders only
    answer = api("UserGroup.Update", admin.session, UserGroupID=group_id, GroupName="Premium Plus",
                 LimitLists="0", Permissions="*", ForceRejectOptLink="Disabled", AllowedSenderDomains="*")
    assert answer == {"Success": True, "ErrorCode": 0}
    stored = load_group(engine, group_id)
    assert (stored.name, stored.limit_lists, stored.permissions, stored.force_reject_opt_link,
            stored.limit_subscribers, stored.force_unsubscription_link, stored.allowed_sender_domains) == \
        ("Premium Plus", 0, "*", False, 10000, True, "*")
    assert api("UserGroup.Update", admin.session, UserGroupID=group_id, AllowedSenderDomains="none")["Success"]
    assert load_group(engine, group_id).allowed_sender_domains == ""
    listed = api("UserGroups.Get", admin.session)["UserGroups"]
    assert [g["GroupName"] for g in listed] == ["Default", "Premium Plus"]


def test_new_group_without_permissions_grants_nothing(api, admin, user, engine):
    group_id = new_group(api, admin)
    assert load_group(engine, group_id).permissions == ""
    api("User.Update", admin.session, UserID=user.id, RelUserGroupID=group_id)
    assert api("Campaigns.Get", user.session)["ErrorCode"] == 99999
    assert api("User.Current", user.session)["Success"] is True  # needs no permission


def test_group_duplicate_copies_every_setting(api, admin, engine):
    group_id = new_group(api, admin, Permissions="Campaign.Get", LimitLists="7", ForceUnsubscriptionLink="Enabled")
    answer = api("UserGroup.Duplicate", admin.session, UserGroupID=group_id)
    assert answer["Success"] is True and answer["UserGroupID"] != group_id
    copy = load_group(engine, answer["UserGroupID"])
    assert (copy.name, copy.permissions, copy.limit_lists, copy.force_unsubscription_link) == \
        ("Writers (copy)", "Campaign.Get", 7, True)


def test_group_delete_removes_only_empty_groups(api, admin, user, engine):
    empty_a, empty_b = new_group(api, admin, GroupName="A"), new_group(api, admin, GroupName="B")
    answer = api("UserGroup.Delete", admin.session, UserGroupID=f"{empty_a},{empty_b}")
    assert answer == {"Success": True, "ErrorCode": 0}
    assert load_group(engine, empty_a) is None and load_group(engine, empty_b) is None
    # A group with users stays, and so does anything listed beside it.
    empty_c = new_group(api, admin, GroupName="C")
    before = stored_state(engine)
    answer = api("UserGroup.Delete", admin.session, UserGroupID=f"{empty_c},{default_group_id(engine)}")
    assert answer["ErrorCode"] == [3]
    assert load_group(engine, empty_c) is not None and stored_state(engine) == before


def test_the_last_group_cannot_be_deleted(api, admin, engine):
    before = stored_state(engine)
    assert api("UserGroup.Delete", admin.session, UserGroupID=default_group_id(engine))["ErrorCode"] == [4]
    assert count(engine, UserGroup) == 1 and stored_state(engine) == before


# --- API keys -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["User", "Admin"])
def test_api_key_is_shown_once_listed_without_it_and_deleted(api, admin, user, engine, prefix):
    account = user if prefix == "User" else admin
    answer = api(f"{prefix}.APIKey.Create", account.session, Note="Production", BoundIPAddress="127.0.0.1")
    assert answer["Success"] is True and isinstance(answer["APIKeyID"], int)
    created = answer["APIKey"]
    token = created["APIKey"]
    assert created["Key"] == token and created["Note"] == "Production" and created["BoundIPAddress"] == "127.0.0.1"
    assert len(token.split("-")) == 8
    listed = api(f"{prefix}.APIKey.List", account.session)
    assert listed["Success"] is True and len(listed["APIKeys"]) == 1
    row = listed["APIKeys"][0]
    assert row["APIKeyID"] == answer["APIKeyID"] and row["Note"] == "Production"
    assert row["KeyPrefix"] == token[:9] and token not in str(listed)
    assert (row["LastUsedAt"], row["LastUsedIP"], row["RequestCount"]) == ("", "", 0)
    owner = ApiKey.user_id if prefix == "User" else ApiKey.admin_id
    assert count(engine, ApiKey, owner == account.id) == 1
    assert api(f"{prefix}.APIKey.Delete", account.session, APIKeyID=answer["APIKeyID"]) == \
        {"Success": True, "ErrorCode": 0}
    assert count(engine, ApiKey) == 0
    assert api(f"{prefix}.APIKey.List", account.session)["APIKeys"] == []


def test_keys_are_private_to_their_owner(api, admin, user, other_user, engine):
    mine = api("User.APIKey.Create", user.session, Note="mine")["APIKeyID"]
    assert api("User.APIKey.List", other_user.session)["APIKeys"] == []
    keys = stored_state(engine, ApiKey)
    assert api("User.APIKey.Delete", other_user.session, APIKeyID=mine)["ErrorCode"] == [2]
    assert api("Admin.APIKey.Delete", admin.session, APIKeyID=mine)["ErrorCode"] == [2]
    assert count(engine, ApiKey) == 1 and stored_state(engine, ApiKey) == keys


def test_key_commands_are_split_by_role(api, admin, user, engine):
    assert api("Admin.APIKey.Create", user.session, Note="x")["ErrorCode"] == 99999
    assert api("User.APIKey.Create", admin.session, Note="x")["ErrorCode"] == 99999
    assert count(engine, ApiKey) == 0


def test_key_commands_need_the_user_update_permission(api, admin, user, engine):
    group_id = new_group(api, admin, Permissions="Campaign.Create")
    api("User.Update", admin.session, UserID=user.id, RelUserGroupID=group_id)
    assert api("User.APIKey.Create", user.session, Note="x")["ErrorCode"] == 99999
    assert count(engine, ApiKey) == 0


# --- every documented code, through HTTP -------------------------------------------------------------
class Ctx:
    """What an error case needs, with the user fixtures created only when a case asks for them."""

    def __init__(self, request, api, admin, engine):
        self.request, self.api, self.admin, self.engine = request, api, admin, engine

    @property
    def user(self):
        return self.request.getfixturevalue("user")

    @property
    def other_user(self):
        return self.request.getfixturevalue("other_user")

    def new_user(self, **overrides):
        return new_user_params(self.engine, **overrides)

    def group(self, **params):
        return new_group(self.api, self.admin, **params)

    def key(self, account):
        prefix = "Admin" if account is self.admin else "User"
        return self.api(f"{prefix}.APIKey.Create", account.session, Note="k")["APIKeyID"]


LONG = "x" * 256

ERROR_CASES = [
    # (command, code, caller, parameters)
    ("User.Create", 1, "admin", lambda t: t.new_user(RelUserGroupID=None)),
    ("User.Create", 2, "admin", lambda t: t.new_user(EmailAddress=None)),
    ("User.Create", 3, "admin", lambda t: t.new_user(Username=None)),
    ("User.Create", 3, "admin", lambda t: t.new_user(Username="   ")),
    ("User.Create", 4, "admin", lambda t: t.new_user(Password=None)),
    ("User.Create", 6, "admin", lambda t: t.new_user(FirstName=None)),
    ("User.Create", 8, "admin", lambda t: t.new_user(TimeZone=None)),
    ("User.Create", 8, "admin", lambda t: t.new_user(TimeZone="Mars/Olympus_Mons")),
    ("User.Create", 9, "admin", lambda t: t.new_user(Language=None)),
    ("User.Create", 10, "admin", lambda t: t.new_user(EmailAddress="not-an-address")),
    ("User.Create", 11, "admin", lambda t: t.new_user(RelUserGroupID="999999")),
    ("User.Create", 11, "admin", lambda t: t.new_user(RelUserGroupID="gold")),
    ("User.Create", 12, "admin", lambda t: (t.user, t.new_user(Username="Alice"))[1]),
    ("User.Create", 13, "admin", lambda t: (t.user, t.new_user(EmailAddress="ALICE@example.com"))[1]),
    ("User.Create", 14, "admin", lambda t: t.new_user(Language="english please")),
    ("User.Create", 15, "admin", lambda t: t.new_user(ReputationLevel="5")),
    ("User.Create", 17, "admin", lambda t: t.new_user(AccountStatus="Frozen")),
    ("User.Create", 17, "admin", lambda t: t.new_user(LastName=LONG)),
    ("User.Update", 1, "user", lambda t: dict(FirstName="x")),
    ("User.Update", 1, "user", lambda t: dict(UserID="me", FirstName="x")),
    ("User.Update", 2, "user", lambda t: dict(UserID=t.other_user.id, FirstName="x")),
    ("User.Update", 2, "user", lambda t: dict(UserID=999999, FirstName="x")),  # missing looks like foreign
    ("User.Update", 5, "admin", lambda t: dict(UserID=999999, FirstName="x")),
    ("User.Update", 6, "user", lambda t: dict(UserID=t.user.id, Username="MALLORY", _=t.other_user)),
    ("User.Update", 6, "user", lambda t: dict(UserID=t.user.id, EmailAddress="mallory@example.com",
                                               _=t.other_user)),
    ("User.Update", 7, "user", lambda t: dict(UserID=t.user.id, EmailAddress="alice@")),
    ("User.Update", 8, "admin", lambda t: dict(UserID=t.user.id, RelUserGroupID=999999)),
    ("User.Update", 9, "user", lambda t: dict(UserID=t.user.id, Language="??")),
    ("User.Update", 9, "admin", lambda t: dict(UserID=t.user.id, AccountStatus="Frozen")),
    ("User.Update", 9, "user", lambda t: dict(UserID=t.user.id, TimeZone="Nowhere/Land")),
    ("User.Get", 1, "admin", lambda t: {}),
    ("User.Get", 2, "admin", lambda t: dict(UserID="alice")),
    ("User.Get", 3, "admin", lambda t: dict(UserID=999999)),
    ("User.Get", 3, "admin", lambda t: dict(EmailAddress="nobody@example.com")),
    ("Users.Get", 1, "admin", lambda t: dict(OrderField="password_hash")),
    ("Users.Get", 1, "admin", lambda t: dict(OrderType="sideways")),
    ("Users.Get", 1, "admin", lambda t: dict(RelUserGroupID="Sleeping")),
    ("Users.Get", 1, "admin", lambda t: dict(SearchField="Password", SearchKeyword="a")),
    ("Users.Get", 1, "admin", lambda t: dict(RecordsFrom="-1")),
    ("Users.Get", 1, "admin", lambda t: dict(RecordsPerRequest="lots")),
    ("Users.Delete", 1, "admin", lambda t: {}),
    ("Users.Delete", 1, "admin", lambda t: dict(Users="1,two")),
    ("Users.Delete", 1, "admin", lambda t: dict(Users="999999")),
    ("UserGroup.Create", 1, "admin", lambda t: {}),
    ("UserGroup.Create", 1, "admin", lambda t: dict(GroupName=LONG)),
    ("UserGroup.Create", 5, "admin", lambda t: dict(GroupName="G", LimitSubscribers="-1")),
    ("UserGroup.Create", 6, "admin", lambda t: dict(GroupName="G", LimitLists="many")),
    ("UserGroup.Create", 7, "admin", lambda t: dict(GroupName="G", LimitCampaignSendPerPeriod="1.5")),
    ("UserGroup.Create", 17, "admin", lambda t: dict(GroupName="G", ForceUnsubscriptionLink="Maybe")),
    ("UserGroup.Create", 18, "admin", lambda t: dict(GroupName="G", ForceRejectOptLink="Sometimes")),
    ("UserGroup.Create", 20, "admin", lambda t: dict(GroupName="G", LimitEmailSendPerPeriod="x")),
    ("UserGroup.Create", 28, "admin", lambda t: dict(GroupName="G", AllowedSenderDomains="bank example")),
    ("UserGroup.Create", 26, "admin", lambda t: dict(GroupName="G", Permissions="Campaign.Creat")),
    ("UserGroup.Create", 26, "admin", lambda t: dict(GroupName="G", Permissions="*,Campaign.Get")),
    ("UserGroup.Create", 26, "admin", lambda t: dict(GroupName="G", Permissions="User.Create")),  # admin only
    ("UserGroup.Update", 1, "admin", lambda t: dict(UserGroupID=t.group(), GroupName=LONG)),
    ("UserGroup.Update", 5, "admin", lambda t: dict(UserGroupID=t.group(), LimitSubscribers="-5")),
    ("UserGroup.Update", 6, "admin", lambda t: dict(UserGroupID=t.group(), LimitLists="x")),
    ("UserGroup.Update", 7, "admin", lambda t: dict(UserGroupID=t.group(), LimitCampaignSendPerPeriod="x")),
    ("UserGroup.Update", 17, "admin", lambda t: dict(UserGroupID=t.group(), ForceUnsubscriptionLink="x")),
    ("UserGroup.Update", 18, "admin", lambda t: dict(UserGroupID=t.group(), ForceRejectOptLink="x")),
    ("UserGroup.Update", 20, "admin", lambda t: dict(GroupName="G")),
    ("UserGroup.Update", 21, "admin", lambda t: dict(UserGroupID=999999, GroupName="G")),
    ("UserGroup.Update", 21, "admin", lambda t: dict(UserGroupID="gold", GroupName="G")),
    ("UserGroup.Update", 26, "admin", lambda t: dict(UserGroupID=t.group(), Permissions="Lists.Gett")),
    ("UserGroup.Update", 27, "admin", lambda t: dict(UserGroupID=t.group(), LimitEmailSendPerPeriod="x")),
    ("UserGroup.Update", 28, "admin", lambda t: dict(UserGroupID=t.group(), AllowedSenderDomains="ok.example,*.x")),
    ("UserGroup.Get", 1, "admin", lambda t: {}),
    ("UserGroup.Get", 2, "admin", lambda t: dict(UserGroupID=999999)),
    ("UserGroup.Get", 2, "admin", lambda t: dict(UserGroupID="gold")),
    ("UserGroup.Duplicate", 1, "admin", lambda t: {}),
    ("UserGroup.Duplicate", 2, "admin", lambda t: dict(UserGroupID=999999)),
    ("UserGroup.Delete", 1, "admin", lambda t: {}),
    ("UserGroup.Delete", 1, "admin", lambda t: dict(UserGroupID="1,x")),
    ("UserGroup.Delete", 2, "admin", lambda t: dict(UserGroupID=f"{t.group()},999999")),
    ("UserGroup.Delete", 3, "admin", lambda t: (t.user, dict(UserGroupID=default_group_id(t.engine)))[1]),
    ("UserGroup.Delete", 4, "admin", lambda t: dict(UserGroupID=f"{default_group_id(t.engine)},{t.group()}")),
    ("User.APIKey.Create", 1, "user", lambda t: {}),
    ("User.APIKey.Create", 1, "user", lambda t: dict(Note=LONG)),
    ("User.APIKey.Create", 2, "user", lambda t: dict(Note="n", BoundIPAddress="999.1.1.1")),
    ("User.APIKey.Delete", 1, "user", lambda t: {}),
    ("User.APIKey.Delete", 2, "user", lambda t: dict(APIKeyID=999999)),
    ("User.APIKey.Delete", 2, "user", lambda t: dict(APIKeyID="abc")),
    ("User.APIKey.Delete", 2, "user", lambda t: dict(APIKeyID=t.key(t.other_user))),
    ("Admin.APIKey.Create", 1, "admin", lambda t: {}),
    ("Admin.APIKey.Create", 2, "admin", lambda t: dict(Note="n", BoundIPAddress="localhost")),
    ("Admin.APIKey.Delete", 1, "admin", lambda t: {}),
    ("Admin.APIKey.Delete", 2, "admin", lambda t: dict(APIKeyID=t.key(t.user))),
]


@pytest.mark.parametrize("command,code,caller,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _, _) in enumerate(ERROR_CASES)])
def test_documented_code(request, api, admin, engine, command, code, caller, params):
    t = Ctx(request, api, admin, engine)
    values = {k: v for k, v in params(t).items() if k != "_"}
    session = admin.session if caller == "admin" else t.user.session
    before = stored_state(engine)
    answer = api(command, session, **values)
    assert answer["Success"] is False and answer["ErrorCode"] == shaped(command, code), answer
    assert stored_state(engine) == before  # a refused command changes nothing
    text = answer[COMMANDS[command.lower()].error_text_key]
    assert text and (isinstance(text, str) or len(text) == 1)


def test_every_documented_code_has_a_case():
    for command in FAMILY:
        covered = {code for name, code, _, _ in ERROR_CASES if name == command.name}
        assert covered == set(command.errors), command.name


@pytest.mark.parametrize("command", [c.name for c in FAMILY])
def test_credentials_are_required(api, engine, command):
    before = stored_state(engine)
    answer = api(command, UserID=1, UserGroupID=1, Users="1", GroupName="G", Note="n", APIKeyID=1)
    assert answer == {"Success": False, "ErrorCode": 99998, "ErrorText": answer["ErrorText"]}
    assert stored_state(engine) == before


ADMIN_ONLY = [c.name for c in account_commands.COMMANDS if c.auth == "admin"]


@pytest.mark.parametrize("command", ADMIN_ONLY)
def test_users_cannot_call_admin_commands(api, user, engine, command):
    groups_before = count(engine, UserGroup)
    params = new_user_params(engine)
    before = stored_state(engine)
    answer = api(command, user.session, UserID=user.id, UserGroupID=1, Users=str(user.id), GroupName="G",
                 **params)
    assert answer["ErrorCode"] == 99999
    assert load_user(engine, user.id) is not None and count(engine, UserGroup) == groups_before
    assert stored_state(engine) == before


def test_users_made_by_the_engine_can_be_placed_in_a_group(api, admin, engine):
    group_id = new_group(api, admin, Permissions="Campaign.Create")
    account = make_user(engine, api, "zed", group_id=group_id)
    assert load_user(engine, account.id).group_id == group_id
    assert api("Campaign.Create", account.session, CampaignName="x")["Success"] is True
    assert count(engine, Campaign, Campaign.owner_user_id == account.id) == 1
    assert api("Campaigns.Get", account.session)["ErrorCode"] == 99999
