"""Every model, imported so that Base.metadata knows all tables."""
from engine.models.users import Admin, ApiKey, AuthSession, User, UserGroup
from engine.models.emails import Email
from engine.models.lists import Segment, SubscriberList
from engine.models.subscribers import CustomField, Subscriber, SubscriberFieldValue, Suppression
from engine.models.campaigns import Campaign, CampaignRecipient, CampaignTag, Tag
from engine.models.sending import Delivery, SchedulerLease, SendInstance
from engine.models.activity import SubscriberActivity
from engine.models.outbox import OutboxEvent

__all__ = [
    "Admin", "ApiKey", "AuthSession", "User", "UserGroup", "Email", "Segment", "SubscriberList",
    "Campaign", "CampaignRecipient", "CampaignTag", "Tag",
    "CustomField", "Subscriber", "SubscriberFieldValue", "Suppression",
    "Delivery", "SchedulerLease", "SendInstance",
    "SubscriberActivity", "OutboxEvent",
]
