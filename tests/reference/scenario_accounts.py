"""Example calls: the administrator's first steps, user groups, users, API keys, the user's session.

Names the later steps use: ADMIN and SID (the administrator's and alice's sessions), USER_ID, GROUP_ID.
"""
from __future__ import annotations

from tests.reference.recorder import Call, Hook

ADMIN_PASSWORD = "admin-pass-1"
# base64 of https://app.example/reset?token=%PasswordResetToken%
RESET_LINK = "aHR0cHM6Ly9hcHAuZXhhbXBsZS9yZXNldD90b2tlbj0lUGFzc3dvcmRSZXNldFRva2VuJQ=="
ALICE = {"Username": "alice", "Password": "s3cret-pass", "EmailAddress": "alice@example.com"}


def first_administrator(recording) -> dict:
    """What `sendmill up` does on a new installation: the default group and the administrator."""
    with recording.engine.uow() as uow:
        uow.accounts.ensure_default_group()
        uow.accounts.create_admin("admin", ADMIN_PASSWORD)
        uow.commit()
    return {"SENDMILL_ADMIN_PASSWORD": ADMIN_PASSWORD}


def authenticator_code(recording) -> dict:
    """What the user's authenticator app shows now for the secret User.TwoFactor.Setup gave."""
    import pyotp

    return {"TFA_CODE": pyotp.TOTP(recording.values["TFA_SECRET"]).at(recording.engine.clock())}


def a(command: str, params: dict | None = None, **kwargs) -> Call:
    """A call by the administrator."""
    return Call(command, params or {}, session="ADMIN", **kwargs)


STEPS = [
    Hook(first_administrator, hide=("SENDMILL_ADMIN_PASSWORD",)),
    Call("Admin.Login", {"Username": "admin", "Password": "{SENDMILL_ADMIN_PASSWORD}"}, session=None,
         hide={"ADMIN": "SessionID"}, save={"ADMIN_ID": "AdminInfo.AdminID"}),
    a("Admin.Update", {"AdminID": "{ADMIN_ID}", "Name": "Site Administrator", "Username": "admin",
                       "EmailAddress": "postmaster@example.com"}),
    a("UserGroups.Get", save={"DEFAULT_GROUP_ID": "UserGroups.0.UserGroupID"}),
    a("UserGroup.Create", {"GroupName": "Newsletter senders", "Permissions": "*", "LimitSubscribers": "5000",
                           "LimitLists": "10"}, save={"GROUP_ID": "UserGroupID"}),
    a("UserGroup.Get", {"UserGroupID": "{GROUP_ID}"}),
    # Its users may send From the company's domain (README "From addresses"); the emails use it.
    a("UserGroup.Update", {"UserGroupID": "{GROUP_ID}", "LimitLists": "20", "ForceUnsubscriptionLink": "Enabled",
                           "AllowedSenderDomains": "doe-trading.example"}),
    a("UserGroup.Duplicate", {"UserGroupID": "{GROUP_ID}"}, save={"GROUP_COPY_ID": "UserGroupID"}),
    a("UserGroup.Delete", {"UserGroupID": "{GROUP_COPY_ID}"}),
    a("User.Create", {"RelUserGroupID": "{GROUP_ID}", **ALICE, "FirstName": "Alice", "LastName": "Doe",
                      "TimeZone": "Europe/Berlin", "Language": "en"}, save={"USER_ID": "UserID"}),
    a("User.Create", {"RelUserGroupID": "{DEFAULT_GROUP_ID}", "Username": "bob", "Password": "another-pass",
                      "EmailAddress": "bob@example.com", "FirstName": "Bob", "TimeZone": "UTC", "Language": "en"},
      save={"BOB_ID": "UserID"}, setup=True),
    a("User.Get", {"UserID": "{USER_ID}"}),
    a("User.Update", {"UserID": "{USER_ID}", "CompanyName": "Doe Trading"}),
    a("Users.Get", {"RecordsPerRequest": "10", "OrderField": "Username"}),
    a("Users.Status", {"Duration": "30"}),
    # Lost passwords: anyone may ask (the answer is the same for an unknown address); the token is mailed.
    Call("User.PasswordRemind", {"EmailAddress": "bob@example.com"}, session=None),
    # A client application with the administrator's key gets the token back and has its own link mailed.
    a("User.PasswordRemind", {"EmailAddress": "bob@example.com", "ReturnParams": "true",
                              "CustomResetLink": RESET_LINK}, hide={"RESET_TOKEN": "PasswordResetToken"}),
    Call("User.PasswordReset", {"UserID": "{RESET_TOKEN}", "NewPassword": "bobs-new-pass"}, session=None),
    Call("User.PasswordReset", {"UserID": "{RESET_TOKEN}", "NewPassword": "once-more-pass"}, session=None,
         expect=2, note="a token works once: the reset changed the password it was signed with"),
    Call("Admin.PasswordRemind", {"EmailAddress": "postmaster@example.com"}, session=None),
    Call("Admin.PasswordReset", {"AdminID": "{RESET_TOKEN}", "NewPassword": "admin-new-pass"}, session=None,
         expect=2, note="a user's token is no administrator's"),
    a("Users.Delete", {"Users": "{BOB_ID}"}),
    a("User.EmailAccount.Update", {"UserID": "{USER_ID}", "MonthlyEmailQuota": "50000"}),
    a("User.EmailAccount.Get", {"UserID": "{USER_ID}"}),
    a("Admin.APIKey.Create", {"Note": "billing integration"}, save={"ADMIN_KEY_ID": "APIKeyID"},
      hide={"ADMIN_API_KEY": "APIKey.Key", "ADMIN_KEY_PREFIX": "APIKey.KeyPrefix"}),
    a("Admin.APIKey.List"),
    a("Admin.APIKey.Delete", {"APIKeyID": "{ADMIN_KEY_ID}"}),

    Call("User.Login", {"Username": ALICE["Username"], "Password": ALICE["Password"]}, session=None,
         hide={"SID": "SessionID"}),
    Call("User.Current"),
    # Two-factor login: the secret goes into an authenticator app; its code turns it on. An administrator
    # turns it off for a user who lost the device (the user would send a current TFACode instead).
    Call("User.TwoFactor.Setup", hide={"TFA_SECRET": "MFA_SecretKey"}),
    Hook(authenticator_code, hide=("TFA_CODE",)),
    Call("User.TwoFactor.Enable", {"TFACode": "{TFA_CODE}"}),
    a("User.TwoFactor.Disable", {"UserID": "{USER_ID}"}),
    Call("User.APIKey.Create", {"Note": "CRM sync", "BoundIPAddress": "127.0.0.1"}, save={"KEY_ID": "APIKeyID"},
         hide={"API_KEY": "APIKey.Key", "KEY_PREFIX": "APIKey.KeyPrefix"}),
    Call("User.APIKey.List"),
    Call("User.APIKey.Delete", {"APIKeyID": "{KEY_ID}"}),
]

# Last: the sessions end.
CLOSING = [
    Call("User.Logout"),
    a("Admin.Logout"),
]
