"""Administrators, users and user groups: the bootstrap chain admin → users → logins."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.auth import ALL_PERMISSIONS, hash_password
from engine.errors import AlreadyExists, InvalidValue, UserGroupNotFound, UserNotFound
from engine.models import Admin, User, UserGroup
from engine.validation import normalize_email

DEFAULT_GROUP_NAME = "Default"


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

    def set_admin_password(self, username: str, password: str) -> Admin:
        admin = self.s.scalar(select(Admin).where(func.lower(Admin.username) == username.lower()))
        if admin is None:
            raise UserNotFound(f"administrator {username!r} does not exist")
        admin.password_hash = hash_password(password)
        return admin

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

    # --- users ----------------------------------------------------------------------------------
    def get_user(self, user_id: int) -> User:
        user = self.s.get(User, user_id)
        if user is None:
            raise UserNotFound()
        return user

    def create_user(self, *, username: str, password: str, email: str, group_id: int | None = None,
                    **profile) -> User:
        email_normalized = normalize_email(email)
        if email_normalized is None:
            raise InvalidValue("EmailAddress", "invalid email address")
        self._ensure_unique(username, email_normalized)
        group = self.get_group(group_id) if group_id else self.ensure_default_group()
        user = User(username=username, email_address=email.strip(), email_normalized=email_normalized,
                    password_hash=hash_password(password), group_id=group.id,
                    created_at=self.uow.clock(), **profile)
        self.s.add(user)
        self.s.flush()
        return user

    def _ensure_unique(self, username: str, email_normalized: str, *, except_id: int | None = None):
        clash = select(User.id).where(
            (func.lower(User.username) == username.lower()) | (User.email_normalized == email_normalized)
        )
        if except_id is not None:
            clash = clash.where(User.id != except_id)
        if self.s.scalar(clash.limit(1)) is not None:
            raise AlreadyExists("a user with this username or email address already exists")
