"""TOTP codes (RFC 6238, pyotp): 6 digits, 30-second steps, one step of drift either way, and each
step's code accepted once. Apart from the services, so login (auth.py) and set-up (two_factor.py) share it."""
from __future__ import annotations

import pyotp

from engine.models import User

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


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=account_name, issuer_name=issuer)
