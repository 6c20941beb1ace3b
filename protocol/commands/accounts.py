"""Users and user groups (v5.7.3/api-reference/users.md; api-reference/users.md; protocol.md §2, §3.7).

Administrators create groups and users over the protocol; users read and edit their own profile.
Error shapes follow protocol.md §1.6: User.Update and Users.Get answer scalars, Users.Delete the
keyed `{"users": 1}` form, everything else lists. Codes the legacy tables lack are marked as
Sendmill's additions.
"""
from __future__ import annotations

import re

from marshmallow import ValidationError, validates_schema

from engine.accounts.users import ACCOUNT_STATUSES, REPUTATION_LEVELS, USER_STATUS_FILTERS, UserQuery
from engine.errors import (
    AlreadyExists, EmailTaken, InvalidValue, LastUserGroup, NotAccountOwner, UserGroupInUse,
    UserGroupNotFound, UsernameTaken, UserNotFound,
)
from engine.senders.policy import MAX_DOMAINS_TEXT, parse_domains
from protocol.command import ADMIN, ANY, KEYED, REQUIRED_PERMISSIONS, SCALAR, USER, Command, Context
from protocol.params import Choice, Id, IdList, Int, LegacyField, LegacySchema, ParamError, Text
from protocol.schedule_params import TimeZoneField
from protocol.views.accounts import current_user_info, group_info, limit_utilization, user_info
from engine.validation import as_id

OK = {"ErrorText": ""}

# Permission names the legacy documentation uses for commands Sendmill may not implement (yet);
# group definitions copied from a legacy installation carry them (protocol.md §2.6).
LEGACY_PERMISSIONS = (
    "Campaign.Create", "Campaign.Update", "Campaign.Delete", "Campaign.Get", "Campaigns.Get", "List.Create",
    "List.Update", "List.Delete", "List.Get", "Lists.Get", "Subscribers.Get", "Subscriber.Update",
    "Subscribers.Delete", "Subscribers.Import", "CustomField.Create", "CustomField.Update", "CustomFields.Get",
    "CustomFields.Delete", "Segment.Create", "Segment.Update", "Segments.Get", "Segments.Delete",
    "AutoResponder.Create", "AutoResponder.Update", "AutoResponder.Get", "AutoResponders.Get",
    "AutoResponders.Delete", "Email.SpamTest", "Email.DesignPreview", "EmailTemplates.Manage", "Media.Upload",
    "Media.Browse", "Media.Retrieve", "Media.Delete", "Client.Create", "Client.Update", "Clients.Get",
    "Clients.Delete", "User.Update", "EmailGateway.AddDomain", "EmailGateway.ManageDomain",
)


def known_permissions() -> dict[str, str]:
    """Lower-case name → canonical spelling: the legacy names, plus what users' commands require
    (REQUIRED_PERMISSIONS, filled by the registry)."""
    return {**REQUIRED_PERMISSIONS, **{p.lower(): p for p in LEGACY_PERMISSIONS}}


# --- parameter types ---------------------------------------------------------------------------
class PermissionList(LegacyField):
    """`Campaign.Create,Campaigns.Get` (any case, spaces allowed) or `*`; stored canonically."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        names = [str(item).strip() for item in self._list_items(value) if str(item).strip()]
        if names == ["*"]:
            return "*"
        known = known_permissions()
        canonical: dict[str, None] = {}  # an ordered set
        for name in names:
            if name.lower() not in known:
                raise ValidationError(f"unknown permission '{name[:80]}'"
                                      + (" ('*' must stand alone)" if name == "*" else ""))
            canonical[known[name.lower()]] = None
        return ",".join(canonical)


class LanguageCode(LegacyField):
    """A language code such as `en` or `pt-BR`."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._scalar_text(value).strip()
        if not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?", text):
            raise ValidationError(f"'{text}' is not a language code such as 'en' or 'pt-BR'")
        return text


