"""Admin.Update and Users.Status through HTTP: every documented code with the stored state re-read after
the refusal, what a success stores, and who may call them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.models import Admin, AuthSession, User
from protocol.commands import administration
from protocol.registry import COMMANDS
from tests.helpers import make_admin, stored_state


def load_admin(engine, admin_id: int) -> Admin:
    with engine.uow() as uow:
        admin = uow.session.get(Admin, admin_id)
        uow.session.expunge(admin)
        return admin


def own(admin, **overrides) -> dict:
    params = {"AdminID": admin.id, "Name": "Root Admin", "Username": "root", "EmailAddress": "root@example.com"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


# --- Admin.Update -------------------------------------------------------------------------------------
def test_admin_updates_own_name_username_and_address(api, admin, engine):
    answer = api("Admin.Update", admin.session, **own(admin, Name="Ada", Username="ada", EmailAddress="ada@x.example"))
    assert answer["Success"] is True and answer["AdminInfo"]["Username"] == "ada", answer
    stored = load_admin(engine, admin.id)
    assert (stored.name, stored.username, stored.email_address) == ("Ada", "ada", "ada@x.example")
    assert api("Admin.Login", Username="ada", Password=admin.password)["Success"] is True


def test_a_new_password_ends_the_other_sessions_but_not_this_one(api, admin, engine):
    other = api("Admin.Login", Username="root", Password=admin.password)["SessionID"]
    assert api("Admin.Update", admin.session, **own(admin, Password="new-admin-pass"))["Success"] is True
    assert api("Users.Status", other)["ErrorCode"] == 99998
    assert api("Users.Status", admin.session)["Success"] is True
    assert api("Admin.Login", Username="root", Password=admin.password)["ErrorCode"] == [3]
    assert api("Admin.Login", Username="root", Password="new-admin-pass")["Success"] is True


def test_without_password_the_password_and_sessions_stay(api, admin, engine):
    hash_before = load_admin(engine, admin.id).password_hash
    other = api("Admin.Login", Username="root", Password=admin.password)["SessionID"]
    assert api("Admin.Update", admin.session, **own(admin, Name="Still Root"))["Success"] is True
    assert load_admin(engine, admin.id).password_hash == hash_before
    assert api("Users.Status", other)["Success"] is True


ADMIN_UPDATE_CASES = [
    (1, lambda a, b: own(a, Name=None)),
    (1, lambda a, b: own(a, Name="   ")),
    (2, lambda a, b: own(a, Username=None)),
    (4, lambda a, b: own(a, EmailAddress=None)),
    (6, lambda a, b: own(a, AdminID=None)),
    (6, lambda a, b: own(a, AdminID="root")),
    (7, lambda a, b: own(a, EmailAddress="root@")),
    (8, lambda a, b: own(a, AdminID=b.id)),        # another administrator's account
    (8, lambda a, b: own(a, AdminID=999999)),      # a missing one answers the same
    (9, lambda a, b: own(a, Username="OTHER")),
    (10, lambda a, b: own(a, Name="x" * 256)),
]


@pytest.mark.parametrize("code,params", ADMIN_UPDATE_CASES, ids=[f"code-{c}-{i}" for i, (c, _) in
                                                                 enumerate(ADMIN_UPDATE_CASES)])
def test_admin_update_documented_code(api, admin, engine, code, params):
    other = make_admin(engine, api, "other", "other-pass-1")
    before = stored_state(engine)
    answer = api("Admin.Update", admin.session, **params(admin, other))
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    assert len(answer["ErrorText"]) == 1 and answer["ErrorText"][0]
    assert stored_state(engine) == before
    stored = load_admin(engine, admin.id)
    assert (stored.name, stored.username) == ("", "root")


def test_every_documented_code_has_a_case():
    assert {code for code, _ in ADMIN_UPDATE_CASES} == set(administration.ADMIN_UPDATE.errors)


# --- Users.Status -------------------------------------------------------------------------------------
def set_activity(engine, user_id, moment):
    with engine.uow() as uow:
        uow.session.get(User, user_id).last_activity_at = moment
        uow.commit()


def test_status_splits_users_by_activity_within_the_duration(api, admin, user, other_user, engine, clock):
    set_activity(engine, user.id, clock.now - timedelta(days=3))
    set_activity(engine, other_user.id, clock.now - timedelta(days=40))
    answer = api("Users.Status", admin.session)
    assert answer["Success"] is True and answer["Summary"] == {"ActiveUsers": 1, "IdleUsers": 1}
    rows = {row["UserID"]: row for row in answer["Users"]}
    assert rows[user.id]["Status"] == "active" and rows[other_user.id]["Status"] == "idle"
    assert rows[other_user.id]["LastActivity"] == (clock.now - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S")
    wide = api("Users.Status", admin.session, Duration=90)
    assert wide["Summary"] == {"ActiveUsers": 2, "IdleUsers": 0}
    narrow = api("Users.Status", admin.session, Duration=1)
    assert narrow["Summary"] == {"ActiveUsers": 0, "IdleUsers": 2}


def test_a_user_never_active_is_idle(api, admin, engine):
    with engine.uow() as uow:
        uow.accounts.create_user(username="quiet", password="quiet-pass-1", email="quiet@example.com")
        uow.commit()
    answer = api("Users.Status", admin.session)
    assert answer["Users"] == [{"UserID": answer["Users"][0]["UserID"], "Status": "idle", "LastActivity": ""}]


@pytest.mark.parametrize("duration", ["0", "91", "thirty", "-5"])
def test_status_code_2_for_a_duration_outside_1_to_90(api, admin, user, engine, duration):
    before = stored_state(engine)
    answer = api("Users.Status", admin.session, Duration=duration)
    assert answer["Success"] is False and answer["ErrorCode"] == 2 and answer["ErrorText"]
    assert stored_state(engine) == before


def test_status_code_1_when_the_users_cannot_be_read(api, admin, user, engine, monkeypatch):
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    real = Session.execute

    def locked(self, statement, *args, **kwargs):
        if "last_activity_at" in str(statement) and str(statement).lstrip().upper().startswith("SELECT"):
            raise OperationalError("SELECT", {}, Exception("lock wait timeout exceeded"))
        return real(self, statement, *args, **kwargs)

    before = stored_state(engine)
    monkeypatch.setattr(Session, "execute", locked)
    answer = api("Users.Status", admin.session)
    monkeypatch.setattr(Session, "execute", real)
    assert answer["Success"] is False and answer["ErrorCode"] == 1 and "retrieve" in answer["ErrorText"]
    assert stored_state(engine) == before


def test_every_users_status_code_has_a_case():
    assert set(COMMANDS["users.status"].errors) == {1, 2}


@pytest.mark.parametrize("command", ["Admin.Update", "Users.Status"])
def test_admin_only(api, admin, user, engine, command):
    before = stored_state(engine)
    answer = api(command, user.session, **own(admin))
    assert answer["ErrorCode"] == 99999
    assert api(command, **own(admin))["ErrorCode"] == 99998
    assert stored_state(engine) == before
