"""Lost passwords (User.PasswordRemind / PasswordReset, Admin.PasswordRemind / PasswordReset).

A reminder mails a reset token: `<u|a><account id>.<expiry>.<mac>`, the MAC an HMAC-SHA256 (key derived
from the secret key) over the kind, the id, the expiry *and the account's current password hash*. So
a token is signed (nobody forges one), expires an hour after it was made (the injected clock), and
is single-use without any stored state: the reset changes the password hash, and with it every token
made before, as any other password change does. Nothing about the token is stored.

A reminder answers the same whether the address has an account or not, and does the same work (a
token and a message are made either way; only delivery, off the request, differs): the answer tells
no-one which addresses exist. It is limited per address and per client IP, hourly, in the database
counters every worker shares.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from engine.accounts import account_mail
from engine.accounts.passwords import hash_password
from engine.accounts.ratelimits import RateLimit
from engine.errors import PasswordResetRefused, TooManyRequests
from engine.models import Admin, AuthSession, User
from engine.validation import normalize_email

TOKEN_LIFETIME = timedelta(hours=1)
PER_ADDRESS = RateLimit(5, 3600)   # reminders per address an hour (whether it has an account or not)
PER_IP = RateLimit(20, 3600)       # reminders per client IP an hour
BUCKET = "password-remind:"
USER, ADMIN = "u", "a"
TOKEN_TEXT = re.compile(r"([ua])(\d{1,18})\.(\d{1,12})\.([A-Za-z0-9_-]{43})")
# Never an account's hash: the stand-in a missing address is signed against, so both cost the same.
_STAND_IN_HASH = "$argon2id$v=19$m=65536,t=3,p=4$stand-in$no-account"


@dataclass(frozen=True)
class Reminder:
    token: str   # "" when the address has no account
    link: str    # the reset link made from the caller's template, "" without one (or without an account)


class PasswordRecovery:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session
        settings = uow.settings
        self._keys = [hmac.new(k.encode("utf-8"), b"sendmill/password-reset/v1", hashlib.sha256).digest()
                      for k in (settings.secret_key, *settings.previous_secret_keys) if k]

    # --- the reminder -------------------------------------------------------------------------
    def remind(self, kind: str, email_address: str, *, ip: str, link_template: str | None = None) -> Reminder:
        """Count the request, then mail a token if `email_address` is an account's. The counters are
        committed first, so a refused or failing request still counts."""
        normalized = normalize_email(email_address) or email_address.strip().lower()
        self._count(kind, normalized, ip)
        account = self._account_by_email(kind, normalized)
        expires = int((self.uow.clock() + TOKEN_LIFETIME).timestamp())
        account_id = account.id if account else 0
        token = self._token(kind, account_id, expires, account.password_hash if account else _STAND_IN_HASH)
        link = _link(link_template, token) if link_template else ""
        recipient = account.email_address if account else email_address.strip()
        envelope_from, data = account_mail.compose(
            self.uow.settings, self.uow.clock(), recipient, "Resetting your password",
            _reminder_text(token, link))
        if account is None:
            return Reminder("", "")
        account_mail.send_later(self.uow.settings, envelope_from, recipient, data)
        return Reminder(token, link)

    def _count(self, kind: str, normalized: str, ip: str) -> None:
        limits = self.uow.rate_limits
        address = hashlib.sha256(f"{kind}:{normalized}".encode("utf-8")).hexdigest()[:48]
        by_address = limits.hit(f"{BUCKET}{kind}:address", address, PER_ADDRESS)
        by_ip = limits.hit(f"{BUCKET}ip", ip, PER_IP)
        if by_address.opened_window or by_ip.opened_window:
            limits.purge_before(PER_IP, bucket_prefix=BUCKET)
        self.uow.commit()
        refused = [d for d in (by_address, by_ip) if not d.allowed]
        if refused:
            raise TooManyRequests(f"too many password reminders; retry after "
                                  f"{max(d.retry_after for d in refused)} seconds")

    def _account_by_email(self, kind: str, normalized: str):
        if kind == USER:
            return self.s.scalar(select(User).where(User.email_normalized == normalized))
        return self.s.scalar(select(Admin).where(func.lower(Admin.email_address) == normalized)
                             .order_by(Admin.id).limit(1))

    # --- the reset ----------------------------------------------------------------------------
    def reset(self, kind: str, token: str, new_password: str | None = None) -> User | Admin:
        """Set the password of the token's account: `new_password`, or a generated one mailed to the
        account. Every session of the account ends. PasswordResetRefused for a token that is malformed,
        forged, of the other kind, expired, already used, or whose account is gone: all alike."""
        account = self._verified(kind, token)
        password = new_password if new_password is not None else secrets.token_urlsafe(12)
        account.password_hash = hash_password(password)
        owner = AuthSession.user_id if kind == USER else AuthSession.admin_id
        self.s.execute(delete(AuthSession).where(owner == account.id))
        self.s.flush()
        if new_password is None:
            envelope_from, data = account_mail.compose(
                self.uow.settings, self.uow.clock(), account.email_address, "Your new password",
                f"Your password was reset. Your new password is:\n\n    {password}\n\n"
                "Log in with it and change it. Every earlier login has been signed out.\n")
            account_mail.send_later(self.uow.settings, envelope_from, account.email_address, data)
        return account

    def _verified(self, kind: str, token: str):
        match = TOKEN_TEXT.fullmatch((token or "").strip())
        if match is None or match.group(1) != kind:
            raise PasswordResetRefused()
        account_id, expires = int(match.group(2)), int(match.group(3))
        account = self.s.get(User if kind == USER else Admin, account_id)
        if account is None or expires <= self.uow.clock().timestamp():
            raise PasswordResetRefused()
        expected = [self._mac(key, kind, account_id, expires, account.password_hash) for key in self._keys]
        if not any(hmac.compare_digest(m, match.group(4)) for m in expected):
            raise PasswordResetRefused()
        return account

    def _token(self, kind: str, account_id: int, expires: int, password_hash: str) -> str:
        return f"{kind}{account_id}.{expires}.{self._mac(self._keys[0], kind, account_id, expires, password_hash)}"

    @staticmethod
    def _mac(key: bytes, kind: str, account_id: int, expires: int, password_hash: str) -> str:
        mac = hmac.new(key, f"{kind}:{account_id}:{expires}:{password_hash}".encode("utf-8"), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")


def _link(template: str, token: str) -> str:
    """The caller's link with the token: in place of `%PasswordResetToken%`, else appended as the
    `PasswordResetToken` query parameter."""
    if "%PasswordResetToken%" in template:
        return template.replace("%PasswordResetToken%", token)
    return f"{template}{'&' if '?' in template else '?'}PasswordResetToken={token}"


def _reminder_text(token: str, link: str) -> str:
    where = f"Open this link to choose a new one:\n\n    {link}\n" if link else \
        f"Your password reset code is:\n\n    {token}\n"
    return (f"Someone asked to reset the password of your account.\n\n{where}\n"
            f"It can be used once, within {int(TOKEN_LIFETIME.total_seconds() // 60)} minutes. If you did not ask, "
            "ignore this message: your password stays as it is.\n")