class UserFilter(LegacyField):
    """Users.Get's RelUserGroupID: group IDs (comma list or array) or Online/Enabled/Disabled/
    Trusted/Untrusted. Returns ("status", name) or ("groups", ids); 0 means every group."""

    def _deserialize(self, value, attr, data, **kwargs):
        texts = [str(item).strip() for item in self._list_items(value) if str(item).strip()]
        statuses = {s.lower(): s for s in USER_STATUS_FILTERS}
        if len(texts) == 1 and texts[0].lower() in statuses:
            return ("status", statuses[texts[0].lower()])
        if not all(re.fullmatch(r"\d{1,18}", t) for t in texts):
            raise ValidationError(f"must be group IDs or one of {', '.join(USER_STATUS_FILTERS)}")
        return ("groups", tuple(sorted({int(t) for t in texts if as_id(t) is not None})))


class SenderDomains(LegacyField):
    """AllowedSenderDomains: domain names (comma list or array), `*` for any, `none` for none."""

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[str, ...]:
        items = value if isinstance(value, list) else self._scalar_text(value).split(",")
        if [str(item).strip().lower() for item in items] == ["none"]:
            return ()
        if sum(len(str(item)) for item in items) > MAX_DOMAINS_TEXT:
            raise ValidationError(f"at most {MAX_DOMAINS_TEXT} characters of domain names")
        try:
            return parse_domains([str(item) for item in items])
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def Limit(code: int) -> Int:
    return Int(min_value=0, max_value=2**31 - 1, code=code)


def Flag(code: int) -> Choice:
    return Choice(("Enabled", "Disabled"), code=code, aliases={
        "true": "Enabled", "1": "Enabled", "yes": "Enabled", "on": "Enabled",
        "false": "Disabled", "0": "Disabled", "no": "Disabled", "off": "Disabled"})


# --- users: wire names → engine names ---------------------------------------------------------------
USER_FIELDS = {
    "Username": "username", "EmailAddress": "email", "Password": "password", "FirstName": "first_name",
    "LastName": "last_name", "CompanyName": "company_name", "TimeZone": "time_zone", "Language": "language",
    "AccountStatus": "account_status", "ReputationLevel": "reputation_level", "RelUserGroupID": "group_id",
}


def _user_changes(p: dict) -> dict:
    return {USER_FIELDS[k]: v for k, v in p.items() if k in USER_FIELDS}


# --- User.Create (v5.7.3 user.create) ----------------------------------------------------------------
class CreateUserParams(LegacySchema):
    RelUserGroupID = Id(required=True, code=1, invalid_code=11)
    EmailAddress = Text(required=True, max_length=255, code=2, invalid_code=10)
    Username = Text(required=True, max_length=255, code=3, invalid_code=17)
    Password = Text(required=True, strip=False, max_length=1024, code=4, invalid_code=17)
    CompanyName = Text(max_length=255, code=17)
    FirstName = Text(max_length=255, code=17)
    LastName = Text(max_length=255, code=17)
    TimeZone = TimeZoneField(required=True, code=8)
    Language = LanguageCode(required=True, code=9, invalid_code=14)
    ReputationLevel = Choice(REPUTATION_LEVELS, code=15)
    AccountStatus = Choice(ACCOUNT_STATUSES, code=17)

    @validates_schema
    def a_name(self, data, **kwargs):
        if "CompanyName" not in data and "FirstName" not in data:
            raise ParamError(6)


def create_user(ctx: Context, p: dict) -> dict:
    changes = _user_changes(p)
    user = ctx.uow.accounts.create_user(username=changes.pop("username"), password=changes.pop("password"),
                                        email=changes.pop("email"), **changes)
    return {"UserID": user.id}


USER_CREATE = Command(
    name="User.Create", run=create_user, params=CreateUserParams, auth=ADMIN,
    errors={
        1: "Missing RelUserGroupID parameter", 2: "Missing EmailAddress parameter",
        3: "Missing Username parameter", 4: "Missing Password parameter",
        6: "Missing CompanyName or FirstName parameter", 8: "Missing TimeZone parameter",
        9: "Missing Language parameter", 10: "Invalid email address format", 11: "Invalid user group ID",
        12: "Username already exists", 13: "Email address already exists", 14: "Invalid language code",
        15: "Invalid reputation level (must be 'Trusted' or 'Untrusted')",
        17: "Invalid parameter value",  # Sendmill's addition: too long, or an unknown AccountStatus
    },
    raises={InvalidValue: 10, UserGroupNotFound: 11, UsernameTaken: 12, EmailTaken: 13},
)


