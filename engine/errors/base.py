"""The base of every domain exception, and the kinds shared by every context (not found, already exists, invalid value, a status change that is not allowed)."""
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


class NotFound(DomainError):
    """The object does not exist or does not belong to the caller."""


class InvalidStatusTransition(DomainError):
    """The campaign is not in a state that allows this."""


class AlreadyExists(DomainError):
    """An object with this name already exists."""


class InvalidValue(DomainError):
    """A value is not valid."""

    def __init__(self, field: str, message: str = ""):
        super().__init__(message or f"invalid value for {field}")
        self.field = field


class FeatureUnavailable(DomainError):
    """This Oempro feature does not exist in Sendmill."""
