"""Journeys (automation): what can go wrong creating, editing and running one."""
from __future__ import annotations

from engine.errors.base import DomainError, NotFound

__all__ = [
    "JourneyNotFound", "InvalidJourneyTrigger", "MissingTriggerList", "TriggerListNotFound",
    "TriggerEmailNotFound", "TriggerTagNotFound", "TriggerFieldNotFound", "TriggerJourneyNotFound",
    "SelfCompletionTrigger", "MissingPullList", "PullListNotFound", "InvalidTriggerParameters",
    "InvalidJourneyCriteria", "JourneyActionNotFound", "InvalidJourneyAction", "JourneyActionNotAvailable",
    "JourneyAlreadyEnabled", "JourneyAlreadyDisabled", "InvalidTriggerTag", "InvalidTriggerField",
    "InvalidTriggerJourney", "UnknownJourneyAction", "AllJourneysSkipped",
]


class JourneyNotFound(NotFound):
    """Journey not found"""


class InvalidJourneyTrigger(DomainError):
    """Invalid trigger"""


class MissingTriggerList(DomainError):
    """Missing Trigger_ListID parameter"""


class TriggerListNotFound(NotFound):
    """Trigger_ListID matching record not found"""


class TriggerEmailNotFound(NotFound):
    """Trigger_EmailID matching record not found"""


class TriggerTagNotFound(NotFound):
    """Trigger_Value matching record not found"""


class TriggerFieldNotFound(NotFound):
    """Trigger_Value matching record not found (CustomFieldValueChanged)"""


class TriggerJourneyNotFound(NotFound):
    """Trigger_Value matching record not found (JourneyCompleted)"""


class SelfCompletionTrigger(DomainError):
    """A journey cannot be triggered by its own completion (JourneyCompleted)"""


class MissingPullList(DomainError):
    """Missing or invalid Trigger_ListID parameter for ScheduledPull trigger"""


class PullListNotFound(NotFound):
    """Trigger_ListID matching record not found (ScheduledPull)"""


class InvalidTriggerParameters(DomainError):
    """Invalid TriggerParameters"""


class InvalidJourneyCriteria(DomainError):
    """Invalid Trigger_Criteria, Run_Criteria or Run_Criteria_Operator"""


class JourneyActionNotFound(NotFound):
    """Action not found"""


class UnknownJourneyAction(DomainError):
    """Invalid action type or Journey not found"""


class InvalidJourneyAction(DomainError):
    """Invalid action parameters"""


class JourneyActionNotAvailable(DomainError):
    """This action is not available in Sendmill"""


class JourneyAlreadyEnabled(DomainError):
    """Journey is already enabled"""


class JourneyAlreadyDisabled(DomainError):
    """Journey is already disabled"""


class InvalidTriggerTag(DomainError):
    """Invalid Trigger_Value parameter"""


class InvalidTriggerField(DomainError):
    """Invalid Trigger_Value parameter (CustomFieldValueChanged)"""


class InvalidTriggerJourney(DomainError):
    """Invalid Trigger_Value parameter (JourneyCompleted)"""


class AllJourneysSkipped(NotFound):
    """Journey not found (all journeys skipped)"""

    def __init__(self, skipped: list[dict]):
        super().__init__()
        self.extra = {"SkippedJourneys": skipped}
