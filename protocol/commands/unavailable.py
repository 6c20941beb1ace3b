"""Commands of the Oempro 4 manual that Sendmill answers with a clear refusal instead of "unknown command".

The two generated PHP wrappers (madscience/oempro-api, Bendells/OemPro-Php; legacy-clients.md tier 4) expose
every command of the old manual. These ones need something Sendmill does not have — client sub-accounts,
a media library, UI themes, PreviewMyEmail.com or SpamAssassin, the ESP billing module, installation-wide
settings edited over the API — so they answer code 99997, Oempro's own code for "not available on this
installation" (the wrappers' User.PaymentPeriods table: "This is not an ESP Oempro license"), with the reason
in ErrorText. Nothing is read or written. README "Legacy PHP wrappers" lists them.
"""
from __future__ import annotations

from engine.errors import FeatureUnavailable
from protocol.command import ADMIN, ANY, PUBLIC, SCALAR, Command, Context

UNAVAILABLE = 99997

# reason → (who may call: as the manual says, so a user still learns 99999 for an admin command) → names
REASONS = {
    "Client accounts (Oempro 4 sub-accounts) do not exist in Sendmill; use users and user groups": (PUBLIC, (
        "Client.Login", "Client.PasswordRemind", "Client.PasswordReset")),
    "Client accounts (Oempro 4 sub-accounts) do not exist in Sendmill; use users and user groups ": (ANY, (
        "Client.Create", "Client.Update",
        "Clients.Get", "Clients.Delete", "Client.AssignCampaigns", "Client.AssignSubscriberList",
        "Client.AssignSubscriberLists", "Client.Lists.Get", "Client.List.Get")),
    "Sendmill has no media library; host images elsewhere and link them from the HTML": (ANY, (
        "Media.Upload", "Media.Browse", "Media.Retrieve", "Media.Delete")),
    "Sendmill has no user-interface themes": (ADMIN, (
        "Theme.Create", "Theme.Get", "Theme.Update", "Theme.Delete", "Themes.Get")),
    "Design previews need the PreviewMyEmail.com service, which Sendmill does not use; "
    "send a test with Email.EmailPreview instead": (ANY, (
        "Email.DesignPreview.Create", "Email.DesignPreview.Delete", "Email.DesignPreview.GetList",
        "Email.DesignPreview.Details", "Email.DesignPreview.GetCredits")),
    "Spam filter tests need an external SpamAssassin service, which Sendmill does not run": (ANY, (
        "Email.SpamTest",)),
    "Installation settings are set by SENDMILL_* environment variables, not over the API "
    "(README Configuration)": (ADMIN, ("Settings.Update", "Settings.EmailSendingTest")),
    "Sendmill has no billing module (credits and payment periods of ESP licenses); "
    "quotas are the user group's and the email account's limits": (ADMIN, (
        "User.AddCredits", "User.PaymentPeriods", "User.PaymentPeriods.Update")),
}


def _refuse(reason: str):
    def run(ctx: Context, p: dict) -> dict:
        raise FeatureUnavailable(reason)
    return run


COMMANDS = tuple(
    Command(name=name, run=_refuse(reason), auth=auth, permission="", error_shape=SCALAR, read_only=True,
            errors={UNAVAILABLE: reason}, raises={FeatureUnavailable: UNAVAILABLE})
    for reason, (auth, names) in REASONS.items() for name in names)
