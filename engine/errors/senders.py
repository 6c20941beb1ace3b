"""Senders: sender details, sender emails and their verification, the From policy."""
from __future__ import annotations

from engine.errors.base import AlreadyExists, DomainError, NotFound


class SenderNotReady(DomainError):
    """The account has no verified default sender; set sender details before publishing."""


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
