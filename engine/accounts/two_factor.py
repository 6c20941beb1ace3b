"""Two-factor login for users: TOTP (RFC 6238, pyotp), 6 digits, 30-second steps.

Set-up makes a secret (shown once as the key and an otpauth:// URI for an authenticator app); a code
from the app turns it on; a code (or an administrator) turns it off. While it is on, a password login
needs a code as well. A code is accepted for the current step or the one before or after (clock drift),
and only for a step later than the last one accepted, so a code seen once cannot be played again.
API-key logins are not affected (v5.9.4 users.md).
"""
from __future__ import annotations

import pyotp

from engine.accounts.auth import Actor
from engine.errors import NotAccountOwner, TwoFactorCodeInvalid, TwoFactorState
from engine.models import User

ISSUER = "Sendmill"
STEP_SECONDS = 30
DRIFT_STEPS = 1


def check_code(user: User, code: str | None, now) -> bool:
    """Whether `code` is a fresh TOTP code of `user`'s secret at `now`; an accepted code's step is
    recorded (the caller's transaction stores it), so the same code is refused afterwards."""
    digits = (code or "").strip().replace(" ", "")
    if not user.tfa_secret or not digits.isdigit() or len(digits) != 6:
        return False
    totp = pyotp.TOTP(user.tfa_secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > (user.tfa_last_step or 0) and totp.verify(digits, for_time=step * STEP_SECONDS):
            user.tfa_last_step = step
            return True
    return False


class TwoFactorService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def set_up(self, actor: Actor) -> tuple[str, str]:
        """A new secret, not yet on: (base32 key, otpauth:// URI). Refused while two-factor login is on
        (turn it off first), so a stolen session cannot swap the secret."""
        user = self.s.get(User, actor.id)
        if user.tfa_enabled:
            raise TwoFactorState("two-factor login is already on; turn it off first")
        user.tfa_secret = pyotp.random_base32()
        user.tfa_last_step = 0
        uri = pyotp.TOTP(user.tfa_secret, interval=STEP_SECONDS).provisioning_uri(
            name=user.email_address, issuer_name=ISSUER)
        return user.tfa_secret, uri

    def enable(self, actor: Actor, code: str) -> None:
        user = self.s.get(User, actor.id)
        if user.tfa_enabled or not user.tfa_secret:
            raise TwoFactorState("set up two-factor login first" if not user.tfa_enabled
                                 else "two-factor login is already on")
        if not check_code(user, code, self.uow.clock()):
            raise TwoFactorCodeInvalid()
        user.tfa_enabled = True

    def disable(self, actor: Actor, user_id: int, code: str | None) -> None:
        """A user turns their own off with a current code; an administrator anybody's, without one (the
        way back for a lost device)."""
        if not actor.is_admin and user_id != actor.id:
            raise NotAccountOwner()
        user = self.s.get(User, user_id)
        if user is None:
            raise NotAccountOwner()
        if not user.tfa_enabled:
            raise TwoFactorState("two-factor login is not on")
        if not actor.is_admin and not check_code(user, code, self.uow.clock()):
            raise TwoFactorCodeInvalid()
        user.tfa_enabled, user.tfa_secret, user.tfa_last_step = False, "", 0
