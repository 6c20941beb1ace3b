"""The modern Campaign API's statuses, derived from the legacy status machine.

The legacy status machine stays the one source of truth; the modern `status` / `visibilityStatus`
/ `distributionStatus` are derived from it (README "Modern campaign statuses"):

  legacy status                           visibilityStatus  distributionStatus
  Draft                                   DRAFT             NOT_STARTED
  Draft, PublishOnRSS=Enabled             PUBLISHED         NOT_STARTED   (landing page only)
  Draft, reason "Paused" (PauseScheduling) PUBLISHED        PAUSED
  Ready                                   PUBLISHED         SCHEDULED
  Pending Approval                        PUBLISHED         IN_MODERATION
  Sending                                 PUBLISHED         SENDING
  Paused                                  PUBLISHED         PAUSED
  Paused with a reason (account hold)     PUBLISHED         REJECTED
  Sent                                    PUBLISHED         DISTRIBUTED
  Sent, reason "Canceled"                 PUBLISHED         TERMINATED
  Failed                                  PUBLISHED         REJECTED
Every campaign that exists is `status` ACTIVE: deletion is permanent and nothing is archived.
"""
from __future__ import annotations

from sqlalchemy import and_, not_, or_

from engine.models import Campaign
from engine.models.campaigns import ACCOUNT_HOLD_REASONS

CAMPAIGN_STATUSES = ("UNKNOWN", "ACTIVE", "ARCHIVED", "DELETED")
VISIBILITY_STATUSES = ("UNKNOWN", "DRAFT", "PUBLISHED", "TEMPLATE")
DISTRIBUTION_STATUSES = ("UNKNOWN", "NOT_STARTED", "SCHEDULED", "IN_DETECTION", "IN_MODERATION", "SAMPLING",
                         "SENDING", "REJECTED", "TERMINATED", "DISTRIBUTED", "PAUSED")
# A Draft whose public landing page is on: the legacy "publish on RSS" switch is that public page.
LANDING_PAGE_ON = "Enabled"
# status_reason of a Draft whose scheduling was paused (Pause Scheduling); cleared on publish.
SCHEDULING_PAUSED = "Paused"

_DISTRIBUTION = {"Ready": "SCHEDULED", "Pending Approval": "IN_MODERATION", "Sending": "SENDING",
                 "Paused": "PAUSED", "Failed": "REJECTED"}


def visibility_status(c: Campaign) -> str:
    if c.status == "Draft" and c.status_reason != SCHEDULING_PAUSED and c.publish_on_rss != LANDING_PAGE_ON:
        return "DRAFT"
    return "PUBLISHED"


def distribution_status(c: Campaign) -> str:
    if c.status == "Draft":
        return "PAUSED" if c.status_reason == SCHEDULING_PAUSED else "NOT_STARTED"
    if c.status == "Sent":
        return "TERMINATED" if c.status_reason == "Canceled" else "DISTRIBUTED"
    if c.status == "Paused" and c.status_reason in ACCOUNT_HOLD_REASONS:
        return "REJECTED"   # held by the tick because the account may not send (hold_for_account)
    return _DISTRIBUTION.get(c.status, "UNKNOWN")


def is_paused(c: Campaign) -> bool:
    return distribution_status(c) == "PAUSED"


def draft_clause():
    return and_(Campaign.status == "Draft", Campaign.status_reason != SCHEDULING_PAUSED,
                Campaign.publish_on_rss != LANDING_PAGE_ON)


def visibility_clause(wanted: set[str]):
    clauses = []
    if "DRAFT" in wanted:
        clauses.append(draft_clause())
    if "PUBLISHED" in wanted:
        clauses.append(not_(draft_clause()))
    return or_(*clauses) if clauses else Campaign.id.is_(None)
