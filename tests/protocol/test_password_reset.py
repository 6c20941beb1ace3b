"""Lost passwords through HTTP, on every database: User.PasswordRemind / User.PasswordReset and the
Admin pair. Tokens are really mailed to a loopback relay (delivered synchronously here, on a thread in
production); time moves on the injected clock."""
from __future__ import annotations

import base64
import dataclasses
import re
from email import message_from_bytes, policy

import pytest

from engine.models import Admin, AuthSession, User
from protocol.commands import password_reset
from tests.e2e.support import loopback_relay
from tests.helpers import stored_state


@pytest.fixture
def smtp(engine):
    extra = {**engine.settings.extra, "account_mail_runner": lambda job: job()}
    with loopback_relay(engine, extra=extra) as recorder:
        yield recorder


def mails_to(smtp, address: str) -> list:
    return [message_from_bytes(data, policy=policy.default) for _, rcpts, data in smtp.messages if rcpts == [address]]


def mailed_token(smtp, address: str) -> str:
    body = mails_to(smtp, address)[-1].get_body().get_content()
    return re.search(r"([ua]\d+\.\d+\.[A-Za-z0-9_-]{43})", body).group(1)


def password_hash(engine, model, account_id) -> str:
    with engine.uow() as uow:
        return uow.session.get(model, account_id).password_hash


def sessions(engine, **owner) -> int:
    from sqlalchemy import func, select
    column = AuthSession.user_id if "user_id" in owner else AuthSession.admin_id
    with engine.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuthSession)
                                  .where(column == next(iter(owner.values()))))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- the user flow --------------------------------------------------------------------------------------
def test_reminder_mails_a_token_that_resets_the_password_once(api, user, smtp, engine):
    answer = api("User.PasswordRemind", EmailAddress="ALICE@example.com")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "PasswordResetToken": "",
                      "PasswordResetLink": ""}
    message = mails_to(smtp, "alice@example.com")[-1]
    assert message["From"] == "Sendmill <no-reply@sendmill.test>" and "password" in message["Subject"].lower()
    token = mailed_token(smtp, "alice@example.com")
    assert sessions(engine, user_id=user.id) == 1
    reset = api("User.PasswordReset", UserID=token, NewPassword="brand-new-pass")
    assert reset == {"Success": True, "ErrorCode": 0, "ErrorText": "", "WoocommerceUserId": False}
    assert sessions(engine, user_id=user.id) == 0  # every login ended
    assert api("User.Login", Username="alice", Password=user.password)["ErrorCode"] == [3]
    assert api("User.Login", Username="alice", Password="brand-new-pass")["Success"] is True
    # Single use: the password changed, so the token no longer verifies.
    before = password_hash(engine, User, user.id)
    again = api("User.PasswordReset", UserID=token, NewPassword="third-pass")
    assert again["Success"] is False and again["ErrorCode"] == [2]
    assert password_hash(engine, User, user.id) == before


def test_reset_without_new_password_mails_a_generated_one(api, user, smtp, engine):
    api("User.PasswordRemind", EmailAddress="alice@example.com")
    assert api("User.PasswordReset", UserID=mailed_token(smtp, "alice@example.com"))["Success"] is True
    body = mails_to(smtp, "alice@example.com")[-1].get_body().get_content()
    generated = re.search(r"new password is:\s+(\S+)", body).group(1)
    assert api("User.Login", Username="alice", Password=generated)["Success"] is True


def test_unknown_address_gets_the_same_answer_and_nothing_is_mailed(api, user, smtp, engine):
    before = stored_state(engine)
    known = api("User.PasswordRemind", EmailAddress="alice@example.com")
    unknown = api("User.PasswordRemind", EmailAddress="nobody@example.com")
    assert known == unknown
    assert mails_to(smtp, "nobody@example.com") == [] and len(mails_to(smtp, "alice@example.com")) == 1
    assert stored_state(engine) == before  # only the rate counters were written


def test_a_token_expires_after_an_hour(api, user, smtp, engine, clock):
    api("User.PasswordRemind", EmailAddress="alice@example.com")
    token = mailed_token(smtp, "alice@example.com")
    clock.advance(minutes=60, seconds=1)
    before = stored_state(engine)
    answer = api("User.PasswordReset", UserID=token, NewPassword="late-pass")
    assert answer["ErrorCode"] == [2]
    assert stored_state(engine) == before


