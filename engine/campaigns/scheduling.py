"""Send instances and the delivery ledger; the modern publish / reschedule / pause-scheduling operations.

The scheduler decides *when* (it computes `next_send_at` with the pure evaluator); this service
decides *what*: it starts an instance exactly once, writes its ledger, and closes instances whose
ledger is drained. Every state change is a compare-and-set UPDATE whose row count is checked, so
several ticks racing each other on any of the three databases start and finish each instance once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Integer, Select, exists, func, insert, literal, select, update
from sqlalchemy.orm import aliased

from engine.campaigns import events as campaign_events
from engine.accounts.auth import Actor
from engine.campaigns.modern_status import SCHEDULING_PAUSED
from engine.errors import AwaitingApproval, CampaignAlreadyPublished, CampaignNotScheduled, SendTimeTooSoon
from engine.models import Campaign, Delivery, SendInstance
from engine.models.senders import EmailMarketingAccount
from engine.models.sending import OPEN_INSTANCE_STATES, UNFINISHED_DELIVERY_STATES

# The modern API's rule: a campaign is scheduled no less than 30 minutes before it is sent.
MIN_NOTICE = timedelta(minutes=30)


@dataclass(frozen=True)
class Closed:
    """An instance finish_instances() closed, and what became of its campaign."""

    instance_id: int
    campaign_id: int
    number: int
    state: str           # "done" | "canceled"
    campaign_status: str  # the campaign's status afterwards


class _Raced(Exception):
    """Another process changed the row first; the savepoint is rolled back."""


class SchedulingService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- what the scheduler reads ------------------------------------------------------------------
    # populate_existing: a tick keeps one session across many commits (expire_on_commit is off), and
    # must see what other processes wrote, not the copies already in its identity map.
    def campaigns_without_next_send(self) -> list[Campaign]:
        """Ready campaigns whose next send instant the scheduler still has to compute."""
        return list(self.s.scalars(
            select(Campaign).where(Campaign.status == "Ready", Campaign.next_send_at.is_(None))
            .order_by(Campaign.id).execution_options(populate_existing=True)))

    def due_campaigns(self, now: datetime) -> list[Campaign]:
        """Ready campaigns whose next send instant has come; Pending Approval ones are never due."""
        return list(self.s.scalars(
            select(Campaign).where(Campaign.status == "Ready", Campaign.next_send_at <= now)
            .order_by(Campaign.next_send_at, Campaign.id).execution_options(populate_existing=True)))

    def waiting_approval(self) -> int:
        return self.s.scalar(select(func.count()).select_from(Campaign)
                             .where(Campaign.status == "Pending Approval"))

    def last_instance(self, campaign_id: int) -> SendInstance | None:
        return self.s.scalar(
            select(SendInstance).where(SendInstance.campaign_id == campaign_id)
            .order_by(SendInstance.number.desc()).limit(1).execution_options(populate_existing=True))

    def instances(self, campaign_id: int) -> list[SendInstance]:
        return list(self.s.scalars(
            select(SendInstance).where(SendInstance.campaign_id == campaign_id)
            .order_by(SendInstance.number).execution_options(populate_existing=True)))

    # --- arming ------------------------------------------------------------------------------------
    def set_next_send(self, campaign_id: int, at: datetime, *, seen_activity: datetime | None = None) -> bool:
        """Store the next send instant of a Ready campaign that is still waiting for one.

        `seen_activity` (the campaign's last_activity_at when the instant was computed) makes the
        write lose against an edit that happened meanwhile: the next tick computes from the new setup.
        """
        query = update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "Ready",
                                       Campaign.next_send_at.is_(None))
        if seen_activity is not None:
            query = query.where(Campaign.last_activity_at == seen_activity)
        result = self.s.execute(query.values(next_send_at=at).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def end_unsendable(self, campaign_id: int, now: datetime, *, status: str, reason: str,
                       seen_activity: datetime | None = None,
                       expected_next_send_at: datetime | None = None) -> bool:
        """Take a Ready campaign out of the schedule for good (Sent when its series is complete,
        Failed when its schedule can never fire or its audience cannot be built)."""
        query = update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "Ready",
                                       Campaign.next_send_at.is_(None) if expected_next_send_at is None
                                       else Campaign.next_send_at == expected_next_send_at)
        if seen_activity is not None:
            query = query.where(Campaign.last_activity_at == seen_activity)
        values = dict(status=status, status_reason=reason[:64], last_activity_at=now)
        if status == "Sent":
            values["send_process_finished_on"] = now
        result = self.s.execute(query.values(**values).execution_options(synchronize_session=False))
        if result.rowcount == 1 and status == "Failed":
            # Taken out without sending anything: the modern API calls that a rejected campaign.
            owner_id = self.s.scalar(select(Campaign.owner_user_id).where(Campaign.id == campaign_id))
            campaign_events.rejected(self.uow, owner_id, campaign_id)
        return result.rowcount == 1

    # --- starting ----------------------------------------------------------------------------------
    def start_instance(self, campaign_id: int, expected_next_send_at: datetime, now: datetime, *,
                       scheduled_for: datetime | None = None) -> SendInstance | None:
        """Start the campaign's next instance and write its ledger; None when another process did.

        `scheduled_for` is the occurrence the instance is for (default: the expected instant).
        """
        # Compare-and-set: of all the ticks that saw this campaign due at this instant, exactly
        # one matches the row; the others see rowcount 0 and move on.
        claimed = self.s.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.status == "Ready",
                   Campaign.next_send_at == expected_next_send_at)
            .values(status="Sending", send_process_started_on=now, send_process_finished_on=None,
                    next_send_at=None, last_activity_at=now)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            return None
        campaign = self.s.get(Campaign, campaign_id, populate_existing=True)
        if self.uow.approval.awaits_approval(campaign):
            # Checked on the claimed (locked) row: an Untrusted owner's campaign sends only what was approved.
            # The tick rolls the claim back and holds it (ApprovalService.hold_due).
            raise AwaitingApproval(f"campaign {campaign_id} changed since an administrator approved it")
        number = (self.s.scalar(select(func.max(SendInstance.number))
                                .where(SendInstance.campaign_id == campaign_id)) or 0) + 1
        instance = SendInstance(campaign_id=campaign_id, number=number,
                                scheduled_for=scheduled_for or expected_next_send_at,
                                started_at=now, state="queued", total_recipients=0)
        self.s.add(instance)
        self.s.flush()  # UNIQUE(campaign_id, number) is the second guard against a double start
        # The From may have changed since the campaign was armed (Email.Update), or the administrator
        # may have withdrawn its domain: SenderNotAllowed, and the tick holds the campaign. (The account's
        # status first, so that a suspended account's campaign is held for that.)
        self.uow.email_account.require_active(campaign.owner_user_id)
        self.uow.sender_policy.require_campaign_from_allowed(campaign.owner_user_id, campaign.email_id)
        # An A/B campaign's ledger assigns each row its variation (engine/campaigns/split_tests.py).
        written = self.uow.split_tests.write_ledger(instance, campaign, self._audience(campaign))
        instance.total_recipients = self._write_ledger(instance.id, campaign) if written is None else written
        # The account's monthly quota counts this instance as one campaign and its ledger in emails.
        # Not ACTIVE or over quota raises (AccountNotActive / QuotaExceeded): the tick rolls the start
        # back and holds the campaign with hold_for_account().
        self.uow.email_account.consume(campaign.owner_user_id, campaigns=1, emails=instance.total_recipients)
        self.s.execute(update(Campaign).where(Campaign.id == campaign_id)
                       .values(total_recipients=Campaign.total_recipients + instance.total_recipients)
                       .execution_options(synchronize_session=False))
        self.s.flush()
        return instance

    def _write_ledger(self, instance_id: int, campaign: Campaign) -> int:
        # One INSERT … SELECT: the recipients never travel through Python, however many there are. The
        # audience rows are one per address (UNIQUE(instance_id, email_normalized) would refuse a second).
        # The remaining columns get their model defaults (state 'pending', attempts 0 …) rendered into the
        # SELECT as constants.
        rows = self._audience(campaign).subquery()
        # In address order: every row then goes to the right-hand end of UNIQUE(instance_id, email_normalized)
        # (an append, like the other two indexes) instead of a random leaf of it: about a fifth less database
        # CPU per row on PostgreSQL (bench/tick.py, README "The ledger in address order"), which reads a
        # one-list audience through UNIQUE(list_id, email_normalized), already in this order, so nothing is
        # sorted. Workers then mail in address order (they claim by id).
        with self.uow.audience.time_limit(self.uow.settings.tick_audience_query_timeout):
            written = self.s.execute(insert(Delivery).from_select(
                ["instance_id", "subscriber_id", "email_normalized"],
                select(literal(instance_id, Integer), rows.c.subscriber_id, rows.c.email_normalized)
                .order_by(rows.c.email_normalized))
                .execution_options(preserve_rowcount=True))
        # The statement's own count (exact on all three databases for one INSERT … SELECT): counting the
        # new rows again read a million index entries and their just-written heap pages.
        return written.rowcount

    def _audience(self, campaign: Campaign) -> Select:
        """The campaign's recipients from the audience compiler as (subscriber_id, email_normalized): one
        Subscriber row per address, Subscribed, not bounced, complained or suppressed (protocol.md Part 1 §9)."""
        return self.uow.audience.campaign_audience_rows(campaign)

    def postpone(self, campaign_id: int, expected_next_send_at: datetime, at: datetime) -> bool:
        """Move a due Ready campaign's next send to `at` (its audience could not be written in time);
        False when the campaign changed meanwhile."""
        result = self.s.execute(
            update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "Ready",
                                   Campaign.next_send_at == expected_next_send_at)
            .values(next_send_at=at).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def hold_for_account(self, campaign_id: int, now: datetime, reason: str,
                         expected_next_send_at: datetime) -> bool:
        """Park a due campaign its account may not send now (not ACTIVE, quota used up): Paused with
        `reason`, no instance; Campaign.Resume re-arms it (engine/campaigns/service.py)."""
        result = self.s.execute(
            update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "Ready",
                                   Campaign.next_send_at == expected_next_send_at)
            .values(status="Paused", status_reason=reason[:64], next_send_at=None, last_activity_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            # Blocked by the account before sending anything: a rejected campaign in the modern API.
            owner_id = self.s.scalar(select(Campaign.owner_user_id).where(Campaign.id == campaign_id))
            campaign_events.rejected(self.uow, owner_id, campaign_id)
        return result.rowcount == 1

    def hold_sending_of_inactive_accounts(self, now: datetime, reason: str) -> list[int]:
        """Pause the Sending campaigns whose account is no longer ACTIVE (workers already send none of
        their mail); Campaign.Resume puts them back to Sending. The ids of the campaigns paused."""
        inactive = select(EmailMarketingAccount.user_id).where(EmailMarketingAccount.status != "ACTIVE")
        rows = self.s.execute(select(Campaign.id, Campaign.owner_user_id).where(
            Campaign.status == "Sending", Campaign.owner_user_id.in_(inactive))).all()
        paused = []
        for campaign_id, owner_id in rows:
            result = self.s.execute(
                update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "Sending")
                .values(status="Paused", status_reason=reason[:64], last_activity_at=now)
                .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                campaign_events.rejected(self.uow, owner_id, campaign_id)
                paused.append(campaign_id)
        return paused

    # --- finishing ---------------------------------------------------------------------------------
    def finish_instances(self, now: datetime) -> list[Closed]:
        """Close open instances: drained ones become done (and their campaign Sent, or Ready for the
        next occurrence of a series); those whose campaign was canceled become canceled, their
        unsent recipients skipped. Paused campaigns keep their instance open."""
        newer = aliased(SendInstance)
        # Correlated on UNIQUE(campaign_id, number): only the open instances are looked at, never
        # the whole history of a long-running series.
        superseded = exists().where(newer.campaign_id == SendInstance.campaign_id,
                                    newer.number > SendInstance.number)
        rows = self.s.execute(
            select(SendInstance, Campaign, superseded.label("superseded"))
            .join(Campaign, Campaign.id == SendInstance.campaign_id)
            .where(SendInstance.state.in_(OPEN_INSTANCE_STATES))
            .order_by(SendInstance.id).execution_options(populate_existing=True)).all()
        closed = []
        for instance, campaign, is_superseded in rows:
            if is_superseded or campaign.status not in ("Sending", "Paused"):
                # Canceled (Campaign.Cancel moved the status away), failed, or superseded by a
                # newer instance after a cancel and re-arm: nobody else gets this instance's message.
                if self._cancel(instance, now):
                    closed.append(Closed(instance.id, campaign.id, instance.number, "canceled", campaign.status))
            elif campaign.status == "Sending":
                status = self._complete(instance, campaign, now)
                if status is not None:
                    closed.append(Closed(instance.id, campaign.id, instance.number, "done", status))
                    campaign_events.distributed(self.uow, campaign)
        return closed

    def _cancel(self, instance: SendInstance, now: datetime) -> bool:
        moved = self.s.execute(
            update(SendInstance).where(SendInstance.id == instance.id,
                                       SendInstance.state.in_(OPEN_INSTANCE_STATES))
            .values(state="canceled", finished_at=now).execution_options(synchronize_session=False))
        if moved.rowcount != 1:
            return False
        # Claimed rows stay claimed: a worker may be talking to the SMTP server right now and
        # records the outcome itself.
        self.s.execute(update(Delivery).where(Delivery.instance_id == instance.id, Delivery.state == "pending")
                       .values(state="skipped").execution_options(synchronize_session=False))
        return True

    def _complete(self, instance: SendInstance, campaign: Campaign, now: datetime) -> str | None:
        unfinished = select(Delivery.id).where(Delivery.instance_id == instance.id,
                                               Delivery.state.in_(UNFINISHED_DELIVERY_STATES)).limit(1)
        if self.s.scalar(unfinished) is not None:
            return None
        sent = campaign.schedule_rec_sent_instances
        values = dict(next_send_at=None, send_process_finished_on=now, last_activity_at=now)
        if campaign.schedule_type == "Recursive":
            limit = campaign.schedule_rec_send_max_instance or 0  # 0 / NULL = unlimited
            values["schedule_rec_sent_instances"] = sent + 1
            values["status"] = "Sent" if limit and sent + 1 >= limit else "Ready"
        else:
            values["status"] = "Sent"
        try:
            with self.s.begin_nested():
                moved = self.s.execute(
                    update(SendInstance).where(SendInstance.id == instance.id,
                                               SendInstance.state.in_(OPEN_INSTANCE_STATES))
                    .values(state="done", finished_at=now).execution_options(synchronize_session=False))
                if moved.rowcount != 1:
                    raise _Raced
                # Pause or Cancel may have landed since the read: then the campaign is left alone.
                result = self.s.execute(
                    update(Campaign).where(Campaign.id == campaign.id, Campaign.status == "Sending",
                                           Campaign.schedule_rec_sent_instances == sent)
                    .values(**values).execution_options(synchronize_session=False))
                if result.rowcount != 1:
                    raise _Raced
        except _Raced:
            return None
        return values["status"]

    # --- the modern scheduling operations ------------------------------------------------------------
    def publish(self, actor: Actor, campaign_id: int, send_at: datetime | None = None, *,
                allow_unknown_tags: bool = False) -> Campaign:
        """Arm a Draft campaign: at `send_at` (≥ 30 minutes ahead), else on its stored Future or
        Recursive schedule, else on the next tick. Untrusted owners get Pending Approval. Content with
        unknown personalisation tags needs `allow_unknown_tags`."""
        campaign = self.uow.campaigns.get(actor, campaign_id, for_update=True)
        if campaign.status != "Draft":
            raise CampaignAlreadyPublished(f"a {campaign.status} campaign cannot be published; "
                                           "only Draft campaigns can")
        # An ACTIVE account with quota left (at least one campaign and one email; the exact audience
        # is counted when the instance starts).
        self.uow.email_account.require_can_send(campaign.owner_user_id)
        changes: dict = {"status": "Ready"}
        if send_at is not None:
            self._check_notice(send_at)
            changes.update(schedule_type="Future", **_wall_clock(send_at, campaign.send_timezone))
        elif campaign.schedule_type not in ("Future", "Recursive"):
            changes["schedule_type"] = "Immediate"
        else:
            changes["schedule_type"] = campaign.schedule_type  # re-validated and re-armed as stored
        campaign.status_reason = ""   # a paused one is published again
        campaign = self.uow.campaigns.update(actor, campaign_id, changes,   # records the published event
                                             allow_unknown_tags=allow_unknown_tags)
        if send_at is not None:
            campaign_events.scheduled(self.uow, campaign, send_at, rescheduled=False)
        return campaign

    def reschedule(self, actor: Actor, campaign_id: int, send_at: datetime) -> Campaign:
        """Move the send time of a campaign scheduled for one future send (Ready or Pending Approval)."""
        campaign = self.uow.campaigns.get(actor, campaign_id, for_update=True)
        if campaign.status not in ("Ready", "Pending Approval") or campaign.schedule_type != "Future":
            raise CampaignNotScheduled(
                f"only a Ready or Pending Approval campaign with a Future schedule can be rescheduled; "
                f"this one is {campaign.status} / {campaign.schedule_type}")
        self._check_notice(send_at)
        campaign = self.uow.campaigns.update(actor, campaign_id, {"schedule_type": "Future",
                                                                  **_wall_clock(send_at, campaign.send_timezone)})
        campaign_events.scheduled(self.uow, campaign, send_at, rescheduled=True)
        return campaign

    def pause_scheduling(self, actor: Actor, campaign_id: int) -> Campaign:
        """Disarm a Ready or Pending Approval campaign back to Draft; its schedule settings stay."""
        campaign = self.uow.campaigns.get(actor, campaign_id, for_update=True)
        if campaign.status not in ("Ready", "Pending Approval"):
            raise CampaignNotScheduled(f"a {campaign.status} campaign is not waiting to be sent"
                                       + ("; use Campaign.Pause" if campaign.status == "Sending" else ""))
        campaign.status = "Draft"
        campaign.status_reason = SCHEDULING_PAUSED   # distributionStatus PAUSED until published again
        campaign.next_send_at = None
        campaign.last_activity_at = self.uow.clock()
        self.s.flush()
        campaign_events.paused(self.uow, campaign)
        return campaign

    def _check_notice(self, send_at: datetime) -> None:
        earliest = self.uow.clock() + MIN_NOTICE
        if send_at < earliest:
            raise SendTimeTooSoon(f"the send time must be {earliest:%Y-%m-%d %H:%M:%S} UTC or later")


def _wall_clock(instant: datetime, zone_name: str) -> dict:
    """SendDate/SendTime/SendTimeZone naming `instant` exactly.

    The campaign's own zone is kept when it is an IANA name and the local time is unambiguous;
    otherwise (legacy `(GMT-03:00) City` labels, a DST fold or gap) the time is written in UTC,
    because the schedule must name the very instant the client asked for.
    """
    instant = instant.astimezone(timezone.utc).replace(microsecond=0)
    zone = _iana_zone(zone_name)
    if zone is not None:
        local = instant.astimezone(zone)
        naive = local.replace(tzinfo=None)
        if not local.fold and naive.replace(tzinfo=zone).astimezone(timezone.utc) == instant:
            return dict(send_date=local.date(), send_time=local.strftime("%H:%M:%S"), send_timezone=zone_name)
    return dict(send_date=instant.date(), send_time=instant.strftime("%H:%M:%S"), send_timezone="UTC")


def _iana_zone(name: str) -> ZoneInfo | None:
    if not name or name.startswith("("):
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        return None