# --- User.Update --------------------------------------------------------------------------------------
class UpdateUserParams(LegacySchema):
    UserID = Id(required=True, code=1)
    EmailAddress = Text(max_length=255, code=7)
    RelUserGroupID = Id(code=8)
    Username = Text(max_length=255, code=9)
    Password = Text(strip=False, max_length=1024, code=9)
    FirstName = Text(max_length=255, code=9)
    LastName = Text(max_length=255, code=9)
    CompanyName = Text(max_length=255, code=9)
    TimeZone = TimeZoneField(code=9)
    Language = LanguageCode(code=9)
    AccountStatus = Choice(ACCOUNT_STATUSES, code=9)
    ReputationLevel = Choice(REPUTATION_LEVELS, code=9)


def update_user(ctx: Context, p: dict) -> dict:
    ctx.uow.accounts.update_user(ctx.actor, p["UserID"], _user_changes(p))
    return {}


USER_UPDATE = Command(
    name="User.Update", run=update_user, params=UpdateUserParams, auth=ANY, error_shape=SCALAR,
    success_extra=OK,
    errors={
        1: "Missing UserID parameter", 2: "User can only update their own account", 5: "User not found",
        6: "Email address or username already exists",
        # Sendmill's additions: the legacy table has no code for these.
        7: "Invalid email address format", 8: "Invalid user group ID", 9: "Invalid parameter value",
    },
    raises={NotAccountOwner: 2, UserNotFound: 5, AlreadyExists: 6, InvalidValue: 7, UserGroupNotFound: 8},
)


# --- User.Get / User.Current ------------------------------------------------------------------------
class GetUserParams(LegacySchema):
    UserID = Id(code=2)
    EmailAddress = Text(max_length=255, code=1)

    @validates_schema
    def one_key(self, data, **kwargs):
        if "UserID" not in data and "EmailAddress" not in data:
            raise ParamError(1)


def get_user(ctx: Context, p: dict) -> dict:
    accounts = ctx.uow.accounts
    user = accounts.get_user(p["UserID"]) if "UserID" in p else accounts.find_user_by_email(p["EmailAddress"])
    return {"UserInformation": user_info(user),
            "LimitUtilization": limit_utilization(user.group, accounts.usage(user.id))}


USER_GET = Command(
    name="User.Get", run=get_user, params=GetUserParams, auth=ADMIN,
    errors={1: "EmailAddress is required when UserID is not provided.",
            2: "UserID is required when EmailAddress is not provided.",
            3: "User not found with the provided information."},
    raises={UserNotFound: 3},
)


def current_user(ctx: Context, p: dict) -> dict:
    return {"UserInfo": current_user_info(ctx.uow.accounts.get_user(ctx.actor.id))}


USER_CURRENT = Command(name="User.Current", run=current_user, auth=USER, permission="", error_shape=SCALAR,
                       error_text_key="ErrorMessage")


# --- Users.Get ----------------------------------------------------------------------------------------
ORDER_FIELDS = {
    "UserID": "id", "Username": "username", "EmailAddress": "email_address", "FirstName": "first_name",
    "LastName": "last_name", "CompanyName": "company_name", "AccountStatus": "account_status",
    "ReputationLevel": "reputation_level", "RelUserGroupID": "group_id", "UserSince": "created_at",
    "LastActivityDateTime": "last_activity_at",
}
SEARCH_FIELDS = {"Username": "username", "EmailAddress": "email_address", "FirstName": "first_name",
                 "LastName": "last_name", "CompanyName": "company_name"}


class ListUsersParams(LegacySchema):
    RecordsPerRequest = Int(min_value=0, max_value=1000, code=1)
    RecordsFrom = Int(min_value=0, code=1)
    RelUserGroupID = UserFilter(code=1)
    OrderField = Choice(tuple(ORDER_FIELDS), code=1)
    OrderType = Choice(("ASC", "DESC"), code=1)
    SearchField = Choice(tuple(SEARCH_FIELDS), code=1)
    SearchKeyword = Text(max_length=255, code=1)


