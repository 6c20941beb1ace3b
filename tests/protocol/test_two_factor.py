"""Two-factor login through HTTP on every database: set-up, turning it on and off, and User.Login with
TFACode. Codes are computed from the shown secret at the injected clock's time."""
from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from engine.models import User
from protocol.commands import two_factor as commands
from tests.helpers import stored_state


def code_at(secret: str, clock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now + timedelta(seconds=30 * steps))


def stored(engine, user_id) -> tuple:
    with engine.uow() as uow:
        user = uow.session.get(User, user_id)
        return user.tfa_secret, user.tfa_enabled, user.tfa_last_step


def login(api, user, **extra) -> dict:
    return api("User.Login", Username=user.username, Password=user.password, **extra)


@pytest.fixture
def secured(api, user, clock):
    """`user` with two-factor login on; answers the secret. The clock is moved past the enabling code's step."""
    secret = api("User.TwoFactor.Setup", user.session)["MFA_SecretKey"]
    assert api("User.TwoFactor.Enable", user.session, TFACode=code_at(secret, clock))["Success"] is True
    clock.advance(seconds=30)
    return secret


def test_setup_shows_a_secret_and_uri_but_changes_nothing_until_confirmed(api, user, engine, clock):
    answer = api("User.TwoFactor.Setup", user.session)
    secret, uri = answer["MFA_SecretKey"], answer["MFA_QRCode"]
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri and "issuer=Sendmill" in uri
    assert stored(engine, user.id) == (secret, False, 0)
    assert api("User.Current", user.session)["UserInfo"]["2FA_Enabled"] == "No"
    assert login(api, user)["Success"] is True  # not on yet
    assert api("User.TwoFactor.Enable", user.session, TFACode=code_at(secret, clock))["Success"] is True
    assert stored(engine, user.id)[1] is True
    assert api("User.Current", user.session)["UserInfo"]["2FA_Enabled"] == "Yes"


def test_login_needs_a_fresh_code_once_on(api, user, engine, clock, secured):
    required = login(api, user)
    assert required["Success"] is False and required["ErrorCode"] == [101]
    wrong = login(api, user, TFACode="000000" if code_at(secured, clock) != "000000" else "111111")
    assert wrong["ErrorCode"] == [6]
    code = code_at(secured, clock)
    assert login(api, user, TFACode=code)["Success"] is True
    assert login(api, user, TFACode=code)["ErrorCode"] == [6]  # the same code cannot be played again
    clock.advance(seconds=30)
    assert login(api, user, TFACode=code_at(secured, clock, steps=-1))["ErrorCode"] == [6]  # older step
    assert login(api, user, TFACode=code_at(secured, clock))["Success"] is True


def test_a_wrong_password_says_nothing_about_two_factor(api, user, secured):
    assert api("User.Login", Username=user.username, Password="wrong-pass")["ErrorCode"] == [3]
    assert api("User.Login", Username="nobody", Password="wrong-pass")["ErrorCode"] == [3]


def test_a_code_from_the_next_or_previous_step_is_accepted(api, user, clock, secured):
    assert login(api, user, TFACode=code_at(secured, clock, steps=1))["Success"] is True


def test_api_key_logins_are_not_affected(api, user, secured):
    key = api("User.APIKey.Create", user.session, Note="sync")["APIKey"]["Key"]
    assert api("User.Login", APIKey=key)["Success"] is True


def test_user_turns_it_off_with_a_code_and_admin_without(api, admin, user, engine, clock, secured):
    assert api("User.TwoFactor.Disable", user.session, TFACode=code_at(secured, clock))["Success"] is True
    assert stored(engine, user.id) == ("", False, 0)
    assert login(api, user)["Success"] is True
    secret = api("User.TwoFactor.Setup", user.session)["MFA_SecretKey"]
    api("User.TwoFactor.Enable", user.session, TFACode=code_at(secret, clock))
    assert api("User.TwoFactor.Disable", admin.session, UserID=user.id)["Success"] is True
    assert stored(engine, user.id)[1] is False


def test_setup_cannot_replace_the_secret_while_on(api, user, engine, secured):
    before = stored(engine, user.id)
    assert api("User.TwoFactor.Setup", user.session)["ErrorCode"] == [1]
    assert stored(engine, user.id) == before


CASES = [
    ("User.TwoFactor.Setup", 1, "secured", lambda s, c, t: {}),
    ("User.TwoFactor.Enable", 1, "user", lambda s, c, t: {}),
    ("User.TwoFactor.Enable", 2, "pending", lambda s, c, t: {"TFACode": "12345x"}),
    ("User.TwoFactor.Enable", 2, "pending", lambda s, c, t: {"TFACode": "1" * 17}),
    ("User.TwoFactor.Enable", 3, "user", lambda s, c, t: {"TFACode": "123456"}),
    ("User.TwoFactor.Enable", 3, "secured", lambda s, c, t: {"TFACode": code_at(s, c)}),
    ("User.TwoFactor.Disable", 1, "secured", lambda s, c, t: {}),
    ("User.TwoFactor.Disable", 2, "secured", lambda s, c, t: {"TFACode": "abc"}),
    ("User.TwoFactor.Disable", 3, "user", lambda s, c, t: {"TFACode": "123456"}),
    ("User.TwoFactor.Disable", 4, "admin", lambda s, c, t: {}),
    ("User.TwoFactor.Disable", 4, "admin", lambda s, c, t: {"UserID": 999999}),
    ("User.TwoFactor.Disable", 4, "secured", lambda s, c, t: {"UserID": t.other_user.id, "TFACode": code_at(s, c)}),
    ("User.Login", 6, None, lambda s, c, t: {"TFACode": "999999x"}),
    ("User.Login", 101, None, lambda s, c, t: {}),
]


class Ctx:
    def __init__(self, request):
        self.request = request

    @property
    def other_user(self):
        return self.request.getfixturevalue("other_user")


@pytest.mark.parametrize("command,code,state,params", CASES, ids=[f"{c}-{code}-{i}" for i, (c, code, _, _) in
                                                                  enumerate(CASES)])
def test_documented_code(request, api, admin, user, engine, clock, command, code, state, params):
    secret = ""
    if state in ("secured", None):
        secret = request.getfixturevalue("secured")
    elif state == "pending":
        secret = api("User.TwoFactor.Setup", user.session)["MFA_SecretKey"]
    values = params(secret, clock, Ctx(request))
    before, tfa_before = stored_state(engine), stored(engine, user.id)
    if command == "User.Login":
        answer = login(api, user, **values)
    else:
        answer = api(command, admin.session if state == "admin" else user.session, **values)
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    assert len(answer["ErrorText"]) == 1 and answer["ErrorText"][0]
    assert stored_state(engine) == before and stored(engine, user.id) == tfa_before


def test_every_documented_code_has_a_case():
    for command in commands.COMMANDS:
        assert {code for name, code, _, _ in CASES if name == command.name} == set(command.errors), command.name
