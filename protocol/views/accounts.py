"""How users and administrators look on the wire."""
from __future__ import annotations

from engine.models import Admin, User


def user_info(user: User) -> dict:
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
        "Password": "****** masked ******",
        "GroupInformation": {
            "UserGroupID": user.group.id,
            "GroupName": user.group.name,
            "Permissions": user.group.permissions,
        },
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