def test_any_later_password_change_voids_the_token(api, user, smtp, engine):
    api("User.PasswordRemind", EmailAddress="alice@example.com")
    token = mailed_token(smtp, "alice@example.com")
    assert api("User.Update", user.session, UserID=user.id, Password="changed-meanwhile")["Success"] is True
    assert api("User.PasswordReset", UserID=token, NewPassword="x-pass")["ErrorCode"] == [2]
    assert api("User.Login", Username="alice", Password="changed-meanwhile")["Success"] is True


def test_tampered_and_cross_kind_tokens_are_refused(api, admin, user, smtp, engine):
    api("User.PasswordRemind", EmailAddress="alice@example.com")
    token = mailed_token(smtp, "alice@example.com")
    kind_id, expires, mac = token.split(".")
    forged = [f"{kind_id}.{int(expires) + 3600}.{mac}", f"u{user.id + 1}.{expires}.{mac}",
              f"{kind_id}.{expires}.{'A' * 43}", token + "x", "a" + token[1:]]
    before = stored_state(engine)
    for bad in forged:
        assert api("User.PasswordReset", UserID=bad, NewPassword="forged-pass")["ErrorCode"] == [2], bad
    assert api("Admin.PasswordReset", AdminID=token, NewPassword="forged-pass")["ErrorCode"] == [2]
    assert stored_state(engine) == before


# --- rate limits ------------------------------------------------------------------------------------------
def test_reminders_are_limited_per_address_whether_it_exists_or_not(api, user, smtp, engine, clock):
    for address in ("alice@example.com", "nobody@example.com"):
        for _ in range(5):
            assert api("User.PasswordRemind", EmailAddress=address)["Success"] is True
        refused = api("User.PasswordRemind", EmailAddress=address)
        assert refused["Success"] is False and refused["ErrorCode"] == [429], refused
    assert len(mails_to(smtp, "alice@example.com")) == 5
    clock.advance(hours=1)
    assert api("User.PasswordRemind", EmailAddress="alice@example.com")["Success"] is True


def test_reminders_are_limited_per_client_ip(api, smtp, engine):
    for n in range(20):
        assert api("User.PasswordRemind", EmailAddress=f"n{n}@example.com")["Success"] is True
    assert api("User.PasswordRemind", EmailAddress="fresh@example.com")["ErrorCode"] == [429]


# --- what only an administrator may ask for -------------------------------------------------------------
def test_administrator_gets_the_token_and_a_link_from_their_template(api, admin, user, smtp, engine):
    template = b64("https://app.example/reset?t=%PasswordResetToken%")
    answer = api("User.PasswordRemind", admin.session, EmailAddress="alice@example.com",
                 CustomResetLink=template, ReturnParams="true")
    token = answer["PasswordResetToken"]
    assert re.fullmatch(rf"u{user.id}\.\d+\.[A-Za-z0-9_-]{{43}}", token)
    assert answer["PasswordResetLink"] == f"https://app.example/reset?t={token}"
    assert f"https://app.example/reset?t={token}" in mails_to(smtp, "alice@example.com")[-1].get_body().get_content()
    plain = api("User.PasswordRemind", admin.session, EmailAddress="bob@example.com",
                CustomResetLink=b64("https://app.example/reset"), ReturnParams="1")
    assert plain["PasswordResetToken"] == "" and plain["PasswordResetLink"] == ""


# --- the administrator pair ------------------------------------------------------------------------------
def test_admin_reminder_and_reset(api, admin, smtp, engine):
    with engine.uow() as uow:
        uow.session.get(Admin, admin.id).email_address = "Root@Example.com"
        uow.commit()
    assert api("User.PasswordRemind", EmailAddress="root@example.com")["Success"] is True
    assert mails_to(smtp, "Root@Example.com") == []  # a user reminder never finds an administrator
    assert api("Admin.PasswordRemind", EmailAddress="root@example.com")["Success"] is True
    token = mailed_token(smtp, "Root@Example.com")
    assert token.startswith(f"a{admin.id}.")
    assert api("User.PasswordReset", UserID=token, NewPassword="x-pass-1")["ErrorCode"] == [2]
    assert api("Admin.PasswordReset", AdminID=token, NewPassword="admin-new-pass")["Success"] is True
    assert sessions(engine, admin_id=admin.id) == 0
    assert api("Admin.Login", Username="root", Password="admin-new-pass")["Success"] is True
    assert api("Admin.PasswordReset", AdminID=token, NewPassword="again-pass")["ErrorCode"] == [2]


