"""Domain exceptions. The protocol layer maps each to a wire error code per command."""
from __future__ import annotations


class DomainError(Exception):
    """Base of every expected, user-caused failure. The message is safe to show the caller."""

    def __init__(self, message: str = ""):
        super().__init__(message or self.__doc__ or self.__class__.__name__)

    @property
    def message(self) -> str:
        return str(self.args[0])

    @property
    def detail(self) -> str:
        """The specific reason, or "" when the exception carries only its generic text."""
        return "" if self.message == (self.__doc__ or "") else self.message


# --- authentication and authorization -------------------------------------------------
class AuthenticationFailed(DomainError):
    """Authentication failure or session expired."""


class PermissionDenied(DomainError):
    """Not enough privileges."""


class InvalidLogin(DomainError):
    """Invalid login information."""


class AccountDisabled(DomainError):
    """This account is disabled."""


# --- lookups ---------------------------------------------------------------------------
class NotFound(DomainError):
    """The object does not exist or does not belong to the caller."""


class CampaignNotFound(NotFound):
    """Campaign does not belong to the user or does not exist."""


class EmailNotFound(NotFound):
    """Email does not belong to the user or does not exist."""


class ListNotFound(NotFound):
    """Subscriber list does not belong to the user or does not exist."""


class SegmentNotFound(NotFound):
    """Segment does not belong to the user or does not exist."""


class UserNotFound(NotFound):
    """User does not exist."""


class UserGroupNotFound(NotFound):
    """User group does not exist."""


class TagNotFound(NotFound):
    """Tag does not belong to the user or does not exist."""


class ApiKeyNotFound(NotFound):
    """API key does not exist."""


# --- state and validation ----------------------------------------------------------------
class InvalidStatusTransition(DomainError):
    """The campaign is not in a state that allows this."""


class InvalidCampaignStatus(DomainError):
    """Invalid campaign status."""


class AlreadyExists(DomainError):
    """An object with this name already exists."""


class InvalidValue(DomainError):
    """A value is not valid."""

    def __init__(self, field: str, message: str = ""):
        super().__init__(message or f"invalid value for {field}")
        self.field = field


class InvalidRecipients(DomainError):
    """A recipient list or segment does not exist or does not belong to the user."""


class InvalidRules(DomainError):
    """The RulesJson criteria are not valid."""


class ScheduleError(DomainError):
    """The campaign schedule is incomplete or invalid."""


class InvalidScheduleType(ScheduleError):
    """Invalid schedule type."""


class MissingSendDate(ScheduleError):
    """Send date is required for future scheduled campaigns."""


class MissingSendTime(ScheduleError):
    """Send time is required for future scheduled campaigns."""


class MissingRecurringDays(ScheduleError):
    """Either days of the week or days of the month must be specified for recursive campaigns."""


class MissingRecurringMonths(ScheduleError):
    """Months are required for recursive campaigns."""


class MissingRecurringHours(ScheduleError):
    """Hours are required for recursive campaigns."""


class MissingRecurringMinutes(ScheduleError):
    """Minutes are required for recursive campaigns."""


class MissingMaxInstances(ScheduleError):
    """Maximum instances are required for recursive campaigns."""


class MissingTimeZone(ScheduleError):
    """Timezone is required for scheduled campaigns."""


# --- email contents (Email.Update's ValidateScope rules) ----------------------------------------
class EmailContentError(DomainError):
    """The email content does not satisfy its validation scope."""


class MissingTemplateID(EmailContentError):
    """Template ID is required when mode is 'Template'."""


class InvalidFromEmail(EmailContentError):
    """Invalid FromEmail format."""


class InvalidReplyToEmail(EmailContentError):
    """Invalid ReplyToEmail format."""


class EmptyEmailContent(EmailContentError):
    """The email has no content."""


class MissingUnsubscribeLinkHTML(EmailContentError):
    """Unsubscribe link is required in HTML content."""


class MissingUnsubscribeLinkPlain(EmailContentError):
    """Unsubscribe link is required in Plain content."""


class MissingConfirmLinkHTML(EmailContentError):
    """Confirm link is required in HTML content."""


class MissingConfirmLinkPlain(EmailContentError):
    """Confirm link is required in Plain content."""


class MissingRejectLinkHTML(EmailContentError):
    """Reject link is required in HTML content."""


class MissingRejectLinkPlain(EmailContentError):
    """Reject link is required in Plain content."""


class MissingUTMSource(EmailContentError):
    """UTMSource is required when UTMTracking is enabled."""


class MissingUTMMedium(EmailContentError):
    """UTMMedium is required when UTMTracking is enabled."""


class MissingUTMCampaign(EmailContentError):
    """UTMCampaign is required when UTMTracking is enabled."""


class EmailInUse(DomainError):
    """The email is the content of a campaign that may still send."""


# --- campaign tags ------------------------------------------------------------------------------
class TagExists(AlreadyExists):
    """A tag with this name already exists."""


class InvalidTagName(DomainError):
    """Tags may contain only letters, numbers, spaces, hyphens, underscores and percent signs."""


class EmptyTagName(DomainError):
    """Tag cannot be empty after trimming whitespace."""


# --- scheduling: the modern publish / reschedule / pause-scheduling operations -------------------
class CampaignAlreadyPublished(InvalidStatusTransition):
    """Only a Draft campaign can be published."""


class CampaignNotScheduled(InvalidStatusTransition):
    """The campaign is not scheduled."""


class SendTimeTooSoon(DomainError):
    """The send time must be at least 30 minutes in the future."""


# --- accounts: users and user groups ------------------------------------------------------------
class UsernameTaken(AlreadyExists):
    """Username already exists."""


class EmailTaken(AlreadyExists):
    """Email address already exists."""


class NotAccountOwner(DomainError):
    """User can only update their own account."""


class UserGroupInUse(DomainError):
    """The user group still has users; move them to another group first."""


class LastUserGroup(DomainError):
    """Cannot delete the last user group."""


# --- tracking -----------------------------------------------------------------------------------
class BadToken(DomainError):
    """The link is invalid or was altered."""
