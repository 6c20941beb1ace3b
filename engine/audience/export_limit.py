"""How many exports a user may submit: SENDMILL_EXPORTS_PER_HOUR in any rolling hour, subscriber and campaign
exports together (they share the export_jobs table and the cost: a COUNT at submission, then a download
that reads every matching row).

Why per hour and not "pending jobs": an export job is ready the moment it is stored (the file is made while
it is downloaded, engine/audience/exports.py), so there is never a pending one to count; what costs is the
rate of submissions and downloads. The user's row is locked before counting, so two submissions at once
cannot both take the last place.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine.errors import ExportLimitReached
from engine.models import User
from engine.models.exports import ExportJob

WINDOW = timedelta(hours=1)


def require_export_allowed(uow, owner_user_id: int) -> None:
    """ExportLimitReached (saying when the next export is possible) when the owner is at the limit."""
    limit = uow.settings.exports_per_hour
    # The id alone: FOR UPDATE cannot lock the outer join a whole User row loads with.
    uow.session.scalar(select(User.id).where(User.id == owner_user_id).with_for_update())
    recent = ExportJob.owner_user_id == owner_user_id, ExportJob.submitted_at > uow.clock() - WINDOW
    count = recent_count(uow.session, recent)
    if count < limit:
        return
    # The submission whose hour ends first and leaves fewer than `limit` in the window.
    freeing = uow.session.scalar(select(ExportJob.submitted_at).where(*recent)
                                 .order_by(ExportJob.submitted_at, ExportJob.id).offset(count - limit).limit(1))
    next_at = (freeing + WINDOW).strftime("%Y-%m-%d %H:%M:%S UTC")
    raise ExportLimitReached(f"at most {limit} an hour; the next one is possible at {next_at}")


def recent_count(session, recent) -> int:
    return session.scalar(select(func.count()).select_from(ExportJob).where(*recent))
