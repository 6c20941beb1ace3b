"""The cron tick: take the lease, close drained instances, arm Ready campaigns, start the due ones, pick
the winners of split tests whose test time is over.

Run it every minute from cron on any number of hosts. Two guards make overlapping runs harmless:
the `scheduler_leases` row lets one tick work at a time, and every start is a compare-and-set on
the campaign row plus a UNIQUE instance number, so even two ticks that both hold a (taken-over)
lease start each instance once. The tick never sends mail: it writes ledgers for delivery workers.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine.models.campaigns import ACCOUNT_NOT_ACTIVE_REASON, QUOTA_EXCEEDED_REASON, SENDER_NOT_ALLOWED_REASON
from engine.errors import (
    AccountNotActive, AudienceQueryTimeout, AwaitingApproval, DomainError, QuotaExceeded, SenderNotAllowed,
)
from engine.automation.enqueue import enqueue_date_triggers
from engine.models import Campaign, SchedulerLease, SendInstance
from scheduler.recurrence import (
    RecurringSchedule, future_send_instant, latest_run_at_or_before, next_run_after, next_runs,
    parse_send_time,
)
from scheduler.split_tests import choose_winners
from scheduler.timezones import resolve_timezone

log = logging.getLogger("sendmill.scheduler")

LEASE_NAME = "tick"
# Longer than any sane tick; a crashed holder's lease is taken over once it expires.
LEASE_TTL = timedelta(minutes=10)
# A campaign whose ledger write hit the tick's audience time limit is tried again this much later,
# so that it costs at most one limit per RETRY_AFTER_TIMEOUT instead of one per tick.
RETRY_AFTER_TIMEOUT = timedelta(minutes=10)


class NoNextSend(Exception):
    """The campaign will never send again: it leaves the schedule with `status` and `reason`."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class TickSummary:
    now: datetime
    holder: str
    dry_run: bool = False
    lease_taken: bool = True
    lease_holder: str = ""  # who held the lease when this tick could not take it
    armed: int = 0          # next send instants computed
    started: int = 0
    finished: int = 0
    canceled: int = 0
    failed: int = 0         # campaigns taken out of the schedule (invalid or impossible schedule)
    paused: int = 0         # campaigns held: account not ACTIVE (also mid-send), over quota, From not allowed
    postponed: int = 0      # due campaigns whose audience took longer than the time limit (retried later)
    waiting_approval: int = 0
    recipients: int = 0     # ledger rows written
    winners: int = 0        # split tests decided (scheduler/split_tests.py)
    autoresponder_sends: int = 0   # autoresponder ledger rows written by date triggers
    errors: int = 0

    def line(self) -> str:
        stamp = self.now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
        if not self.lease_taken:
            return f"tick {stamp}: skipped, the lease is held by {self.lease_holder or 'another scheduler'}"
        text = f"tick {stamp}: {self.started} started, {self.finished} finished, " \
               f"{self.waiting_approval} waiting approval"
        for count, what in ((self.canceled, "canceled"), (self.failed, "failed"), (self.paused, "paused"),
                            (self.postponed, "postponed"), (self.autoresponder_sends, "autoresponder sends queued"),
                            (self.errors, "errors")):
            if count:
                text += f", {count} {what}"
        return text + (" (dry run: nothing written)" if self.dry_run else "")


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def tick(engine, now: datetime | None = None, *, holder: str | None = None, dry_run: bool = False) -> TickSummary:
    """One scheduler pass. `dry_run` does the same work in a transaction it rolls back (exact counts,
    nothing written, no lease)."""
    now = now or engine.clock()
    summary = TickSummary(now=now, holder=holder or default_holder(), dry_run=dry_run)
    if dry_run:
        with engine.uow() as uow:  # never committed: leaving the block rolls everything back
            run_steps(uow, now, summary, commit=uow.session.flush)
        return summary
    taken, current = take_lease(engine, now, summary.holder)
    if not taken:
        summary.lease_taken, summary.lease_holder = False, current
        log.info("lease '%s' is held by %s; this tick does nothing", LEASE_NAME, current)
        return summary
    try:
        with engine.uow() as uow:
            run_steps(uow, now, summary, commit=uow.commit)
    finally:
        release_lease(engine, summary.holder)
    log.info(summary.line())
    return summary


