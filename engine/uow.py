"""Unit of work: one database transaction and the services that work inside it."""
from __future__ import annotations

import time
from functools import cached_property

from sqlalchemy.orm import Session, sessionmaker

from engine.db import READ_ONLY, autocommit_reads, begin_autocommit_reads, wrote_since_begin


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker, clock, settings, *, timer=time.monotonic, key_uses=None):
        from engine.accounts.credential_use import KeyUseCounter

        self._session_factory = session_factory
        # The API-key uses this process answered and has not written yet (shared by the Engine's units).
        self.key_uses = key_uses if key_uses is not None else KeyUseCounter()
        self.clock = clock
        self.settings = settings
        self.timer = timer  # monotonic seconds for time limits; clock is the domain's wall time
        self.session: Session | None = None
        self.commits = 0   # how many commits this unit made (the dispatcher asks whether its count was kept)

    def __enter__(self) -> "UnitOfWork":
        self.session = self._session_factory()
        return self

    def __exit__(self, *exc_info) -> None:
        # Anything not committed explicitly is rolled back: a half-done command writes nothing.
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
        self.commits += 1

    def rollback(self) -> None:
        self.session.rollback()

    def read_only(self) -> None:
        """Declare, before the first statement, that this unit means only to read: on SQLite its transaction
        then starts deferred and neither waits for nor holds up writers (engine.db.READ_ONLY); on PostgreSQL
        it reads in autocommit until it first writes (engine.db.begin_autocommit_reads)."""
        options = {READ_ONLY: True}
        bind = self.session.get_bind()
        autocommit = autocommit_reads(bind)
        if autocommit:
            options["isolation_level"] = "AUTOCOMMIT"
        conn = self.session.connection(execution_options=options)
        if autocommit:
            begin_autocommit_reads(conn)

    def finish(self) -> None:
        """Commit when anything was written, else end the transaction without a commit."""
        s = self.session
        if s.new or s.dirty or s.deleted or not s.in_transaction() or wrote_since_begin(s.connection()):
            self.commit()
        else:
            s.rollback()

    # Services are created lazily so a command pays only for what it uses.
    @cached_property
    def auth(self):
        from engine.accounts.auth import AuthService
        return AuthService(self)

    @cached_property
    def accounts(self):
        from engine.accounts.users import AccountService
        return AccountService(self)

    @cached_property
    def administration(self):
        from engine.accounts.administration import AdministrationService
        return AdministrationService(self)

    @cached_property
    def password_recovery(self):
        from engine.accounts.password_reset import PasswordRecovery
        return PasswordRecovery(self)

    @cached_property
    def two_factor(self):
        from engine.accounts.two_factor import TwoFactorService
        return TwoFactorService(self)

    @cached_property
    def campaigns(self):
        from engine.campaigns.service import CampaignService
        return CampaignService(self)

    @cached_property
    def campaign_listing(self):
        from engine.campaigns.listing import CampaignListing
        return CampaignListing(self)

    @cached_property
    def campaign_copies(self):
        from engine.campaigns.copies import CampaignCopies
        return CampaignCopies(self)

    @cached_property
    def variations(self):
        from engine.campaigns.variations import VariationService
        return VariationService(self)

    @cached_property
    def split_tests(self):
        from engine.campaigns.split_tests import SplitTestService
        return SplitTestService(self)

    @cached_property
    def ab_reports(self):
        from engine.campaigns.ab_reports import ABReportService
        return ABReportService(self)

    @cached_property
    def emails(self):
        from engine.campaigns.emails import EmailService
        return EmailService(self)

    @cached_property
    def templates(self):
        from engine.campaigns.templates import TemplateService
        return TemplateService(self)

    @cached_property
    def user_templates(self):
        from engine.campaigns.user_templates import UserTemplateService
        return UserTemplateService(self)

    @cached_property
    def tags(self):
        from engine.campaigns.tags import TagService
        return TagService(self)

    @cached_property
    def subscriber_tags(self):
        from engine.audience.subscriber_tags import SubscriberTagService
        return SubscriberTagService(self)

    @cached_property
    def autoresponders(self):
        from engine.automation.service import AutoResponderService
        return AutoResponderService(self)

    @cached_property
    def autoresponder_queries(self):
        from engine.automation.queries import AutoResponderQueries
        return AutoResponderQueries(self)

    @cached_property
    def autoresponder_activity(self):
        from engine.automation.activity import AutoResponderActivity
        return AutoResponderActivity(self)

    @cached_property
    def autoresponder_tests(self):
        from engine.automation.send_test import AutoResponderTestSender
        return AutoResponderTestSender(self)

    @cached_property
    def autoresponder_tracking(self):
        from engine.automation.tracking import AutoResponderTracking
        return AutoResponderTracking(self)

    @cached_property
    def journey_tracking(self):
        from engine.automation.journeys.tracking import JourneyTracking
        return JourneyTracking(self)

    @cached_property
    def journeys(self):
        from engine.automation.journeys.service import JourneyService
        return JourneyService(self)

    @cached_property
    def journey_stats(self):
        from engine.automation.journeys.stats import JourneyStats
        return JourneyStats(self)

    @cached_property
    def journey_overview(self):
        from engine.automation.journeys.overview import JourneyOverview
        return JourneyOverview(self)

    @cached_property
    def journey_members(self):
        from engine.automation.journeys.membership import Membership
        return Membership(self)

    @cached_property
    def lists(self):
        from engine.audience.lists import ListService
        return ListService(self)

    @cached_property
    def subscribers(self):
        from engine.audience.subscribers import SubscriberService
        return SubscriberService(self)

    @cached_property
    def import_jobs(self):
        from engine.audience.import_jobs import ImportJobs
        return ImportJobs(self)

    @cached_property
    def automated_reports(self):
        from engine.campaigns.automated_reports import AutomatedReports
        return AutomatedReports(self)

    @cached_property
    def subscriber_sessions(self):
        from engine.audience.subscriber_sessions import SubscriberSessions
        return SubscriberSessions(self)

    @cached_property
    def subscriber_search(self):
        from engine.audience.subscriber_search import SubscriberSearchService
        return SubscriberSearchService(self)

    @cached_property
    def subscriber_pages(self):
        from engine.audience.subscriber_page import SubscriberPages
        return SubscriberPages(self)

    @cached_property
    def bulk_subscribers(self):
        from engine.audience.subscriber_bulk import BulkSubscriberService
        return BulkSubscriberService(self)

    @cached_property
    def custom_fields(self):
        from engine.audience.custom_fields import CustomFieldService
        return CustomFieldService(self)

    @cached_property
    def suppression(self):
        from engine.audience.suppression import SuppressionService
        return SuppressionService(self)

    @cached_property
    def segments(self):
        from engine.audience.segments import SegmentService
        return SegmentService(self)

    @cached_property
    def scheduling(self):
        from engine.campaigns.scheduling import SchedulingService
        return SchedulingService(self)

    @cached_property
    def ledgers(self):
        from engine.campaigns.ledgers import LedgerService
        return LedgerService(self)

    @cached_property
    def audience(self):
        from engine.audience.service import AudienceService
        return AudienceService(self)

    @cached_property
    def events(self):
        from engine.tracking.activity import EventService
        return EventService(self)

    @cached_property
    def email_subscriptions(self):
        from engine.audience.email_subscriptions import EmailSubscriptionService
        return EmailSubscriptionService(self)

    @cached_property
    def email_account(self):
        from engine.accounts.email_account import EmailAccountService
        return EmailAccountService(self)

    @cached_property
    def sender_emails(self):
        from engine.senders.sender_emails import SenderEmailService
        return SenderEmailService(self)

    @cached_property
    def sender_identity(self):
        from engine.senders.identity import SenderIdentityService
        return SenderIdentityService(self)

    @cached_property
    def sender_policy(self):
        from engine.senders.policy import SenderPolicyService
        return SenderPolicyService(self)

    @cached_property
    def outbox(self):
        from engine.events.outbox import OutboxService
        return OutboxService(self)

    @cached_property
    def test_sends(self):
        from engine.campaigns.test_sends import SendTestService
        return SendTestService(self)

    @cached_property
    def confirmations(self):
        from engine.audience.confirmations import ConfirmationService
        return ConfirmationService(self)

    @cached_property
    def webhooks(self):
        from engine.events.webhooks import WebhookService
        return WebhookService(self)

    @cached_property
    def campaign_archive(self):
        from engine.campaigns.archive import CampaignArchiveService
        return CampaignArchiveService(self)

    @cached_property
    def personalization_tags(self):
        from engine.campaigns.personalization_tags import PersonalizationTagService
        return PersonalizationTagService(self)

    @cached_property
    def subscriber_field_bulk(self):
        from engine.audience.subscriber_field_bulk import SubscriberFieldBulkUpdate
        return SubscriberFieldBulkUpdate(self)

    @cached_property
    def list_copies(self):
        from engine.audience.list_copies import ListCopies
        return ListCopies(self)

    @cached_property
    def list_integrations(self):
        from engine.audience.list_integrations import ListIntegrationService
        return ListIntegrationService(self)

    @cached_property
    def rate_limits(self):
        from engine.accounts.ratelimits import RateLimiter
        return RateLimiter(self)

    @cached_property
    def approval(self):
        from engine.campaigns.approval import ApprovalService
        return ApprovalService(self)

    @cached_property
    def campaign_reports(self):
        from engine.campaigns.reports import CampaignReports
        return CampaignReports(self)

    @cached_property
    def campaign_activity(self):
        from engine.campaigns.link_reports import CampaignActivityReports
        return CampaignActivityReports(self)

    @cached_property
    def subscriber_reports(self):
        from engine.audience.subscriber_reports import SubscriberReports
        return SubscriberReports(self)

    @cached_property
    def exports(self):
        from engine.audience.exports import ExportService
        return ExportService(self)

    @cached_property
    def campaign_exports(self):
        from engine.campaigns.exports import CampaignExports
        return CampaignExports(self)

    @cached_property
    def usage(self):
        from engine.accounts.usage import UsageReports
        return UsageReports(self)

    @cached_property
    def list_analytics(self):
        from engine.audience.list_analytics import ListAnalytics
        return ListAnalytics(self)

    @cached_property
    def list_engagement(self):
        from engine.audience.list_engagement import ListEngagement
        return ListEngagement(self)

    @cached_property
    def report_details(self):
        from engine.campaigns.report_details import CampaignReportDetails
        return CampaignReportDetails(self)

    @cached_property
    def modern_campaigns(self):
        from engine.campaigns.modern import ModernCampaignService
        return ModernCampaignService(self)

    # --- the v5.9.4 pages' remaining commands (issue 17) ------------------------------------------
    @cached_property
    def list_lifecycle(self):
        from engine.audience.list_lifecycle import ListLifecycle
        return ListLifecycle(self)

    @cached_property
    def subscriber_creation(self):
        from engine.audience.subscriber_create import SubscriberCreation
        return SubscriberCreation(self)

    @cached_property
    def snapshots(self):
        from engine.accounts.snapshots import Snapshots
        return Snapshots(self)

    @cached_property
    def email_renderer(self):
        from engine.campaigns.email_render import EmailRenderer
        return EmailRenderer(self)
