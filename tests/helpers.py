"""Helpers shared by the protocol tests: an API caller and account builders."""
from __future__ import annotations

from dataclasses import dataclass


DISPATCHER_CODES = (99998, 99999, 100000, 100003, 100006, 100007)


def legacy_token(signer, kind, *, instance_id: int = 0, subscriber_id: int, link_index: int | None = None,
                 local: bool = False) -> str:
    """A token as Sendmill signed them before revision 0002 (version 1: the ids, no nonce), as links
    already mailed carry them; base32 for a mail local part when `local`."""
    from engine.tracking.tokens import LEGACY_VERSION, MAC_BYTES, _varint, b32_token, url_token

    payload = bytes((LEGACY_VERSION << 4 | kind,)) + _varint(instance_id) + _varint(subscriber_id)
    if link_index is not None:
        payload += _varint(link_index)
    raw = payload + signer._mac(payload)[:MAC_BYTES]
    return b32_token(raw) if local else url_token(raw)


def codes(answer: dict) -> list:
    """The error code(s) of an answer, whatever its shape (scalar, list or keyed)."""
    code = answer["ErrorCode"]
    if isinstance(code, list):
        return code
    if isinstance(code, dict):
        return list(code.values())
    return [code]


# What any request may write, refused or not: the credential's last use and the per-IP counters.
REQUEST_BOOKKEEPING = frozenset({"auth_sessions", "api_keys", "rate_limit_counters"})


def stored_state(engine, *models, skip=REQUEST_BOOKKEEPING) -> dict:
    """Every stored row, table by table in primary-key order: all tables but `skip`, or only those of
    `models`. Take it before a call that must be refused and compare after — a refused call changes
    nothing (`assert stored_state(engine) == before`)."""
    from sqlalchemy import exists, literal, select, union_all

    from engine.db import Base

    tables = [m.__table__ for m in models] or [t for t in Base.metadata.sorted_tables if t.name not in skip]
    # One round trip finds the tables holding rows; only those are read (most of ~50 are empty in a test).
    holding_rows = union_all(*(select(literal(position)).where(exists().select_from(table))
                               for position, table in enumerate(tables)))
    with engine.uow() as uow:
        full = set(uow.session.execute(holding_rows).scalars())
        return {t.name: [tuple(row) for row in uow.session.execute(select(t).order_by(*t.primary_key.columns))]
                if position in full else []
                for position, t in enumerate(tables)}


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
            names = set(spec.error_keys.values()) if spec.error_shape in ("named", "scalar") else set()
            assert all(c in spec.errors or c in names or c in DISPATCHER_CODES for c in codes(answer)), answer

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
class RestAnswer:
    status: int
    body: dict
    headers: dict

    @property
    def code(self) -> str | None:
        """The application error code of a failure (None on success)."""
        details = (self.body or {}).get("details") or {}
        if "applicationError" in details:
            return details["applicationError"]["code"]
        return "INVALID_ARGUMENT" if "validationError" in details else None


class RestCaller:
    """Calls the REST surface with `Authorization: Bearer <credential>` and checks the envelope:
    JSON always; a failure carries the modern error body, and a status the endpoint declares
    (its error table, 400 for validation, 401/403 for credentials)."""

    def __init__(self, client):
        self.client = client

    def __call__(self, method: str, path: str, credential: str | None = None, *, json=None,
                 query=None, raw: bytes | None = None) -> RestAnswer:
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        kwargs = {"headers": headers, "query_string": query}
        if raw is not None:
            kwargs.update(data=raw, content_type="application/json")
        elif json is not None:
            kwargs["json"] = json
        response = self.client.open(path, method=method, **kwargs)
        assert response.mimetype == "application/json", (response.status_code, response.data[:300])
        answer = RestAnswer(response.status_code, response.get_json(), dict(response.headers))
        if response.status_code >= 400:
            assert isinstance(answer.body.get("message"), str) and answer.body["message"], answer.body
            assert "applicationError" in answer.body["details"] or "validationError" in answer.body["details"]
            self._check_declared(method, path, answer)
        return answer

    def get(self, path, credential=None, **query):
        return self("GET", path, credential, query=query or None)

    def post(self, path, credential=None, json=None, **kwargs):
        return self("POST", path, credential, json=json if json is not None else {}, **kwargs)

    def delete(self, path, credential=None, **query):
        return self("DELETE", path, credential, query=query or None)

    def patch(self, path, credential=None, json=None):
        return self("PATCH", path, credential, json=json if json is not None else {})

    def _check_declared(self, method: str, path: str, answer: RestAnswer) -> None:
        app = self.client.application
        adapter = app.url_map.bind("sendmill.test")
        try:
            endpoint_name, _args = adapter.match(path.split("?")[0], method=method)
        except Exception:  # noqa: BLE001 - not a REST route (e.g. 404/405 from Flask itself)
            return
        declared = {e.endpoint_name: e for e in app.extensions.get("sendmill.rest_endpoints", [])}
        endpoint = declared.get(endpoint_name.split(".")[-1])
        if endpoint is None:
            return
        # 504: any endpoint that evaluates criteria may hit the audience time limit (RestApi maps it).
        allowed = {status for status, _code in endpoint.errors.values()} | {400, 401, 403, 404, 504}
        assert answer.status in allowed, (answer.status, answer.body, sorted(allowed))


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
