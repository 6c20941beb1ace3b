"""Credentials: login sessions, API keys, and who the caller is (password hashing: passwords.py)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, or_, select, update

from engine.accounts.credential_use import KeyUse, SessionUse, due
# hash_password also from here: code written before passwords.py (other branches) imports it from auth.
from engine.accounts.passwords import check_password, hash_password  # noqa: F401
from engine.accounts.totp import check_code
from engine.errors import (
    AccountDisabled, ApiKeyNotFound, AuthenticationFailed, InvalidLogin, TwoFactorCodeInvalid, TwoFactorRequired,
    UserNotFound,
)
from engine.hot_sql import HotStatement
from engine.models import Admin, ApiKey, AuthSession, User, UserGroup
from engine.models.senders import EmailMarketingAccount

ALL_PERMISSIONS = "*"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    """A 128-bit key in the legacy XXXX-XXXX-… shape."""
    raw = secrets.token_hex(16)
    return "-".join(raw[i:i + 4] for i in range(0, 32, 4))


@dataclass(frozen=True)
class Actor:
    """Who is calling: a user (with the permissions of their group) or an administrator."""

    kind: str  # "user" | "admin"
    id: int
    permissions: frozenset[str] | str = frozenset()
    reputation_level: str = "Trusted"
    session_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    def can(self, permission: str) -> bool:
        if self.is_admin or self.permissions == ALL_PERMISSIONS:
            return True
        return permission.lower() in self.permissions


def permissions_of(group_permissions: str) -> frozenset[str] | str:
    text = (group_permissions or "").strip()
    if text == ALL_PERMISSIONS:
        return ALL_PERMISSIONS
    return frozenset(p.strip().lower() for p in text.split(",") if p.strip())


class AuthService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session
        self._use: SessionUse | KeyUse | None = None
        # The caller's email-marketing account status as resolve() read it (no row yet: ACTIVE).
        self.email_account_status: str | None = None

    # --- logins ---------------------------------------------------------------------------
    def login_user(self, username: str, password: str, *, pre_hashed: bool = False,
                   ip: str = "", tfa_code: str | None = None) -> tuple[str, User]:
        user = self.s.scalar(select(User).where(or_(
            func.lower(User.username) == username.strip().lower(),
            User.email_normalized == username.strip().lower(),
        )))
        check = check_password(user.password_hash if user else None, password, pre_hashed=pre_hashed)
        if not check.ok:
            raise InvalidLogin()
        if check.new_hash:   # made with older cost parameters: upgraded now that the password is known
            user.password_hash = check.new_hash
        if user.account_status != "Enabled":
            raise AccountDisabled()
        if user.tfa_enabled:
            # Only after the password: whether an account uses two-factor login is nobody else's business.
            if not (tfa_code or "").strip():
                raise TwoFactorRequired()
            if not check_code(user, tfa_code, self.uow.clock()):
                raise TwoFactorCodeInvalid()
        user.last_activity_at = self.uow.clock()
        return self._open_session(user_id=user.id, ip=ip), user

    def login_user_with_api_key(self, api_key: str, ip: str = "") -> tuple[str, User]:
        key = self._find_key(api_key, ip)
        if key is None or key.user_id is None:
            raise InvalidLogin()
        user = self.s.get(User, key.user_id)
        if user.account_status != "Enabled":
            raise AccountDisabled()
        return self._open_session(user_id=user.id, ip=ip), user

    def login_admin(self, username: str, password: str, ip: str = "") -> tuple[str, Admin]:
        admin = self.s.scalar(select(Admin).where(func.lower(Admin.username) == username.strip().lower()))
        check = check_password(admin.password_hash if admin else None, password)
        if not check.ok:
            raise InvalidLogin()
        if check.new_hash:
            admin.password_hash = check.new_hash
        admin.last_login_at = self.uow.clock()
        return self._open_session(admin_id=admin.id, ip=ip), admin

    def login_admin_with_api_key(self, api_key: str, ip: str = "") -> tuple[str, Admin]:
        key = self._find_key(api_key, ip)
        if key is None or key.admin_id is None:
            raise InvalidLogin()
        return self._open_session(admin_id=key.admin_id, ip=ip), self.s.get(Admin, key.admin_id)

    def switch_to_user(self, admin: Actor, user_id: int, ip: str = "") -> tuple[str, User]:
        """User.Switch: an administrator opens a session as the user (the user's own group permissions)."""
        user = self.s.get(User, user_id) if admin.is_admin else None
        if user is None:
            raise UserNotFound()
        if user.account_status != "Enabled":
            raise AccountDisabled()
        return self._open_session(user_id=user.id, ip=ip), user

    def logout(self, actor: Actor) -> None:
        if actor.session_id is not None:
            self.s.execute(delete(AuthSession).where(AuthSession.id == actor.session_id))

    def _open_session(self, *, user_id: int | None = None, admin_id: int | None = None, ip: str) -> str:
        token = secrets.token_hex(20)
        now = self.uow.clock()
        self.s.add(AuthSession(
            token_digest=digest(token), user_id=user_id, admin_id=admin_id, created_at=now,
            last_used_at=now, expires_at=now + self._lifetime(), ip_address=ip[:64],
        ))
        self.s.flush()
        return token

    def _lifetime(self) -> timedelta:
        return timedelta(days=self.uow.settings.session_lifetime_days)

    # --- resolving credentials on ordinary calls -------------------------------------------
    def resolve(self, *, session_id: str | None, api_key: str | None, ip: str = "") -> Actor:
        """The caller behind a SessionID or APIKey (the session is tried first), read in one statement and
        written nowhere: the use is kept for record_use(), which the caller runs when the call counts."""
        now = self.uow.clock()
        if session_id:
            row = _SESSION_BY_DIGEST.first(self.s.connection(), {"digest": digest(session_id)})
            if row is not None and row.expires_at > now:
                self._use = SessionUse(row.id, row.user_id, now) if due(row.last_used_at, now) else None
                self.email_account_status = row.email_account_status or "ACTIVE"
                return _actor_of(row, session_id=row.id)
        if api_key:
            row = _KEY_BY_DIGEST.first(self.s.connection(), {"digest": digest(api_key.strip())})
            if row is not None and not (row.bound_ip_address and
                                        not hmac.compare_digest(row.bound_ip_address, ip or "")):
                actor = _actor_of(row)
                self._use = KeyUse(row.id, now, ip[:64], due(row.last_used_at, now))
                self.email_account_status = row.email_account_status or "ACTIVE"
                return actor
        raise AuthenticationFailed()

    def take_use(self) -> SessionUse | KeyUse | None:
        """The use of the credentials resolve() accepted when it must be written now (None when nothing is
        due). A key's use whose row is not due is only counted in this process, here: a read-only call
        then needs no write transaction at all."""
        use, self._use = self._use, None
        if isinstance(use, KeyUse) and not use.due:
            self.uow.key_uses.add(use)
            return None
        return use

    def record_use(self, use: SessionUse | KeyUse | None = None) -> None:
        """Record the use of the credentials resolve() accepted (or `use`): slide a session's expiry (only
        when its recorded use is a minute old), count a key's use (written with the others of this process
        when its row's recorded use is a minute old). See engine/accounts/credential_use.py."""
        use = use or self.take_use()
        if isinstance(use, SessionUse):
            self.s.execute(update(AuthSession).where(AuthSession.id == use.session_id).values(
                last_used_at=use.at, expires_at=use.at + self._lifetime()).execution_options(synchronize_session=False))
            if use.user_id is not None:
                self.s.execute(update(User).where(User.id == use.user_id).values(
                    last_activity_at=use.at).execution_options(synchronize_session=False))
        elif isinstance(use, KeyUse):
            self.uow.key_uses.add(use)
            if use.due:
                self._write_key_uses([use.key_id])

    def _write_key_uses(self, key_ids=None) -> None:
        for key_id, (count, at, ip) in self.uow.key_uses.take(key_ids).items():
            self.s.execute(update(ApiKey).where(ApiKey.id == key_id).values(
                request_count=func.coalesce(ApiKey.request_count, 0) + count, last_used_at=at, last_used_ip=ip,
            ).execution_options(synchronize_session=False))

    def _find_key(self, api_key: str, ip: str) -> ApiKey | None:
        key = self.s.scalar(select(ApiKey).where(ApiKey.key_digest == digest(api_key.strip())))
        if key is None:
            return None
        if key.bound_ip_address and not hmac.compare_digest(key.bound_ip_address, ip or ""):
            return None
        return key

    # --- API key management ------------------------------------------------------------------
    def create_api_key(self, actor: Actor, note: str = "", bound_ip: str = "") -> tuple[str, ApiKey]:
        token = new_api_key()
        row = ApiKey(
            key_digest=digest(token), key_prefix=token[:9], note=note, bound_ip_address=bound_ip,
            created_at=self.uow.clock(),
            user_id=None if actor.is_admin else actor.id, admin_id=actor.id if actor.is_admin else None,
        )
        self.s.add(row)
        self.s.flush()
        return token, row

    def list_api_keys(self, actor: Actor) -> list[ApiKey]:
        # The listing shows every use this process has answered, this call's included.
        self.record_use()
        self._write_key_uses()
        owner = ApiKey.admin_id if actor.is_admin else ApiKey.user_id
        return list(self.s.scalars(select(ApiKey).where(owner == actor.id).order_by(ApiKey.id)))

    def delete_api_key(self, actor: Actor, key_id: int) -> None:
        owner = ApiKey.admin_id if actor.is_admin else ApiKey.user_id
        result = self.s.execute(delete(ApiKey).where(ApiKey.id == key_id, owner == actor.id))
        if result.rowcount != 1:
            raise ApiKeyNotFound()


def _credential_query(table, *extra):
    """A session's or key's row with what the Actor needs of its user and group, and the status of the
    user's email-marketing account (for commands that need it ACTIVE): one statement."""
    return (select(table.id, table.user_id, table.admin_id, table.last_used_at,
                   *([table.expires_at] if table is AuthSession else []), *extra,
                   User.account_status, User.reputation_level, UserGroup.permissions,
                   EmailMarketingAccount.status.label("email_account_status"))
            .outerjoin(User, User.id == table.user_id).outerjoin(UserGroup, UserGroup.id == User.group_id)
            .outerjoin(EmailMarketingAccount, EmailMarketingAccount.user_id == table.user_id))


# Built and compiled once, run straight through the driver (engine/hot_sql.py): every call runs one of them,
# and SQLAlchemy's work around a statement (the ORM's above all) cost more than running it.
_SESSION_BY_DIGEST = HotStatement(
    _credential_query(AuthSession).where(AuthSession.token_digest == bindparam("digest")))
_KEY_BY_DIGEST = HotStatement(
    _credential_query(ApiKey, ApiKey.bound_ip_address).where(ApiKey.key_digest == bindparam("digest")))


def _actor_of(row, session_id: int | None = None) -> Actor:
    if row.admin_id is not None:
        return Actor("admin", row.admin_id, ALL_PERMISSIONS, session_id=session_id)
    if row.account_status != "Enabled":  # None: the user is gone
        raise AuthenticationFailed()
    return Actor("user", row.user_id, permissions_of(row.permissions), reputation_level=row.reputation_level,
                 session_id=session_id)
