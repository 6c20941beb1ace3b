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


class UnknownPersonalizationTags(DomainError):
    """The email content has personalisation tags that cannot be filled in."""

    def __init__(self, tags: list[str]):
        super().__init__(f"{', '.join(tags)}: these tags would be sent as empty text; correct them, or arm the "
                         "campaign saying to proceed anyway")
        self.tags = tags
        self.extra = {"UnknownTags": tags}   # the key Email.Update answers with


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


class EmailBeingSent(DomainError):
    """The email is being sent by a campaign of an untrusted account; its content cannot change until
    that send finishes or is canceled."""


# --- campaign approval (engine/approval.py) --------------------------------------------------------
class AwaitingApproval(DomainError):
    """What the campaign would send is not what an administrator approved."""


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


class CampaignNotPaused(InvalidStatusTransition):
    """The campaign is not paused."""


class SenderNotReady(DomainError):
    """The account has no verified default sender; set sender details before publishing."""


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


# --- lists, subscribers, custom fields, suppression, imports ------------------------------------
class SubscriberNotFound(NotFound):
    """Subscriber does not exist or does not belong to the list."""


class EmailSubscriptionNotFound(NotFound):
    """Email subscription does not exist."""


class CustomFieldNotFound(NotFound):
    """Custom field does not exist or does not belong to the user."""


class ListLimitReached(DomainError):
    """User has exceeded the maximum number of subscriber lists."""


class SubscriberLimitReached(DomainError):
    """The account has reached the maximum number of subscribers of its user group (LimitSubscribers)."""


class InvalidListSetting(DomainError):
    """Invalid setting."""


class InvalidEmailAddress(DomainError):
    """Invalid email address."""


class SubscriberExists(AlreadyExists):
    """Email address already exists in the list."""


class AlreadyUnsubscribed(DomainError):
    """Subscriber is already unsubscribed."""


class EmailAddressRequired(DomainError):
    """Without the list owner's credentials, the subscriber must be named by its email address."""


class ListOwnerUnavailable(DomainError):
    """The list owner's account is not active."""


class InvalidConfirmationCode(DomainError):
    """Invalid confirmation code."""


class SegmentUnavailable(DomainError):
    """The segment does not exist in this list or cannot be evaluated."""


class CustomFieldValueError(DomainError):
    """Custom field value failed validation."""

    def __init__(self, field, reason: str = ""):
        super().__init__(f"{field.name}: {reason}" if reason else field.name)
        self.field_id = field.id
        self.field_name = field.name
        self.reason = reason


class CustomFieldRequired(CustomFieldValueError):
    """Required custom field is missing."""


class CustomFieldNotUnique(CustomFieldValueError):
    """Custom field value is not unique."""


class CustomFieldInvalid(CustomFieldValueError):
    """Custom field value failed validation."""


class UnknownCustomFields(DomainError):
    """Unknown custom field ID(s)."""

    def __init__(self, field_ids: list[int]):
        super().__init__("unknown custom field ID(s): " + ", ".join(str(i) for i in field_ids))
        self.field_ids = field_ids


class InvalidFieldDefinition(DomainError):
    """The custom field definition is not valid."""


class InvalidFieldType(InvalidFieldDefinition):
    """Invalid field type."""


class InvalidFieldOptions(InvalidFieldDefinition):
    """Invalid field options."""


class InvalidYears(InvalidFieldDefinition):
    """Invalid Years range."""


class InvalidValidationRule(InvalidFieldDefinition):
    """Missing or invalid validation rule."""


class InvalidPreset(InvalidFieldDefinition):
    """Invalid preset name."""


class InvalidGlobalChange(InvalidFieldDefinition):
    """Invalid IsGlobal value."""


class MergeTagAliasTaken(AlreadyExists):
    """Merge tag alias code has been set for another custom field."""


class InvalidMergeTagAlias(DomainError):
    """Merge tag alias code includes invalid characters."""


class ReservedMergeTagAlias(DomainError):
    """Merge tag alias is a reserved name."""


class CustomFieldListLocked(DomainError):
    """A custom field cannot be moved to another list."""


class SuppressionNotFound(NotFound):
    """Email address is not in the suppression list."""


class ImportFormatError(DomainError):
    """Failed to parse CSV data."""


class InvalidFieldMapping(DomainError):
    """Field mapping is invalid."""


class EmailNotMapped(InvalidFieldMapping):
    """EmailAddress field not mapped."""


class EmailMappedTwice(InvalidFieldMapping):
    """EmailAddress field mapped more than once."""


class ConfirmationCodeRequired(DomainError):
    """A confirmation code is required to confirm or reject a subscription."""


class InvalidSearchField(DomainError):
    """Invalid SearchField."""


# --- audiences ----------------------------------------------------------------------------------
class NoAudience(DomainError):
    """The campaign has no recipients, RulesJsonBundle or criteria defined."""


class AudienceQueryTimeout(DomainError):
    """The audience query took longer than its time limit."""

    def __init__(self, seconds: float):
        super().__init__(f"the audience query took longer than its time limit of {seconds:g} s; simplify the "
                         "criteria (fewer or cheaper regular expressions) or try again later")
        self.seconds = seconds


# --- email-marketing account, sender emails and sender details (modern capabilities) -------------
class AccountNotActive(DomainError):
    """The email marketing account is not active."""


class QuotaExceeded(DomainError):
    """The monthly campaign or email quota of the email marketing account is used up."""


class CampaignAccountNotActive(AccountNotActive, InvalidCampaignStatus):
    """The email marketing account is not active, so campaigns cannot be sent."""


class CampaignQuotaExceeded(QuotaExceeded, InvalidCampaignStatus):
    """The monthly campaign or email quota is used up, so the campaign cannot be sent."""


class SenderEmailNotFound(NotFound):
    """Sender email does not exist or does not belong to the user."""


class SenderEmailExists(AlreadyExists):
    """A sender email with this address already exists."""


class SenderEmailAlreadyVerified(DomainError):
    """The sender email is already verified."""


class InvalidVerificationCode(DomainError):
    """The verification code is wrong or has expired."""


class VerificationRateLimited(DomainError):
    """Too many verification codes were requested; try again later."""

    def __init__(self, retry_after: int, message: str = ""):
        super().__init__(message or f"too many verification codes requested; retry in {retry_after} s")
        self.retry_after = retry_after


class VerificationEmailNotSent(DomainError):
    """The verification email could not be sent."""


class SenderEmailNotVerified(DomainError):
    """The address is not a verified sender email of the user."""


class SenderNotAllowed(DomainError):
    """The From address is not a verified sender email of the account and its domain is not allowed."""


# --- webhooks --------------------------------------------------------------------------
class WebhookNotFound(NotFound):
    """Webhook does not exist or does not belong to the user."""


class InvalidWebhookUrl(DomainError):
    """The webhook URL must be an absolute http:// or https:// URL."""


class InvalidWebhookEventType(DomainError):
    """Unknown event type (use an eventType such as wix.promote.v1.sender_email_created, or an entityFqdn)."""


class WebhookDisabled(DomainError):
    """The webhook is disabled; enable it first."""
