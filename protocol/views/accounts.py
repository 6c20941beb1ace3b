"""How users, administrators, user groups and API keys look on the wire."""
from __future__ import annotations

from engine.models import Admin, ApiKey, User, UserGroup

MASKED_PASSWORD = "****** masked ******"


def _enabled(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


def group_info(group: UserGroup) -> dict:
    # Integers, as v5.7.3 usergroup.get / usergroups.get show them.
    return {
        "UserGroupID": group.id,
        "GroupName": group.name,
        "Permissions": group.permissions,
        "LimitSubscribers": group.limit_subscribers,
        "LimitLists": group.limit_lists,
        "LimitCampaignSendPerPeriod": group.limit_campaign_send_per_period,
        "LimitEmailSendPerPeriod": group.limit_email_send_per_period,
        "ForceUnsubscriptionLink": _enabled(group.force_unsubscription_link),
        "ForceRejectOptLink": _enabled(group.force_reject_opt_link),
        "AllowedSenderDomains": group.allowed_sender_domains,
    }


def _profile(user: User) -> dict:
    return {
        "UserID": user.id,
        "Username": user.username,
        "EmailAddress": user.email_address,
        "FirstName": user.first_name,
        "LastName": user.last_name,
        "CompanyName": user.company_name,
        "TimeZone": user.time_zone,
        "Language": user.language,
        "AccountStatus": user.account_status,
        "ReputationLevel": user.reputation_level,
        "RelUserGroupID": user.group_id,
        "UserSince": user.created_at,
        "LastActivityDateTime": user.last_activity_at or "",
        "Password": MASKED_PASSWORD,
    }


def user_info(user: User) -> dict:
    """User.Login's UserInfo, User.Get's UserInformation and a Users.Get row: `GroupInformation`."""
    return {**_profile(user), "GroupInformation": group_info(user.group)}


def current_group_info(group: UserGroup) -> dict:
    """v5.9.4 user.current's `GroupInfo`: the user-safe projection of the group, numbers as numeric
    strings and flags as Enabled/Disabled. Options Sendmill does not have answer what an absent option
    means there ("Disabled", "0" = unlimited, no plan, no default sender domain); the legacy
    SenderDomainManagement is Sendmill's AllowedSenderDomains (README "From addresses"), also shown."""
    return {
        "UserGroupID": str(group.id),
        "GroupName": group.name,
        "GroupPlanName": "",
        "DefaultSenderDomain": None,
        "Permissions": group.permissions,
        "ForceUnsubscriptionLink": _enabled(group.force_unsubscription_link),
        "ForceRejectOptLink": _enabled(group.force_reject_opt_link),
        "ForceOptInList": "Disabled",
        "LimitSubscribers": str(group.limit_subscribers),
        "LimitLists": str(group.limit_lists),
        "LimitCampaignSendPerPeriod": str(group.limit_campaign_send_per_period),
        "LimitCampaignSendPeriod": "Monthly",
        "LimitEmailSendPerPeriod": str(group.limit_email_send_per_period),
        "LimitEmailSendPerDay": "0",
        "LimitEmailSendPeriod": "Monthly",
        "LimitEmailSendLifetime": "0",
        "LimitEmailGatewaySenderDomains": "0",
        "SenderDomainManagement": _enabled(bool(group.allowed_sender_domains)),
        "EnableSenderInfo": "Disabled",
        "ForcedSenderInfo": "Disabled",
        "DefaultSenderDomainActivate": "Disabled",
        "AllowedSenderDomains": group.allowed_sender_domains,
    }


def current_user_info(user: User) -> dict:
    """User.Current's UserInfo: the same profile, its group under `GroupInfo` (v5.9.4 user.current)."""
    return {**_profile(user), "2FA_Enabled": "Yes" if user.tfa_enabled else "No",
            "GroupInfo": current_group_info(user.group)}


def limit_utilization(group: UserGroup, usage: dict[str, int]) -> dict:
    return {
        "Subscribers": {"Used": usage["subscribers"], "Limit": group.limit_subscribers},
        "Lists": {"Used": usage["lists"], "Limit": group.limit_lists},
    }


def admin_info(admin: Admin) -> dict:
    return {
        "AdminID": admin.id,
        "Username": admin.username,
        "Name": admin.name,
        "EmailAddress": admin.email_address,
        "CreatedOn": admin.created_at,
        "LastLoginOn": admin.last_login_at or "",
    }


def api_key_row(key: ApiKey) -> dict:
    """A listed key: never the key itself (only its digest is stored), but its first characters."""
    return {
        "APIKeyID": key.id,
        "Note": key.note,
        "KeyPrefix": key.key_prefix,
        "BoundIPAddress": key.bound_ip_address,
        "CreatedAt": key.created_at,
        "LastUsedAt": key.last_used_at or "",
        "LastUsedIP": key.last_used_ip,
        "RequestCount": key.request_count or 0,
    }


def new_api_key(token: str, key: ApiKey) -> dict:
    # v5.7.3 names the key "APIKey" inside the object, v5.7.x names it "Key": both are sent.
    return {
        "APIKeyID": key.id,
        "APIKey": {"APIKey": token, "Key": token, "Note": key.note, "BoundIPAddress": key.bound_ip_address,
                   "CreatedAt": key.created_at, "KeyPrefix": key.key_prefix},
    }
