"""Suppression: addresses an account never mails, account-wide (list_id NULL) or for one list.

Suppression is not a subscription status: a suppressed address may stay Subscribed, and the
audience leaves it out at send time (protocol.md Part 1 §9, §6.4). Matching is on
`email_normalized`, so it ignores case and IDN spelling differences.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, or_, select

from engine.accounts.auth import Actor
from engine.errors import InvalidEmailAddress, SuppressionNotFound
from engine.models import Suppression
from engine.validation import normalize_email

MAX_REASON = 250
CHUNK = 500  # addresses looked up / inserted per statement


@dataclass
class BulkResult:
    done: int = 0                       # rows written (import) or removed (delete)
    failed: list[str] = field(default_factory=list)  # malformed addresses, as given


def like_pattern(pattern: str) -> str:
    """A `*` wildcard pattern as a LIKE pattern (with `\\` escaping), lower-cased to match email_normalized."""
    escaped = pattern.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


class SuppressionService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def _scope(self, actor: Actor, list_id: int | None):
        """list_id 0/None = the account-wide list; otherwise a list the caller owns."""
        return self.uow.lists.get(actor, list_id).id if list_id else None

    # --- writing -----------------------------------------------------------------------------------
    def add(self, owner_user_id: int, email: str, *, list_id: int | None = None, source: str = "User",
            reason: str = "") -> bool:
        """Suppress one address (already validated); False when it already was."""
        normalized = normalize_email(email)
        if normalized is None:
            raise InvalidEmailAddress()
        if self._existing(owner_user_id, list_id, [normalized]):
            return False
        self.s.add(self._row(owner_user_id, list_id, email, normalized, source, reason))
        self.s.flush()
        return True

    def import_addresses(self, actor: Actor, addresses: list[str], *, list_id: int | None = None,
                         source: str = "User", reason: str = "Suppression List Import") -> BulkResult:
        """Suppress many addresses. Malformed ones are reported; already suppressed ones are skipped."""
        scope = self._scope(actor, list_id)
        result = BulkResult()
        valid, result.failed = _parse_addresses(addresses)
        items = list(valid.items())
        for start in range(0, len(items), CHUNK):
            chunk = dict(items[start:start + CHUNK])
            existing = self._existing(actor.id, scope, list(chunk))
            for normalized, text in chunk.items():
                if normalized not in existing:
                    self.s.add(self._row(actor.id, scope, text, normalized, source, reason[:MAX_REASON]))
                    result.done += 1
            self.s.flush()
        return result

    def delete(self, actor: Actor, addresses: list[str], *, list_id: int | None = None,
               single: bool = False) -> BulkResult:
        """Remove addresses from one scope. `single`: the legacy one-address form, where an address
        that is malformed or not suppressed is an error rather than a count."""
        scope = self._scope(actor, list_id)
        result = BulkResult()
        valid, result.failed = _parse_addresses(addresses)
        if single and result.failed:
            raise InvalidEmailAddress(f"{result.failed[0]!r} is not a valid email address")
        wanted = list(valid)
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            outcome = self.s.execute(delete(Suppression).where(
                Suppression.owner_user_id == actor.id, Suppression.list_scope == (scope or 0),
                Suppression.email_normalized.in_(chunk)), execution_options={"synchronize_session": False})
            result.done += outcome.rowcount or 0
        if single and result.done == 0:
            raise SuppressionNotFound()
        if scope is None:   # an account-wide opt-out is lifted with its suppression
            self.uow.email_subscriptions.suppressions_lifted(actor.id, wanted)
        return result

    # --- reading -----------------------------------------------------------------------------------
    def browse(self, actor: Actor, *, pattern: str | None = None, sources: list[str] | None = None,
               list_id: int | None = None, offset: int = 0, limit: int = 100) -> tuple[list[Suppression], int]:
        scope = self._scope(actor, list_id)
        query = select(Suppression).where(Suppression.owner_user_id == actor.id,
                                          Suppression.list_scope == (scope or 0))
        if pattern:
            query = query.where(Suppression.email_normalized.like(like_pattern(pattern), escape="\\"))
        if sources:
            query = query.where(Suppression.source.in_(sources))
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        rows = self.s.scalars(query.order_by(Suppression.email_normalized).offset(offset).limit(limit))
        return list(rows), total

    def is_suppressed(self, owner_user_id: int, email_normalized: str, list_id: int) -> bool:
        """Whether an address is suppressed for a list: account-wide or for that list."""
        return self.s.scalar(select(Suppression.id).where(
            Suppression.owner_user_id == owner_user_id, Suppression.email_normalized == email_normalized,
            or_(Suppression.list_id.is_(None), Suppression.list_id == list_id)).limit(1)) is not None

    def suppressed_among(self, owner_user_id: int, list_id: int, emails: list[str]) -> set[str]:
        if not emails:
            return set()
        return set(self.s.scalars(select(Suppression.email_normalized).where(
            Suppression.owner_user_id == owner_user_id, Suppression.email_normalized.in_(emails),
            or_(Suppression.list_id.is_(None), Suppression.list_id == list_id))))

    def remove_for(self, owner_user_id: int, list_id: int, emails: list[str]) -> int:
        """Lift the suppressions that keep these addresses from a list (both scopes)."""
        if not emails:
            return 0
        outcome = self.s.execute(delete(Suppression).where(
            Suppression.owner_user_id == owner_user_id, Suppression.email_normalized.in_(emails),
            or_(Suppression.list_id.is_(None), Suppression.list_id == list_id)),
            execution_options={"synchronize_session": False})
        self.uow.email_subscriptions.suppressions_lifted(owner_user_id, emails)
        return outcome.rowcount or 0

    # --- helpers -----------------------------------------------------------------------------------
    def _existing(self, owner_user_id: int, list_id: int | None, normalized: list[str]) -> set[str]:
        return set(self.s.scalars(select(Suppression.email_normalized).where(
            Suppression.owner_user_id == owner_user_id, Suppression.list_scope == (list_id or 0),
            Suppression.email_normalized.in_(normalized))))

    def _row(self, owner_user_id: int, list_id: int | None, email: str, normalized: str, source: str,
             reason: str) -> Suppression:
        return Suppression(owner_user_id=owner_user_id, list_id=list_id, list_scope=list_id or 0,
                           email_address=email[:255], email_normalized=normalized, source=source,
                           reason=reason, created_at=self.uow.clock())


def _parse_addresses(addresses: list[str]) -> tuple[dict[str, str], list[str]]:
    """Normalized address → the first spelling given (blank entries skipped), and the malformed ones."""
    valid: dict[str, str] = {}
    failed: list[str] = []
    for address in addresses:
        text = str(address).strip()
        if not text:
            continue
        normalized = normalize_email(text)
        if normalized is None:
            failed.append(text)
        else:
            valid.setdefault(normalized, text)
    return valid, failed
