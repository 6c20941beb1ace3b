"""What an administrator does to their own account (Admin.Update) and reads about every user's
(Users.Status: who was active within a look-back window)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import OperationalError

from engine.accounts.auth import Actor
from engine.accounts.passwords import hash_password
from engine.errors import InvalidValue, NotAccountOwner, UsernameTaken, UsersStatusUnavailable
from engine.models import Admin, AuthSession, User
from engine.validation import normalize_email

STATUS_DAYS = range(1, 91)  # Users.Status Duration: 1-90 days (v5.9.4 users.md)


@dataclass(frozen=True)
class UserActivity:
    user_id: int
    active: bool
    last_activity: datetime | None


class AdministrationService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def update_admin(self, actor: Actor, admin_id: int, *, name: str, username: str, email: str,
                     password: str | None = None) -> Admin:
        """An administrator edits their own account only: another administrator's ID answers like a
        missing one (NotAccountOwner either way), so the call is no oracle for which IDs exist."""
        if not actor.is_admin or admin_id != actor.id:
            raise NotAccountOwner("an administrator can only update their own account")
        admin = self.s.get(Admin, admin_id)
        if admin is None:  # deleted while the session lived
            raise NotAccountOwner("an administrator can only update their own account")
        if normalize_email(email) is None:
            raise InvalidValue("EmailAddress", f"'{email}' is not a valid email address")
        clash = self.s.scalar(select(Admin.id).where(func.lower(Admin.username) == username.strip().lower(),
                                                     Admin.id != admin.id).limit(1))
        if clash is not None:
            raise UsernameTaken(f"administrator {username!r} already exists")
        admin.name, admin.username, admin.email_address = name, username.strip(), email.strip()
        if password is not None:
            admin.password_hash = hash_password(password)
            # Whoever knew the old password may hold a session: every other one ends.
            self.s.execute(delete(AuthSession).where(AuthSession.admin_id == admin.id,
                                                     AuthSession.id != actor.session_id))
        self.s.flush()
        return admin

    def users_status(self, days: int) -> list[UserActivity]:
        """Every user, active when their last activity (a login or a call with one of their sessions) falls
        within the last `days` days, idle otherwise (never active included)."""
        if days not in STATUS_DAYS:
            raise InvalidValue("Duration", "Duration must be 1 to 90 days")
        since = self.uow.clock() - timedelta(days=days)
        try:
            rows = self.s.execute(select(User.id, User.last_activity_at).order_by(User.id)).all()
        except OperationalError as exc:  # e.g. a lock or statement timeout: the documented code 1
            raise UsersStatusUnavailable(str(exc.orig)[:200]) from None
        return [UserActivity(user_id, last is not None and last >= since, last) for user_id, last in rows]
