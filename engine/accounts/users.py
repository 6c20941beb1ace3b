"""Administrators, users and user groups: the bootstrap chain admin → users → logins."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import String, delete, func, or_, select

from engine.accounts.auth import ALL_PERMISSIONS, Actor
from engine.accounts.passwords import hash_password
from engine.errors import (
    AlreadyExists, EmailTaken, InvalidValue, LastUserGroup, NotAccountOwner, PermissionDenied,
    UserGroupInUse, UserGroupNotFound, UsernameTaken, UserNotFound,
)
from engine.models import Admin, ApiKey, AuthSession, Campaign, Subscriber, SubscriberList, User, UserGroup
from engine.senders.policy import format_domains, parse_domains
from engine.validation import normalize_email

DEFAULT_GROUP_NAME = "Default"
ACCOUNT_STATUSES = ("Enabled", "Disabled")
REPUTATION_LEVELS = ("Trusted", "Untrusted")

PROFILE_FIELDS = frozenset({"username", "email", "password", "first_name", "last_name", "company_name",
                            "time_zone", "language"})
# Only an administrator may change these; a user sending their current value back is harmless.
ADMIN_FIELDS = {"account_status": "the account status", "reputation_level": "the reputation level",
                "group_id": "the user group"}
GROUP_FIELDS = frozenset({"name", "permissions", "limit_subscribers", "limit_lists",
                          "limit_campaign_send_per_period", "limit_email_send_per_period",
                          "force_unsubscription_link", "force_reject_opt_link", "allowed_sender_domains"})

USER_SORTABLE = frozenset({"id", "username", "email_address", "first_name", "last_name", "company_name",
                           "account_status", "reputation_level", "group_id", "created_at", "last_activity_at"})
USER_SEARCHABLE = ("username", "email_address", "first_name", "last_name", "company_name")
USER_STATUS_FILTERS = ("Online", "Enabled", "Disabled", "Trusted", "Untrusted")
# "Online" in Users.Get: a session or API key used this recently.
ONLINE_WINDOW = timedelta(minutes=15)


@dataclass
class UserQuery:
    group_ids: tuple[int, ...] = ()
    status: str | None = None          # one of USER_STATUS_FILTERS
    keyword: str | None = None
    search_field: str | None = None    # one of USER_SEARCHABLE; None = any of them
    order_field: str = "id"            # one of USER_SORTABLE
    descending: bool = False
    offset: int = 0
    limit: int = 25


class AccountService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- administrators ---------------------------------------------------------------------
    def create_admin(self, username: str, password: str, *, name: str = "", email: str = "") -> Admin:
        if self.s.scalar(select(Admin).where(func.lower(Admin.username) == username.lower())):
            raise AlreadyExists(f"administrator {username!r} already exists")
        admin = Admin(username=username, password_hash=hash_password(password), name=name,
                      email_address=email, created_at=self.uow.clock())
        self.s.add(admin)
        self.s.flush()
        return admin

    def set_admin_password(self, username: str, password: str) -> int:
        """A new password (the lost-password reset); the administrator's open sessions are closed, since
        whoever knew the old password may hold one. Answers how many were closed."""
        admin = self.s.scalar(select(Admin).where(func.lower(Admin.username) == username.lower()))
        if admin is None:
            raise UserNotFound(f"administrator {username!r} does not exist")
        admin.password_hash = hash_password(password)
        return self.s.execute(delete(AuthSession).where(AuthSession.admin_id == admin.id)).rowcount

    # --- user groups --------------------------------------------------------------------------
    def ensure_default_group(self) -> UserGroup:
        """The group init-db creates: every permission, no limits."""
        group = self.s.scalar(select(UserGroup).order_by(UserGroup.id).limit(1))
        if group is None:
            group = UserGroup(name=DEFAULT_GROUP_NAME, permissions=ALL_PERMISSIONS,
                              created_at=self.uow.clock())
            self.s.add(group)
            self.s.flush()
        return group

    def get_group(self, group_id: int) -> UserGroup:
        group = self.s.get(UserGroup, group_id)
        if group is None:
            raise UserGroupNotFound()
        return group

    def list_groups(self) -> list[UserGroup]:
        return list(self.s.scalars(select(UserGroup).order_by(UserGroup.id)))

    def create_group(self, name: str, **settings) -> UserGroup:
        """A new group; permissions default to none, limits to 0 (unlimited)."""
        _check_keys(settings, GROUP_FIELDS)
        group = UserGroup(name=name, permissions="", limit_subscribers=0, limit_lists=0,
                          limit_campaign_send_per_period=0, limit_email_send_per_period=0,
                          force_unsubscription_link=False, force_reject_opt_link=False,
                          allowed_sender_domains="", created_at=self.uow.clock())
        for key, value in _group_values(settings).items():
            setattr(group, key, value)
        self.s.add(group)
        self.s.flush()
        return group

    def update_group(self, group_id: int, changes: dict) -> UserGroup:
        """Partial update: what is not in `changes` stays as it is."""
        _check_keys(changes, GROUP_FIELDS)
        group = self.get_group(group_id)
        for key, value in _group_values(changes).items():
            setattr(group, key, value)
        self.s.flush()
        return group

    def allow_sender_domains(self, group_id: int, domains) -> tuple[str, ...]:
        """Add From domains to a group's AllowedSenderDomains (set-up: `sendmill init-db
        --allow-sender-domain`); the group's whole list afterwards."""
        group = self.get_group(group_id)
        merged = parse_domains([*parse_domains(group.allowed_sender_domains), *_parsed_domains(domains)])
        group.allowed_sender_domains = format_domains(merged)
        self.s.flush()
        return merged

    def duplicate_group(self, group_id: int) -> UserGroup:
        source = self.get_group(group_id)
        settings = {key: getattr(source, key) for key in GROUP_FIELDS - {"name"}}
        return self.create_group(f"{source.name} (copy)"[:255], **settings)

    def delete_groups(self, group_ids: list[int]) -> int:
        """Delete groups that have no users, never the last one; all or nothing."""
        found = set(self.s.scalars(select(UserGroup.id).where(UserGroup.id.in_(group_ids))))
        missing = [i for i in group_ids if i not in found]
        if missing:
            raise UserGroupNotFound(f"user group {missing[0]} does not exist")
        in_use = self.s.scalar(select(User.group_id).where(User.group_id.in_(group_ids)).limit(1))
        if in_use is not None:
            raise UserGroupInUse(f"user group {in_use} still has users; move them to another group first")
        if self.s.scalar(select(func.count()).select_from(UserGroup)) <= len(found):
            raise LastUserGroup()
        self.s.execute(delete(UserGroup).where(UserGroup.id.in_(found)))
        return len(found)

    # --- users ----------------------------------------------------------------------------------
    def get_user(self, user_id: int) -> User:
        user = self.s.get(User, user_id)
        if user is None:
            raise UserNotFound()
        return user

    def find_user_by_email(self, email: str) -> User:
        normalized = normalize_email(email)
        user = self.s.scalar(select(User).where(User.email_normalized == normalized)) if normalized else None
        if user is None:
            raise UserNotFound()
        return user

    def create_user(self, *, username: str, password: str, email: str, group_id: int | None = None,
                    **profile) -> User:
        email_normalized = normalize_email(email)
        if email_normalized is None:
            raise InvalidValue("EmailAddress", "invalid email address")
        _check_choice("account_status", profile.get("account_status"), ACCOUNT_STATUSES)
        _check_choice("reputation_level", profile.get("reputation_level"), REPUTATION_LEVELS)
        self._ensure_unique(username, email_normalized)
        group = self.get_group(group_id) if group_id else self.ensure_default_group()
        user = User(username=username, email_address=email.strip(), email_normalized=email_normalized,
                    password_hash=hash_password(password), group_id=group.id,
                    created_at=self.uow.clock(), **profile)
        self.s.add(user)
        self.s.flush()
        return user

    def update_user(self, actor: Actor, user_id: int, changes: dict) -> User:
        """Partial update. Users may change only their own profile; administrators anything."""
        _check_keys(changes, PROFILE_FIELDS | set(ADMIN_FIELDS))
        if not actor.is_admin and user_id != actor.id:
            raise NotAccountOwner()
        user = self.get_user(user_id)
        if not actor.is_admin:
            for key, label in ADMIN_FIELDS.items():
                if key in changes and changes[key] != getattr(user, key):
                    raise PermissionDenied(f"Not enough privileges: only an administrator can change {label}")
        changes = dict(changes)
        if "email" in changes:
            email = changes.pop("email")
            normalized = normalize_email(email)
            if normalized is None:
                raise InvalidValue("EmailAddress", "invalid email address")
            self._check_email(normalized, except_id=user.id)
            user.email_address, user.email_normalized = email.strip(), normalized
        if "username" in changes:
            self._check_username(changes["username"], except_id=user.id)
        if "group_id" in changes:
            self.get_group(changes["group_id"])
        _check_choice("account_status", changes.get("account_status"), ACCOUNT_STATUSES)
        _check_choice("reputation_level", changes.get("reputation_level"), REPUTATION_LEVELS)
        if "password" in changes:
            user.password_hash = hash_password(changes.pop("password"))
            self._end_other_sessions(user.id, keep=actor.session_id if not actor.is_admin else None)
        for key, value in changes.items():
            setattr(user, key, value)
        self.s.flush()
        self.s.refresh(user)  # reload the group relationship after a move
        return user

    def search_users(self, q: UserQuery) -> tuple[list[User], int]:
        query = select(User)
        if q.group_ids:
            query = query.where(User.group_id.in_(q.group_ids))
        if q.status:
            query = query.where(self._status_filter(q.status))
        if q.keyword:
            fields = (q.search_field,) if q.search_field else USER_SEARCHABLE
            query = query.where(or_(*(getattr(User, f).icontains(q.keyword, autoescape=True) for f in fields)))
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        column = getattr(User, q.order_field if q.order_field in USER_SORTABLE else "id")
        if isinstance(column.type, String):
            # Case-insensitive, as the legacy MySQL collation sorted, on every backend.
            column = func.lower(column)
        tie = User.id.desc() if q.descending else User.id.asc()
        query = query.order_by(column.desc() if q.descending else column.asc(), tie)
        users = list(self.s.scalars(query.offset(q.offset).limit(q.limit)))
        return users, total

    def _status_filter(self, status: str):
        if status == "Online":
            since = self.uow.clock() - ONLINE_WINDOW
            return or_(
                select(AuthSession.id).where(AuthSession.user_id == User.id, AuthSession.last_used_at >= since,
                                             AuthSession.expires_at > self.uow.clock()).exists(),
                select(ApiKey.id).where(ApiKey.user_id == User.id, ApiKey.last_used_at >= since).exists(),
            )
        if status in ACCOUNT_STATUSES:
            return User.account_status == status
        if status in REPUTATION_LEVELS:
            return User.reputation_level == status
        raise InvalidValue("RelUserGroupID", f"unknown user filter {status!r}")

    def delete_users(self, user_ids: list[int]) -> int:
        """Delete users and, through the foreign keys' ON DELETE CASCADE, everything they own."""
        found = set(self.s.scalars(select(User.id).where(User.id.in_(user_ids))))
        missing = [i for i in user_ids if i not in found]
        if missing:
            raise UserNotFound(f"user {missing[0]} does not exist")
        # The campaigns' ledgers have no foreign key to cascade along (engine/campaigns/ledgers.py).
        self.uow.ledgers.delete_for_campaigns(select(Campaign.id).where(Campaign.owner_user_id.in_(found)))
        self.s.execute(delete(User).where(User.id.in_(found)))
        self.s.expire_all()
        return len(found)

    def usage(self, user_id: int) -> dict[str, int]:
        """What the user holds of what their group limits."""
        lists = self.s.scalar(select(func.count()).select_from(SubscriberList)
                              .where(SubscriberList.owner_user_id == user_id))
        subscribers = self.s.scalar(
            select(func.count()).select_from(Subscriber)
            .join(SubscriberList, SubscriberList.id == Subscriber.list_id)
            .where(SubscriberList.owner_user_id == user_id))
        return {"lists": lists or 0, "subscribers": subscribers or 0}

    # --- uniqueness -----------------------------------------------------------------------------
    # Login accepts a username or an email address, so neither may equal another user's other
    # identifier either: "bob@example.com" as a username would shadow Bob's address.
    def _ensure_unique(self, username: str, email_normalized: str, *, except_id: int | None = None):
        self._check_username(username, except_id=except_id)
        self._check_email(email_normalized, except_id=except_id)

    def _check_username(self, username: str, *, except_id: int | None = None) -> None:
        lowered = username.strip().lower()
        if self._clash((func.lower(User.username) == lowered) | (User.email_normalized == lowered), except_id):
            raise UsernameTaken()

    def _check_email(self, email_normalized: str, *, except_id: int | None = None) -> None:
        clash = (User.email_normalized == email_normalized) | (func.lower(User.username) == email_normalized)
        if self._clash(clash, except_id):
            raise EmailTaken()

    def _clash(self, condition, except_id: int | None) -> bool:
        query = select(User.id).where(condition)
        if except_id is not None:
            query = query.where(User.id != except_id)
        return self.s.scalar(query.limit(1)) is not None

    def _end_other_sessions(self, user_id: int, keep: int | None) -> None:
        # A new password ends every other login: whoever knew the old one is signed out.
        query = delete(AuthSession).where(AuthSession.user_id == user_id)
        if keep is not None:
            query = query.where(AuthSession.id != keep)
        self.s.execute(query)


def _parsed_domains(value) -> tuple[str, ...]:
    try:
        return parse_domains(value)
    except ValueError as exc:
        raise InvalidValue("AllowedSenderDomains", str(exc)) from None


def _group_values(settings: dict) -> dict:
    """Group settings as stored: the allowed sender domains normalized into one comma-separated text."""
    if "allowed_sender_domains" not in settings:
        return settings
    return {**settings, "allowed_sender_domains": format_domains(_parsed_domains(settings["allowed_sender_domains"]))}


def _check_keys(values: dict, allowed) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")


def _check_choice(field: str, value, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise InvalidValue(field, f"{field} must be one of {', '.join(choices)}")