def list_users(ctx: Context, p: dict) -> dict:
    kind, value = p.get("RelUserGroupID", ("groups", ()))
    query = UserQuery(
        group_ids=value if kind == "groups" else (), status=value if kind == "status" else None,
        keyword=p.get("SearchKeyword"), search_field=SEARCH_FIELDS.get(p.get("SearchField")),
        order_field=ORDER_FIELDS[p.get("OrderField", "UserID")], descending=p.get("OrderType") == "DESC",
        offset=p.get("RecordsFrom", 0), limit=p.get("RecordsPerRequest") or 25,
    )
    users, total = ctx.uow.accounts.search_users(query)
    return {"Users": [user_info(u) for u in users], "TotalUsers": total}


USERS_GET = Command(
    name="Users.Get", run=list_users, params=ListUsersParams, auth=ADMIN, error_shape=SCALAR,
    error_text_key="ErrorMessage", errors={1: "An error occurred while retrieving the user list."},
)


# --- Users.Delete -------------------------------------------------------------------------------------
class DeleteUsersParams(LegacySchema):
    Users = IdList(required=True, code=1)


def delete_users(ctx: Context, p: dict) -> dict:
    ctx.uow.accounts.delete_users(p["Users"])
    return {}


USERS_DELETE = Command(
    name="Users.Delete", run=delete_users, params=DeleteUsersParams, auth=ADMIN, error_shape=KEYED,
    error_keys={1: "users"}, success_extra=OK,
    errors={1: "Missing or invalid Users parameter"}, raises={UserNotFound: 1},
)


# --- user groups (v5.7.3 usergroup.*) -----------------------------------------------------------------
GROUP_FIELDS = {
    "GroupName": "name", "Permissions": "permissions", "LimitSubscribers": "limit_subscribers",
    "LimitLists": "limit_lists", "LimitCampaignSendPerPeriod": "limit_campaign_send_per_period",
    "LimitEmailSendPerPeriod": "limit_email_send_per_period", "AllowedSenderDomains": "allowed_sender_domains",
}
FLAG_FIELDS = {"ForceUnsubscriptionLink": "force_unsubscription_link", "ForceRejectOptLink": "force_reject_opt_link"}


def _group_settings(p: dict) -> dict:
    settings = {GROUP_FIELDS[k]: v for k, v in p.items() if k in GROUP_FIELDS}
    settings.update({FLAG_FIELDS[k]: v == "Enabled" for k, v in p.items() if k in FLAG_FIELDS})
    return settings


SENDER_DOMAINS_CODE = 28


class GroupSettings(LegacySchema):
    # SubscriberAreaLogoutURL, LimitEmailSendPerDay and RelThemeID (required by the v5.7.3 table) are
    # accepted and ignored: Sendmill has no subscriber area, daily quota or themes. Limits that are
    # left out mean 0 (unlimited) on create and "unchanged" on update (protocol.md §8.3).
    GroupName = Text(max_length=255, code=1)
    Permissions = PermissionList(code=26)
    LimitSubscribers = Limit(5)
    LimitLists = Limit(6)
    LimitCampaignSendPerPeriod = Limit(7)
    ForceUnsubscriptionLink = Flag(17)
    ForceRejectOptLink = Flag(18)
    AllowedSenderDomains = SenderDomains(code=SENDER_DOMAINS_CODE)


GROUP_SETTING_ERRORS = {
    1: "Missing GroupName parameter", 5: "Invalid LimitSubscribers parameter", 6: "Invalid LimitLists parameter",
    7: "Invalid LimitCampaignSendPerPeriod parameter", 17: "Invalid ForceUnsubscriptionLink parameter",
    18: "Invalid ForceRejectOptLink parameter",
    # Sendmill's addition: From domains the group's accounts may send as (README "From addresses").
    SENDER_DOMAINS_CODE: "Invalid AllowedSenderDomains parameter (domain names, * or none)",
}
PERMISSION_ERROR = "Invalid Permissions parameter"  # Sendmill's addition