def finish_sent(engine, now: datetime | None = None, *, holder: str | None = None) -> TickSummary:
    """After a tick's sending: close the instances it drained, so that a campaign whose last message went out
    in this tick is Sent now rather than on the next tick. Under the tick lease (when another tick holds it,
    that one or the next closes them)."""
    now = now or engine.clock()
    summary = TickSummary(now=now, holder=holder or default_holder())
    taken, current = take_lease(engine, now, summary.holder)
    if not taken:
        summary.lease_taken, summary.lease_holder = False, current
        return summary
    try:
        with engine.uow() as uow:
            _finish(uow.scheduling, now, summary, uow.commit)
    finally:
        release_lease(engine, summary.holder)
    return summary


def run_steps(uow, now: datetime, summary: TickSummary, commit) -> None:
    """The tick's work without the lease: finish, hold, arm, start, finish (each step committed)."""
    scheduling = uow.scheduling
    _finish(scheduling, now, summary, commit)
    # After finishing: a campaign whose every message was already handled becomes Sent, not held.
    _hold_inactive(scheduling, now, summary, commit)
    _arm(scheduling, now, summary, commit)
    _start_due(uow, now, summary, commit)
    choose_winners(uow, now, summary, commit)
    # Again, so that an instance with nobody left to mail closes on the tick that started it.
    _finish(scheduling, now, summary, commit)
    _enqueue_date_autoresponders(uow, now, summary, commit)
    summary.waiting_approval = scheduling.waiting_approval()


# --- the lease ---------------------------------------------------------------------------------------
def take_lease(engine, now: datetime, holder: str, ttl: timedelta = LEASE_TTL) -> tuple[bool, str]:
    """Take the tick lease by compare-and-set; returns (taken, current holder)."""
    with engine.uow() as uow:
        s = uow.session
        try:
            s.add(SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=now + ttl))
            s.commit()
            return True, holder
        except IntegrityError:
            s.rollback()  # the row exists: compete for it below
        taken = s.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME,
                   or_(SchedulerLease.holder == "", SchedulerLease.holder == holder,
                       SchedulerLease.expires_at <= now))
            .values(holder=holder, expires_at=now + ttl).execution_options(synchronize_session=False))
        s.commit()
        if taken.rowcount == 1:
            return True, holder
        return False, s.scalar(select(SchedulerLease.holder).where(SchedulerLease.name == LEASE_NAME)) or ""


def release_lease(engine, holder: str) -> None:
    with engine.uow() as uow:
        uow.session.execute(
            update(SchedulerLease).where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
            .values(holder="").execution_options(synchronize_session=False))
        uow.commit()


# --- the steps -----------------------------------------------------------------------------------------
def _finish(scheduling, now: datetime, summary: TickSummary, commit) -> None:
    for closed in scheduling.finish_instances(now):
        if closed.state == "done":
            summary.finished += 1
            log.info("campaign %s: instance #%s done; campaign is now %s",
                     closed.campaign_id, closed.number, closed.campaign_status)
        else:
            summary.canceled += 1
            log.info("campaign %s: instance #%s canceled (campaign is %s); unsent recipients skipped",
                     closed.campaign_id, closed.number, closed.campaign_status)
    commit()


def _hold_inactive(scheduling, now: datetime, summary: TickSummary, commit) -> None:
    """Campaigns being sent for an account that is no longer ACTIVE become Paused (workers already
    stopped sending their mail); Campaign.Resume continues them once the account is ACTIVE again."""
    for campaign_id in scheduling.hold_sending_of_inactive_accounts(now, ACCOUNT_NOT_ACTIVE_REASON):
        summary.paused += 1
        log.warning("campaign %s paused while sending: the account is not ACTIVE", campaign_id)
    commit()


