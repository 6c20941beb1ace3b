"""The email-marketing account: status, monthly campaign and email quotas, and their usage.

Status uses the Account Details API's enum (ACTIVE, WARNED, SUSPENDED, BANNED, SUSPENDED_AUTOLIFT);
only ACTIVE may manage senders and send campaigns. A user without an account row is ACTIVE with the
quotas of their user group (LimitCampaignSendPerPeriod / LimitEmailSendPerPeriod, 0 = unlimited);
an administrator may set a status and per-user quotas (-1 = unlimited).

Usage is counted when a send instance starts (one campaign, and its ledger size in emails) into
counters tagged with the calendar month (UTC) they belong to. A new month starts at zero without any
job resetting anything, and deleting a campaign afterwards gives no quota back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from dateutil.relativedelta import relativedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.accounts.auth import Actor
from engine.errors import (
    AccountNotActive, CampaignAccountNotActive, CampaignQuotaExceeded, InvalidValue, QuotaExceeded, UserNotFound,
)
from engine.models import User
from engine.models.senders import ACCOUNT_STATUSES, EmailMarketingAccount

UNLIMITED = -1


@dataclass(frozen=True)
class AccountDetails:
    user_id: int
    status: str
    package_id: str
    package_group: str
    monthly_campaigns: int      # UNLIMITED or a count
    monthly_emails: int
    period_from: datetime
    period_to: datetime
    campaigns_used: int
    emails_used: int

    @property
    def campaigns_left(self) -> int | None:
        """None = unlimited."""
        return None if self.monthly_campaigns == UNLIMITED else max(self.monthly_campaigns - self.campaigns_used, 0)

    @property
    def emails_left(self) -> int | None:
        return None if self.monthly_emails == UNLIMITED else max(self.monthly_emails - self.emails_used, 0)


def month_window(now: datetime) -> tuple[datetime, datetime, str]:
    """The calendar month (UTC) containing `now`: its first instant, the next month's, and its key."""
    now = now.astimezone(timezone.utc)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, start + relativedelta(months=1), f"{start:%Y-%m}"