class CreateGroupParams(GroupSettings):
    GroupName = Text(required=True, max_length=255, code=1)
    LimitEmailSendPerPeriod = Limit(20)


def create_group(ctx: Context, p: dict) -> dict:
    settings = _group_settings(p)
    return {"UserGroupID": ctx.uow.accounts.create_group(settings.pop("name"), **settings).id}


USERGROUP_CREATE = Command(
    name="UserGroup.Create", run=create_group, params=CreateGroupParams, auth=ADMIN,
    errors={**GROUP_SETTING_ERRORS, 20: "Invalid LimitEmailSendPerPeriod parameter", 26: PERMISSION_ERROR},
    raises={InvalidValue: SENDER_DOMAINS_CODE},
)


class UpdateGroupParams(GroupSettings):
    UserGroupID = Id(required=True, code=20, invalid_code=21)
    LimitEmailSendPerPeriod = Limit(27)


def update_group(ctx: Context, p: dict) -> dict:
    ctx.uow.accounts.update_group(p["UserGroupID"], _group_settings(p))
    return {}


USERGROUP_UPDATE = Command(
    name="UserGroup.Update", run=update_group, params=UpdateGroupParams, auth=ADMIN,
    errors={**GROUP_SETTING_ERRORS, 20: "Missing UserGroupID parameter", 21: "User group not found",
            26: PERMISSION_ERROR, 27: "Invalid LimitEmailSendPerPeriod parameter"},  # 27: Sendmill's addition
    raises={UserGroupNotFound: 21, InvalidValue: SENDER_DOMAINS_CODE},
)


class OneGroupParams(LegacySchema):
    UserGroupID = Id(required=True, code=1, invalid_code=2)


ONE_GROUP_ERRORS = {1: "Missing UserGroupID parameter", 2: "User group not found"}


def get_group(ctx: Context, p: dict) -> dict:
    return {"UserGroup": group_info(ctx.uow.accounts.get_group(p["UserGroupID"]))}


USERGROUP_GET = Command(name="UserGroup.Get", run=get_group, params=OneGroupParams, auth=ADMIN,
                        errors=ONE_GROUP_ERRORS, raises={UserGroupNotFound: 2})


def duplicate_group(ctx: Context, p: dict) -> dict:
    return {"UserGroupID": ctx.uow.accounts.duplicate_group(p["UserGroupID"]).id}


USERGROUP_DUPLICATE = Command(name="UserGroup.Duplicate", run=duplicate_group, params=OneGroupParams,
                              auth=ADMIN, errors=ONE_GROUP_ERRORS, raises={UserGroupNotFound: 2})


class DeleteGroupsParams(LegacySchema):
    UserGroupID = IdList(required=True, code=1)


def delete_groups(ctx: Context, p: dict) -> dict:
    ctx.uow.accounts.delete_groups(p["UserGroupID"])
    return {}


USERGROUP_DELETE = Command(
    name="UserGroup.Delete", run=delete_groups, params=DeleteGroupsParams, auth=ADMIN,
    errors={1: "Missing UserGroupID parameter",
            # Sendmill's additions: deleting must not orphan users or pass over unknown IDs.
            2: "User group not found", 3: "The user group still has users; move them to another group first",
            4: "Cannot delete the last user group"},
    raises={UserGroupNotFound: 2, UserGroupInUse: 3, LastUserGroup: 4},
)


def list_groups(ctx: Context, p: dict) -> dict:
    return {"UserGroups": [group_info(g) for g in ctx.uow.accounts.list_groups()]}


USERGROUPS_GET = Command(name="UserGroups.Get", run=list_groups, auth=ADMIN)

COMMANDS = (
    USER_CREATE, USER_CURRENT, USER_GET, USER_UPDATE, USERS_DELETE, USERS_GET,
    USERGROUP_CREATE, USERGROUP_DELETE, USERGROUP_DUPLICATE, USERGROUP_GET, USERGROUP_UPDATE, USERGROUPS_GET,
)