# --- every documented code ----------------------------------------------------------------------------
CASES = [
    ("User.PasswordRemind", 1, None, {}),
    ("User.PasswordRemind", 2, None, {"EmailAddress": "alice@"}),
    ("User.PasswordRemind", 4, "user", {"EmailAddress": "alice@example.com", "ReturnParams": "true"}),
    ("User.PasswordRemind", 4, None, {"EmailAddress": "alice@example.com",
                                      "CustomResetLink": b64("https://evil.example/")}),
    ("User.PasswordRemind", 5, "admin", {"EmailAddress": "alice@example.com", "CustomResetLink": "%%%"}),
    ("User.PasswordRemind", 5, "admin", {"EmailAddress": "alice@example.com",
                                         "CustomResetLink": b64("javascript:alert(1)")}),
    ("User.PasswordRemind", 429, None, {"EmailAddress": "alice@example.com", "_flood": True}),
    ("Admin.PasswordRemind", 1, None, {}),
    ("Admin.PasswordRemind", 2, None, {"EmailAddress": "root"}),
    ("Admin.PasswordRemind", 4, None, {"EmailAddress": "root@example.com", "ReturnParams": "yes"}),
    ("Admin.PasswordRemind", 5, "admin", {"EmailAddress": "root@example.com", "CustomResetLink": b64("ftp://x")}),
    ("Admin.PasswordRemind", 429, None, {"EmailAddress": "root@example.com", "_flood": True}),
    ("User.PasswordReset", 1, None, {"NewPassword": "p-pass-1"}),
    ("User.PasswordReset", 2, None, {"UserID": "not-a-token"}),
    ("User.PasswordReset", 3, None, {"UserID": "u1.1.x", "NewPassword": "p" * 1025}),
    ("Admin.PasswordReset", 1, None, {}),
    ("Admin.PasswordReset", 2, None, {"AdminID": "a1.99999999999.AAAA"}),
    ("Admin.PasswordReset", 3, None, {"AdminID": "a1.1.x", "NewPassword": "p" * 1025}),
]


@pytest.mark.parametrize("command,code,caller,params", CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _, _) in enumerate(CASES)])
def test_documented_code(request, api, admin, user, smtp, engine, command, code, caller, params):
    session = {"admin": admin.session, "user": user.session, None: None}[caller]
    values = {k: v for k, v in params.items() if k != "_flood"}
    if params.get("_flood"):
        for _ in range(5):
            api(command, session, **values)
    sent = len(smtp.messages)
    before = stored_state(engine)
    hashes = (password_hash(engine, User, user.id), password_hash(engine, Admin, admin.id))
    answer = api(command, session, **values)
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    assert len(answer["ErrorText"]) == 1 and answer["ErrorText"][0]
    assert stored_state(engine) == before and len(smtp.messages) == sent
    assert (password_hash(engine, User, user.id), password_hash(engine, Admin, admin.id)) == hashes


def test_every_documented_code_has_a_case():
    for command in password_reset.COMMANDS:
        assert {code for name, code, _, _ in CASES if name == command.name} == set(command.errors), command.name


def test_the_hourly_count_survives_the_per_minute_limits_clean_up(api, user, smtp, engine, clock):
    # A public call opening a new minute window purges that limit's old windows; the hourly reminder
    # counters are not among them (purge_before's bucket prefix), or the limit would reset every minute.
    from engine.accounts.ratelimits import RateLimit

    engine.settings = dataclasses.replace(engine.settings, public_rate_limit=RateLimit(60, 60))
    for _ in range(5):
        api("User.PasswordRemind", EmailAddress="alice@example.com")
    clock.advance(minutes=2)
    assert api("User.Login", Username="alice", Password=user.password)["Success"] is True
    clock.advance(minutes=2)
    assert api("User.PasswordRemind", EmailAddress="alice@example.com")["ErrorCode"] == [429]