def _arm(scheduling, now: datetime, summary: TickSummary, commit) -> None:
    for campaign in scheduling.campaigns_without_next_send():
        seen = campaign.last_activity_at
        try:
            at = plan_next_send(campaign, scheduling.last_instance(campaign.id), now)
        except NoNextSend as stop:
            if scheduling.end_unsendable(campaign.id, now, status=stop.status, reason=stop.reason,
                                         seen_activity=seen):
                summary.failed += stop.status == "Failed"
                log.warning("campaign %s leaves the schedule as %s: %s", campaign.id, stop.status, stop.reason)
            commit()
            continue
        if scheduling.set_next_send(campaign.id, at, seen_activity=seen):
            summary.armed += 1
            log.info("campaign %s (%s): next send at %s", campaign.id, campaign.schedule_type, _iso(at))
        else:
            log.info("campaign %s changed while its next send was computed; next tick recomputes", campaign.id)
        commit()


def _start_due(uow, now: datetime, summary: TickSummary, commit) -> None:
    scheduling = uow.scheduling
    for campaign in scheduling.due_campaigns(now):
        expected = campaign.next_send_at
        occurrence = catch_up(campaign, expected, now)
        try:
            instance = scheduling.start_instance(campaign.id, expected, now, scheduled_for=occurrence)
            commit()
        except IntegrityError:
            uow.rollback()
            log.info("campaign %s: instance already started by another scheduler", campaign.id)
            continue
        except AwaitingApproval:
            # An Untrusted owner's campaign changed since it was approved: it waits for approval again.
            uow.rollback()
            if uow.approval.hold_due(campaign.id, now, expected):
                log.warning("campaign %s changed since it was approved; Pending Approval again", campaign.id)
            commit()
            continue
        except (AccountNotActive, QuotaExceeded, SenderNotAllowed) as exc:
            # The owner's account may not send this now: hold the campaign (Paused with the reason)
            # instead of sending; Campaign.Resume re-arms it once the quota, status or From allows.
            uow.rollback()
            reason = QUOTA_EXCEEDED_REASON if isinstance(exc, QuotaExceeded) else \
                SENDER_NOT_ALLOWED_REASON if isinstance(exc, SenderNotAllowed) else ACCOUNT_NOT_ACTIVE_REASON
            if scheduling.hold_for_account(campaign.id, now, reason, expected):
                summary.paused += 1
                log.warning("campaign %s paused: %s", campaign.id, exc.message)
            commit()
            continue
        except AudienceQueryTimeout as exc:
            # Too slow to write now (a heavy segment, a busy database): nothing of the start is kept,
            # the campaign stays Ready and is tried again later; the other campaigns go on meanwhile.
            uow.rollback()
            if scheduling.postpone(campaign.id, expected, now + RETRY_AFTER_TIMEOUT):
                summary.postponed += 1
                log.warning("campaign %s postponed to %s: %s", campaign.id, _iso(now + RETRY_AFTER_TIMEOUT),
                            exc.message)
            commit()
            continue
        except DomainError as exc:
            # The audience cannot be built (e.g. criteria that no longer validate): stop retrying.
            uow.rollback()
            scheduling.end_unsendable(campaign.id, now, status="Failed", reason=exc.message,
                                      expected_next_send_at=expected)
            commit()
            summary.failed += 1
            log.warning("campaign %s failed to start: %s", campaign.id, exc.message)
            continue
        except DBAPIError:
            uow.rollback()
            summary.errors += 1
            log.exception("campaign %s: starting failed; the next tick retries", campaign.id)
            continue
        if instance is None:
            log.info("campaign %s was started or changed by someone else first", campaign.id)
            continue
        summary.started += 1
        summary.recipients += instance.total_recipients
        log.info("campaign %s: instance #%s for %s started, %s recipients in the ledger",
                 campaign.id, instance.number, _iso(instance.scheduled_for), instance.total_recipients)


def _enqueue_date_autoresponders(uow, now: datetime, summary: TickSummary, commit) -> None:
    """OnSubscriberDate autoresponders: today's (local) ledger rows, idempotent across ticks."""
    try:
        summary.autoresponder_sends += enqueue_date_triggers(uow.session, now)
        commit()
    except DBAPIError:
        uow.rollback()
        summary.errors += 1
        log.exception("enqueueing date autoresponders failed; the next tick retries")


