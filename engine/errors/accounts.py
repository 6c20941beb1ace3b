"""Accounts: credentials, permissions, users and groups, the email-marketing account's status and quotas."""
from __future__ import annotations

from engine.errors.base import AlreadyExists, DomainError, NotFound


class AuthenticationFailed(DomainError):
    """Authentication failure or session expired."""


class PermissionDenied(DomainError):
    """Not enough privileges."""


class InvalidLogin(DomainError):
    """Invalid login information."""


class AccountDisabled(DomainError):
    """This account is disabled."""


class UserNotFound(NotFound):
    """User does not exist."""


class UserGroupNotFound(NotFound):
    """User group does not exist."""


class ApiKeyNotFound(NotFound):
    """API key does not exist."""


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


class AccountNotActive(DomainError):
    """The email marketing account is not active."""


class QuotaExceeded(DomainError):
    """The monthly campaign or email quota of the email marketing account is used up."""


class AdminNotFound(NotFound):
    """Administrator not found."""


class PasswordResetRefused(DomainError):
    """Invalid reset token or user not found."""


class TooManyRequests(DomainError):
    """Too many requests; retry later."""


class UsersStatusUnavailable(DomainError):
    """Failed to retrieve users status."""


class TwoFactorRequired(DomainError):
    """2FA required: this account logs in with a two-factor code (TFACode)."""


class TwoFactorCodeInvalid(DomainError):
    """Invalid 2FA code."""


class TwoFactorState(DomainError):
    """Two-factor login is not in the state this needs."""
