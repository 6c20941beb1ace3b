"""Helpers shared by the protocol tests: an API caller and account builders."""
from __future__ import annotations

from dataclasses import dataclass


DISPATCHER_CODES = (99998, 99999, 100000, 100003)


def codes(answer: dict) -> list:
    """The error code(s) of an answer, whatever its shape (scalar, list or keyed)."""
    code = answer["ErrorCode"]
    if isinstance(code, list):
        return code
    if isinstance(code, dict):
        return list(code.values())
    return [code]


class ApiCaller:
    """Calls /api.php and checks the envelope; every failure must carry a code from the
    command's own error table (or a dispatcher code)."""

    def __init__(self, client):
        self.client = client

    @staticmethod
    def check_codes(command: str, answer: dict) -> None:
        from protocol.registry import COMMANDS

        spec = COMMANDS.get(command.lower())
        if spec is not None and not answer["Success"]:
            assert all(c in spec.errors or c in DISPATCHER_CODES for c in codes(answer)), answer

    def __call__(self, command: str, session: str | None = None, *, method: str = "POST", **params):
        """POST (form) or GET a command; returns the decoded JSON after checking the envelope."""
        data = {"Command": command, "ResponseFormat": "JSON", **params}
        if session is not None:
            data["SessionID"] = session
        if method == "GET":
            response = self.client.get("/api.php", query_string=data)
        else:
            response = self.client.post("/api.php", data=data)
        assert response.status_code == 200, response.data
        assert response.mimetype == "application/json"
        body = response.get_json()
        assert isinstance(body["Success"], bool)
        self.check_codes(command, body)
        return body

    def json(self, payload: dict):
        response = self.client.post("/api.php", json=payload)
        assert response.status_code == 200
        return response.get_json()


@dataclass
class Account:
    id: int
    username: str
    password: str
    session: str


def make_admin(engine, api, username: str = "root", password: str = "admin-pass-1") -> Account:
    with engine.uow() as uow:
        uow.accounts.ensure_default_group()
        admin = uow.accounts.create_admin(username, password)
        uow.commit()
        admin_id = admin.id
    answer = api("Admin.Login", Username=username, Password=password)
    assert answer["Success"] is True, answer
    return Account(admin_id, username, password, answer["SessionID"])


def make_user(engine, api, username: str, password: str = "user-pass-1", **profile) -> Account:
    with engine.uow() as uow:
        user = uow.accounts.create_user(username=username, password=password,
                                        email=f"{username}@example.com", **profile)
        uow.commit()
        user_id = user.id
    answer = api("User.Login", Username=username, Password=password)
    assert answer["Success"] is True, answer
    return Account(user_id, username, password, answer["SessionID"])
