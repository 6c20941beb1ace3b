"""How sender emails, sender details and the email-marketing account look on the wire (REST and /api.php)."""
from __future__ import annotations

from datetime import datetime

from engine.accounts.email_account import AccountDetails
from engine.models.senders import SenderDetails, SenderEmail
from engine.senders.sender_emails import Page, entity, iso
from engine.senders.identity import SenderAddress

LEGACY_FORMAT = "%Y-%m-%d %H:%M:%S"


def _legacy_time(moment: datetime | None) -> str:
    return moment.strftime(LEGACY_FORMAT) if moment else ""


# --- REST (modern field names) --------------------------------------------------------------------
def sender_email(row: SenderEmail) -> dict:
    return {"senderEmail": entity(row)}


def sender_email_page(page: Page) -> dict:
    cursors = {"next": page.next_cursor} if page.next_cursor else {}
    return {"pagingMetadata": {"count": len(page.items), "cursors": cursors, "hasNext": page.next_cursor is not None},
            "senderEmails": [entity(row) for row in page.items]}


def account_details(d: AccountDetails) -> dict:
    return {"accountDetails": {
        "status": d.status,
        "package": {"id": d.package_id, "group": d.package_group,
                    "monthlyQuotaAllocation": {"campaigns": d.monthly_campaigns, "emails": d.monthly_emails}},
        "quotaPeriod": {"dateFrom": iso(d.period_from), "dateTo": iso(d.period_to),
                        "quotaUsage": {"campaigns": d.campaigns_used, "emails": d.emails_used}},
    }}


def sender_details(row: SenderDetails | None, verified_at: datetime | None) -> dict:
    return {"senderDetails": {"fromName": row.from_name if row else "", "fromEmail": row.from_email if row else "",
                              "dateVerified": iso(verified_at)}}


def sender_address(identity: SenderAddress) -> dict:
    return {"senderAddress": identity.from_address}


# --- /api.php (legacy style) -------------------------------------------------------------------------
def legacy_sender_email(row: SenderEmail) -> dict:
    return {"SenderEmailID": row.id, "EmailAddress": row.email_address, "Verified": bool(row.verified),
            "VerifiedAt": _legacy_time(row.verified_at), "CreatedAt": _legacy_time(row.created_at),
            "UpdatedAt": _legacy_time(row.updated_at)}


def legacy_sender_email_page(page: Page) -> dict:
    return {"SenderEmails": [legacy_sender_email(row) for row in page.items], "Count": len(page.items),
            "HasNext": page.next_cursor is not None, "NextCursor": page.next_cursor or ""}


def legacy_account(d: AccountDetails) -> dict:
    return {"EmailAccount": {
        "UserID": d.user_id, "Status": d.status, "PackageID": d.package_id, "PackageGroup": d.package_group,
        "MonthlyCampaignQuota": d.monthly_campaigns, "MonthlyEmailQuota": d.monthly_emails,
        "CampaignsUsed": d.campaigns_used, "EmailsUsed": d.emails_used,
        "PeriodFrom": _legacy_time(d.period_from), "PeriodTo": _legacy_time(d.period_to),
    }}


def legacy_sender_details(row: SenderDetails | None, verified_at: datetime | None) -> dict:
    return {"SenderDetails": {"FromName": row.from_name if row else "", "FromEmail": row.from_email if row else "",
                              "Verified": verified_at is not None, "DateVerified": _legacy_time(verified_at)}}


def legacy_sender_address(identity: SenderAddress) -> dict:
    return {"SenderAddress": identity.from_address, "ReplyTo": identity.reply_to, "Replaced": identity.replaced,
            "Reason": identity.reason}
