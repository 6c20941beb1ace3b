"""Tracking: signed links."""
from __future__ import annotations

from engine.errors.base import DomainError


class BadToken(DomainError):
    """The link is invalid or was altered."""
