"""Two-factor login for users: TOTP (RFC 6238, pyotp), 6 digits, 30-second steps.

Set-up makes a secret (shown once as the key and an otpauth:// URI for an authenticator app); a code
from the app turns it on; a code (or an administrator) turns it off. While it is on, a password login
needs a code as well. A code is accepted for the current step or the one before or after (clock drift),
and only for a step later than the last one accepted, so a code seen once cannot be played again.
API-key logins are not affected (v5.9.4 users.md).
"""
from __future__ import annotations

from engine.accounts.auth import Actor
from engine.accounts.totp import check_code, new_secret, provisioning_uri
from engine.errors import NotAccountOwner, TwoFactorCodeInvalid, TwoFactorState
from engine.models import User

ISSUER = "Sendmill"


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
        user.tfa_secret = new_secret()
        user.tfa_last_step = 0
        uri = provisioning_uri(user.tfa_secret, user.email_address, ISSUER)
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
