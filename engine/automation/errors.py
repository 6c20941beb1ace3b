"""What can go wrong with an autoresponder; the protocol maps each to a code per command."""
from __future__ import annotations

from engine.errors import DomainError, NotFound


class AutoResponderNotFound(NotFound):
    """Auto responder not found or not owned by the authenticated user."""


class InvalidTriggerType(DomainError):
    """Invalid autoresponder trigger type."""


class MissingTriggerValue(DomainError):
    """The trigger type needs a trigger value (AutoResponderTriggerValue)."""


class InvalidTriggerValue(DomainError):
    """The trigger value does not name something this trigger can use."""


class InvalidTriggerTimeType(DomainError):
    """Invalid trigger time type."""


class MissingTriggerTime(DomainError):
    """TriggerTime is required when TriggerTimeType is not Immediately."""


class InvalidRepeat(DomainError):
    """Repeat must look like R{count}/P{interval}{H|D|W|M}, e.g. R5/P2D."""


class InvalidAutoResponderSegment(DomainError):
    """Invalid segment id (segment does not belong to this list / user)."""


class InvalidTargetAutoResponder(NotFound):
    """The autoresponder to copy is not one of the source list's."""


class SendTestRateLimited(DomainError):
    """Too many test sends; try again later."""

    def __init__(self, retry_after: int, requests: int, seconds: int):
        super().__init__(f"at most {requests} AutoResponder.SendTest calls per {seconds} seconds; "
                         f"retry in {retry_after} seconds")
        self.extra = {"RetryAfter": retry_after}


class AllRecipientsFailed(DomainError):
    """All recipients failed delivery."""

    def __init__(self, extra: dict):
        super().__init__()
        self.extra = extra