# --- pure planning (also used by the preview command and the CLI) -----------------------------------
def plan_next_send(campaign: Campaign, last_instance: SendInstance | None, now: datetime) -> datetime:
    """When the campaign's next instance is due (a past instant means: start it now).

    Raises NoNextSend when the campaign will never send again.
    """
    try:
        if campaign.schedule_type == "Immediate":
            return now
        if campaign.schedule_type == "Future":
            return _future_instant(campaign)
        if campaign.schedule_type == "Recursive":
            return _next_occurrence(campaign, last_instance, now)
    except ValueError as exc:  # InvalidScheduleField, UnknownTimeZone, InvalidSendTime …
        raise NoNextSend("Failed", f"Invalid schedule: {exc}") from None
    raise NoNextSend("Failed", "Not scheduled")


def _future_instant(campaign: Campaign) -> datetime:
    if campaign.send_date is None or not campaign.send_time:
        raise ValueError("a Future schedule needs SendDate and SendTime")
    return future_send_instant(campaign.send_date, parse_send_time(campaign.send_time),
                               resolve_timezone(campaign.send_timezone))


def recurring_schedule(campaign: Campaign) -> RecurringSchedule:
    return RecurringSchedule.from_legacy(
        campaign.schedule_rec_days_of_week, campaign.schedule_rec_days_of_month, campaign.schedule_rec_months,
        campaign.schedule_rec_hours, campaign.schedule_rec_minutes, campaign.send_timezone,
        campaign.schedule_rec_send_max_instance or 0)


def _next_occurrence(campaign: Campaign, last: SendInstance | None, now: datetime) -> datetime:
    schedule = recurring_schedule(campaign)
    if schedule.max_instances and campaign.schedule_rec_sent_instances >= schedule.max_instances:
        raise NoNextSend("Sent", "")
    anchor = _anchor(campaign, last)
    following = next_run_after(schedule, anchor)
    if following is None:
        raise NoNextSend("Failed", "Invalid schedule: no date ever matches it")
    if following <= now:
        # The scheduler was down (or the previous instance ran long): send once, for the most
        # recent missed occurrence, never once per missed occurrence (protocol.md Part 1 §8).
        return latest_run_at_or_before(schedule, now, following) or following
    return following


def _anchor(campaign: Campaign, last: SendInstance | None) -> datetime:
    """The instant after which the next occurrence counts.

    After an instance finished: its occurrence, so occurrences missed while it was sending still
    count. After an edit or a (re-)arming since then: that moment, because occurrences from before
    the campaign was armed were never missed.
    """
    armed_at = campaign.last_activity_at
    if last is None:
        return armed_at
    if last.finished_at is not None and armed_at <= last.finished_at:
        return last.scheduled_for
    return max(last.scheduled_for, armed_at)


def catch_up(campaign: Campaign, expected: datetime, now: datetime) -> datetime:
    """The occurrence a due instance is for: a recurring campaign whose stored instant is long past
    sends for the most recent occurrence instead (once)."""
    if campaign.schedule_type != "Recursive":
        return expected
    try:
        return latest_run_at_or_before(recurring_schedule(campaign), now, expected) or expected
    except ValueError:
        return expected


def upcoming_sends(campaign: Campaign, now: datetime, count: int) -> list[datetime]:
    """The next `count` send instants (UTC) of the campaign as it stands; [] when nothing is left.

    Raises ValueError when the stored schedule cannot be evaluated.
    """
    sending = campaign.status in ("Sending", "Paused")
    if campaign.status in ("Sent", "Failed") or campaign.schedule_type == "Not Scheduled" or count <= 0:
        return []
    if campaign.schedule_type == "Recursive":
        done = campaign.schedule_rec_sent_instances + (1 if sending else 0)
        return next_runs(recurring_schedule(campaign), now, count, sent_instances=done)
    if sending:
        return []  # a one-off campaign's only send is under way
    if campaign.schedule_type == "Immediate":
        return [campaign.next_send_at or now]
    return [_future_instant(campaign)]


def display_zone(campaign: Campaign) -> tuple[str, tzinfo]:
    """The zone a campaign's times are shown in: its SendTimeZone, else UTC."""
    if not campaign.send_timezone:
        return "UTC", timezone.utc
    zone = resolve_timezone(campaign.send_timezone)
    return getattr(zone, "key", None) or str(zone), zone


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
