"""Events: webhook endpoints."""
from __future__ import annotations

from engine.errors.base import DomainError, NotFound


class WebhookNotFound(NotFound):
    """Webhook does not exist or does not belong to the user."""


class InvalidWebhookUrl(DomainError):
    """The webhook URL must be an absolute http:// or https:// URL."""


class InvalidWebhookEventType(DomainError):
    """Unknown event type (use an eventType such as wix.promote.v1.sender_email_created, or an entityFqdn)."""


class WebhookDisabled(DomainError):
    """The webhook is disabled; enable it first."""


class IntegrationNotFound(NotFound):
    """The web service integration does not exist or does not belong to the user."""


class IntegrationUrlUnreachable(DomainError):
    """The URL did not answer the test with a 2xx status."""
