"""Every model, imported so that Base.metadata knows all tables."""
from engine.models.users import Admin, ApiKey, AuthSession, User, UserGroup
from engine.models.emails import Email
from engine.models.lists import Segment, SubscriberList
from engine.models.subscribers import CustomField, Subscriber, SubscriberFieldValue, Suppression
from engine.models.campaigns import Campaign, CampaignRecipient, CampaignTag, Tag
from engine.models.sending import Delivery, SchedulerLease, SendInstance, ThrottleState
from engine.models.activity import SubscriberActivity
from engine.models.outbox import OutboxEvent
from engine.models.senders import EmailMarketingAccount, SenderDetails, SenderEmail
from engine.models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEventType
from engine.models.email_subscriptions import EmailSubscription
from engine.models.ratelimits import RateLimitCounter
from engine.models.test_sends import TestSend
from engine.models.installation import InstallationSecret
from engine.models.subscriber_tags import SubscriberTag, SubscriberTagAssignment
from engine.models.automation import AutoResponder, AutoResponderSend
from engine.models.templates import EmailTemplate
from engine.models.split_tests import CampaignVariation, SplitTest, SplitTestDecision
from engine.models.exports import ExportJob
from engine.models.imports import ImportJob, ImportUploadChunk
from engine.models.reports import AutomatedReport, AutomatedReportRun
from engine.models.journeys import (
    Journey, JourneyAction, JourneyEnrollment, JourneyExport, JourneySend, JourneyStep,
)

__all__ = [
    "EmailMarketingAccount", "SenderDetails", "SenderEmail",
    "Admin", "ApiKey", "AuthSession", "User", "UserGroup", "Email", "Segment", "SubscriberList",
    "Campaign", "CampaignRecipient", "CampaignTag", "Tag",
    "CustomField", "Subscriber", "SubscriberFieldValue", "Suppression",
    "Delivery", "SchedulerLease", "SendInstance", "ThrottleState",
    "SubscriberActivity", "OutboxEvent", "WebhookDelivery", "WebhookEndpoint", "WebhookEventType", "EmailSubscription", "RateLimitCounter", "TestSend",
    "InstallationSecret",
    "SubscriberTag", "SubscriberTagAssignment", "AutoResponder", "AutoResponderSend", "EmailTemplate",
    "CampaignVariation", "SplitTest", "SplitTestDecision",
    "ExportJob",
    "ImportJob", "ImportUploadChunk", "AutomatedReport", "AutomatedReportRun",
    "Journey", "JourneyAction", "JourneyEnrollment", "JourneyExport", "JourneySend", "JourneyStep",
]
