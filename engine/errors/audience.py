"""Audience: lists, subscribers, custom fields, segments and criteria, suppression, imports, email subscriptions."""
from __future__ import annotations

from engine.errors.base import AlreadyExists, DomainError, NotFound


class ListNotFound(NotFound):
    """Subscriber list does not belong to the user or does not exist."""


class SegmentNotFound(NotFound):
    """Segment does not belong to the user or does not exist."""


class InvalidRules(DomainError):
    """The RulesJson criteria are not valid."""


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


class ImportJobNotFound(NotFound):
    """Import job not found (or it belongs to another account or list)."""


class ImportAlreadyProcessed(DomainError):
    """Import record already processed."""


class UploadTooLarge(DomainError):
    """File size exceeds maximum allowed size."""


class ConfirmationCodeRequired(DomainError):
    """A confirmation code is required to confirm or reject a subscription."""


class InvalidSearchField(DomainError):
    """Invalid SearchField."""


class NoAudience(DomainError):
    """The campaign has no recipients, RulesJsonBundle or criteria defined."""


class AudienceQueryTimeout(DomainError):
    """The audience query took longer than its time limit."""

    def __init__(self, seconds: float):
        super().__init__(f"the audience query took longer than its time limit of {seconds:g} s; simplify the "
                         "criteria (fewer or cheaper regular expressions) or try again later")
        self.seconds = seconds


class ExportJobNotFound(NotFound):
    """Export job not found."""


class ExportJobOtherModule(NotFound):
    """Export job not found (it is another kind of export)."""


class ExportExpired(DomainError):
    """Export file has expired and is no longer available for download."""

    http_status = 410


class ExportNotFinished(DomainError):
    """Download requested but the job is not finished yet."""


class ExportLimitReached(DomainError):
    """The user submitted as many exports as SENDMILL_EXPORTS_PER_HOUR allows in the last hour."""


class UnknownExportField(DomainError):
    """FieldsToExport contains unknown field(s)."""


class SubscriberSessionInvalid(DomainError):
    """Authentication failure or session expired."""


class CopySourceListNotFound(NotFound):
    """The source subscriber list does not exist or does not belong to the user."""


class CopyTargetListNotFound(NotFound):
    """The target subscriber list does not exist or does not belong to the user."""
