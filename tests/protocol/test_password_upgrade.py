"""Password hashes: OWASP's argon2id parameters, and old hashes upgraded at a successful login (README,
"Security"; engine/accounts/passwords.py)."""
from __future__ import annotations

import hashlib

import argon2
import pytest
from argon2.profiles import RFC_9106_LOW_MEMORY

import engine.accounts.passwords
from engine.accounts.passwords import OWASP_ARGON2ID
from engine.models import Admin, User
from tests.helpers import stored_state

# argon2-cffi's default, which every hash stored before revision 0017 was made with: m = 64 MiB, t = 3, p = 4.
OLD = argon2.PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


@pytest.fixture
def owasp_hasher(monkeypatch):
    """The production parameters instead of the suite's cheap ones (tests/conftest.py)."""
    monkeypatch.setattr(engine.accounts.passwords, "_hasher", argon2.PasswordHasher.from_parameters(OWASP_ARGON2ID))


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - what the legacy wire format hashes


def store_old_hash(engine, model, account_id: int, password: str) -> str:
    old = OLD.hash(md5_hex(password))
    with engine.uow() as uow:
        uow.session.get(model, account_id).password_hash = old
        uow.commit()
    return old


def stored_hash(engine, model, account_id: int) -> str:
    with engine.uow() as uow:
        return uow.session.get(model, account_id).password_hash


def test_the_parameters_are_an_owasp_argon2id_configuration():
    # OWASP Password Storage Cheat Sheet: "m=12288 (12 MiB), t=3, p=1".
    assert (OWASP_ARGON2ID.type, OWASP_ARGON2ID.memory_cost, OWASP_ARGON2ID.time_cost,
            OWASP_ARGON2ID.parallelism) == (argon2.Type.ID, 12288, 3, 1)


def test_a_new_password_is_hashed_with_them(api, admin, engine, owasp_hasher):
    answer = api("Admin.Update", admin.session, AdminID=admin.id, Name="Root Admin", Username=admin.username,
                 EmailAddress="root@example.com", Password="new-admin-pass-2")
    assert answer["Success"] is True, answer
    assert argon2.extract_parameters(stored_hash(engine, Admin, admin.id)) == OWASP_ARGON2ID
    assert api("Admin.Login", Username=admin.username, Password="new-admin-pass-2")["Success"] is True


@pytest.mark.parametrize("encrypted", [False, True])
def test_an_old_user_hash_still_verifies_and_is_upgraded_at_login(api, user, engine, owasp_hasher, encrypted):
    old = store_old_hash(engine, User, user.id, user.password)
    password = md5_hex(user.password) if encrypted else user.password
    extra = {"PasswordEncrypted": "true"} if encrypted else {}
    login = api("User.Login", Username=user.username, Password=password, **extra)
    assert login["Success"] is True, login
    upgraded = stored_hash(engine, User, user.id)
    assert upgraded != old and argon2.extract_parameters(upgraded) == OWASP_ARGON2ID
    # The new hash is of the same password: both ways of logging in still work, and nothing is upgraded again.
    assert api("User.Login", Username=user.username, Password=user.password)["Success"] is True
    assert api("User.Login", Username=user.username, Password=md5_hex(user.password),
               PasswordEncrypted="true")["Success"] is True
    assert stored_hash(engine, User, user.id) == upgraded


def test_an_old_admin_hash_still_verifies_and_is_upgraded_at_login(api, admin, engine, owasp_hasher):
    old = store_old_hash(engine, Admin, admin.id, admin.password)
    assert api("Admin.Login", Username=admin.username, Password=admin.password)["Success"] is True
    upgraded = stored_hash(engine, Admin, admin.id)
    assert upgraded != old and argon2.extract_parameters(upgraded) == OWASP_ARGON2ID
    assert api("Admin.Login", Username=admin.username, Password=admin.password)["Success"] is True


@pytest.mark.parametrize("command, model, fixture", [("User.Login", User, "user"), ("Admin.Login", Admin, "admin")])
def test_a_wrong_password_never_upgrades_the_hash(api, engine, owasp_hasher, request, command, model, fixture):
    account = request.getfixturevalue(fixture)
    old = store_old_hash(engine, model, account.id, account.password)
    before = stored_state(engine, skip=())
    for wrong in ("not-the-password", account.password.upper(), md5_hex(account.password)):
        answer = api(command, Username=account.username, Password=wrong)
        assert answer["Success"] is False and answer["ErrorCode"] in ([3], 3), answer
    assert stored_state(engine, skip=()) == before
    assert stored_hash(engine, model, account.id) == old


def test_a_disabled_account_with_the_right_password_keeps_its_old_hash(api, admin, user, engine, owasp_hasher):
    # The password was right, but the login is refused: the refused call writes nothing, the upgrade included.
    assert api("User.Update", admin.session, UserID=user.id, AccountStatus="Disabled")["Success"] is True
    old = store_old_hash(engine, User, user.id, user.password)
    before = stored_state(engine, skip=())
    assert api("User.Login", Username=user.username, Password=user.password)["Success"] is False
    assert stored_state(engine, skip=()) == before
    assert stored_hash(engine, User, user.id) == old
