"""Campaigns: their status and schedule, email content, approval, campaign tags, publishing."""
from __future__ import annotations

from engine.errors.accounts import AccountNotActive, QuotaExceeded
from engine.errors.base import AlreadyExists, DomainError, InvalidStatusTransition, NotFound


class CampaignNotFound(NotFound):
    """Campaign does not belong to the user or does not exist."""


class EmailNotFound(NotFound):
    """Email does not belong to the user or does not exist."""


class TagNotFound(NotFound):
    """Tag does not belong to the user or does not exist."""


class InvalidCampaignStatus(DomainError):
    """Invalid campaign status."""


class UnknownPersonalizationTags(DomainError):
    """The email content has personalisation tags that cannot be filled in."""

    def __init__(self, tags: list[str]):
        super().__init__(f"{', '.join(tags)}: these tags would be sent as empty text; correct them, or arm the "
                         "campaign saying to proceed anyway")
        self.tags = tags
        self.extra = {"UnknownTags": tags}   # the key Email.Update answers with


class InvalidRecipients(DomainError):
    """A recipient list or segment does not exist or does not belong to the user."""


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


class EmailBeingSent(DomainError):
    """The email is being sent by a campaign of an untrusted account; its content cannot change until
    that send finishes or is canceled."""


class AwaitingApproval(DomainError):
    """What the campaign would send is not what an administrator approved."""


class TagExists(AlreadyExists):
    """A tag with this name already exists."""


class InvalidTagName(DomainError):
    """Tags may contain only letters, numbers, spaces, hyphens, underscores and percent signs."""


class EmptyTagName(DomainError):
    """Tag cannot be empty after trimming whitespace."""


class CampaignAlreadyPublished(InvalidStatusTransition):
    """Only a Draft campaign can be published."""


class CampaignNotScheduled(InvalidStatusTransition):
    """The campaign is not scheduled."""


class CampaignNotPaused(InvalidStatusTransition):
    """The campaign is not paused."""


class SendTimeTooSoon(DomainError):
    """The send time must be at least 30 minutes in the future."""


class CampaignAccountNotActive(AccountNotActive, InvalidCampaignStatus):
    """The email marketing account is not active, so campaigns cannot be sent."""


class CampaignQuotaExceeded(QuotaExceeded, InvalidCampaignStatus):
    """The monthly campaign or email quota is used up, so the campaign cannot be sent."""


# --- email templates (gallery templates and user email templates) --------------------------------
class TemplateNotFound(NotFound):
    """Template not found (or it belongs to another account)."""


class TemplateAccessDenied(DomainError):
    """The template is a global one that administrators keep private."""


class TemplateOwnerNotFound(NotFound):
    """The user named as the template's owner does not exist."""


class UserTemplateNotFound(NotFound):
    """Email template not found (or it belongs to another account)."""


class SourceUserNotFound(NotFound):
    """Source user not found."""


class TargetUserNotFound(NotFound):
    """Target user not found."""
# --- A/B variations and split tests (engine/campaigns/variations.py, split_tests.py) ---------------
class VariationEmailNotFound(NotFound):
    """Email variation not found or doesn't belong to user."""


class SplitTestLocked(DomainError):
    """The campaign is being sent or was sent: its split test can no longer be changed."""


class ReportNotFound(NotFound):
    """Report not found or access denied."""


class InvalidReportTag(DomainError):
    """Invalid tag ID (tag not found or does not belong to user)."""


class InvalidReportEmail(DomainError):
    """Invalid email address."""


class NothingToUpdate(DomainError):
    """No data to update."""