class EmailAccountService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- reading ---------------------------------------------------------------------------------
    def details(self, actor: Actor | int) -> AccountDetails:
        """The account of a user (an Actor or a user id): status, quotas and this month's usage."""
        user = self._user(actor)
        row = self.s.get(EmailMarketingAccount, user.id, populate_existing=True)
        start, end, key = month_window(self.uow.clock())
        used = row is not None and row.usage_month == key
        return AccountDetails(
            user_id=user.id, status=row.status if row else "ACTIVE",
            package_id=str(user.group_id), package_group=user.group.name if user.group else "",
            monthly_campaigns=_quota(row.monthly_campaigns if row else None, user.group.limit_campaign_send_per_period),
            monthly_emails=_quota(row.monthly_emails if row else None, user.group.limit_email_send_per_period),
            period_from=start, period_to=end,
            campaigns_used=row.campaigns_used if used else 0, emails_used=row.emails_used if used else 0)

    # --- the rules other services enforce ----------------------------------------------------------
    def require_active(self, actor: Actor | int, *, error: type[AccountNotActive] = AccountNotActive,
                       status: str | None = None) -> None:
        """AccountNotActive unless the user's account is ACTIVE. `status`: the one the caller's credentials
        were read with, in this transaction (AuthService.email_account_status)."""
        if not isinstance(actor, Actor) or actor.is_admin:
            status = self.details(actor).status
        elif status is None:
            # A resolved caller exists: its status is one column (no row yet: the default, ACTIVE).
            status = self.s.scalar(select(EmailMarketingAccount.status).where(
                EmailMarketingAccount.user_id == actor.id)) or "ACTIVE"
        if status != "ACTIVE":
            raise error(f"the email marketing account is {status}; only an ACTIVE account can do this")

    def require_quota(self, owner_user_id: int, campaigns: int = 1, emails: int = 0, *,
                      error: type[QuotaExceeded] = QuotaExceeded) -> AccountDetails:
        """QuotaExceeded unless this month's quota still has `campaigns` campaigns and `emails` emails."""
        details = self.details(owner_user_id)
        if details.campaigns_left is not None and campaigns > details.campaigns_left:
            raise error(f"the monthly campaign quota is used up ({details.campaigns_used} of "
                        f"{details.monthly_campaigns} this month)")
        if details.emails_left is not None and emails > details.emails_left:
            raise error(f"the monthly email quota does not cover {emails} more emails ({details.emails_used} of "
                        f"{details.monthly_emails} used this month)")
        return details

    def require_can_send(self, owner_user_id: int, emails: int = 1) -> None:
        """For a campaign about to be armed: ACTIVE and quota left, as campaign-status errors."""
        self.require_active(owner_user_id, error=CampaignAccountNotActive)
        self.require_quota(owner_user_id, campaigns=1, emails=emails, error=CampaignQuotaExceeded)

    def consume(self, owner_user_id: int, *, campaigns: int, emails: int) -> None:
        """Check and count a send instance that starts now (same transaction as the start)."""
        row = self._row(owner_user_id, for_update=True)  # serializes concurrent starts of one user
        self.require_active(owner_user_id)
        self.require_quota(owner_user_id, campaigns=campaigns, emails=emails)
        _, _, key = month_window(self.uow.clock())
        if row.usage_month != key:
            row.usage_month, row.campaigns_used, row.emails_used = key, 0, 0
        row.campaigns_used += campaigns
        row.emails_used += emails
        row.updated_at = self.uow.clock()
        self.s.flush()

    # --- administration ----------------------------------------------------------------------------
    def update(self, user_id: int, changes: dict) -> AccountDetails:
        """Set `status`, `monthly_campaigns`, `monthly_emails` (-1 = unlimited, None = the group's)."""
        self._user(user_id)
        row = self._row(user_id, for_update=True)
        if "status" in changes:
            if changes["status"] not in ACCOUNT_STATUSES:
                raise InvalidValue("Status", f"status must be one of {', '.join(ACCOUNT_STATUSES)}")
            row.status = changes["status"]
        for key in ("monthly_campaigns", "monthly_emails"):
            if key in changes:
                value = changes[key]
                if value is not None and (not isinstance(value, int) or value < UNLIMITED):
                    raise InvalidValue(key, f"{key} must be -1 (unlimited) or a count")
                setattr(row, key, value)
        row.updated_at = self.uow.clock()
        self.s.flush()
        return self.details(user_id)

    # --- internals ---------------------------------------------------------------------------------
    def _user(self, actor: Actor | int) -> User:
        user_id = actor if isinstance(actor, int) else actor.id
        if isinstance(actor, Actor) and actor.is_admin:
            raise UserNotFound("administrators have no email marketing account")
        user = self.s.get(User, user_id)
        if user is None:
            raise UserNotFound()
        return user

    def _row(self, user_id: int, *, for_update: bool = False) -> EmailMarketingAccount:
        """The account row, created with the defaults when the user has none yet."""
        query = select(EmailMarketingAccount).where(EmailMarketingAccount.user_id == user_id) \
            .execution_options(populate_existing=True)
        row = self.s.scalar(query.with_for_update() if for_update else query)
        if row is not None:
            return row
        try:
            with self.s.begin_nested():
                self.s.add(EmailMarketingAccount(user_id=user_id, status="ACTIVE", updated_at=self.uow.clock(),
                                                 usage_month="", campaigns_used=0, emails_used=0))
        except IntegrityError:
            pass  # created concurrently: use that one
        return self.s.scalar(query.with_for_update() if for_update else query)


def _quota(own: int | None, group_limit: int | None) -> int:
    if own is not None:
        return own
    return UNLIMITED if not group_limit else group_limit
