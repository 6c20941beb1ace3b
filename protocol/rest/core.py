"""The modern JSON REST surface: endpoints declared like commands, one error body, one auth rule.

An `Endpoint` reads like its spec page: method and path, the marshmallow schemas of its query and
body, the domain errors it answers with (HTTP status + application code), one `run` into the engine.
`/openapi.json` is generated from the same declarations (protocol/rest/openapi.py), so the
document cannot drift from what is served.

Errors follow the modern API's shape:
    {"message": "...", "details": {"applicationError": {"code": "...", "description": "...", "data": {}}}}
and validation failures:
    {"message": "...", "details": {"validationError": {"fieldViolations": [{"field": "...", "description": "..."}]}}}
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from flask import Blueprint, Response, request
from marshmallow import EXCLUDE, Schema, ValidationError

from engine.accounts.auth import Actor
from engine.errors import (
    AccountNotActive, AudienceQueryTimeout, AuthenticationFailed, DomainError, NotFound, PermissionDenied,
)
from engine.uow import UnitOfWork
from protocol.command import ADMIN, ANY, PUBLIC, USER
from protocol.rest.inputs import InputRefused, json_body, query_values, value_violations

log = logging.getLogger("sendmill.rest")

# HTTP status -> the modern API's name for it (used when an error has no application code).
STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED", 409: "ALREADY_EXISTS", 413: "PAYLOAD_TOO_LARGE", 428: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 504: "DEADLINE_EXCEEDED",
}


class RestError(Exception):
    """A failure answered as-is: an HTTP status, an application code and a message for the caller."""

    def __init__(self, status: int, code: str, message: str, data: dict | None = None,
                 headers: dict | None = None, body: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.data = data or {}
        self.headers = headers or {}
        self.body = body or error_body(status, code, message, self.data)


class RestSchema(Schema):
    """Base of every request schema: unknown fields are ignored, as modern clients send extras."""

    class Meta:
        unknown = EXCLUDE


@dataclass
class RestContext:
    uow: UnitOfWork
    actor: Actor | None
    ip: str
    path: dict[str, str]
    args: dict
    body: dict

    @property
    def now(self):
        return self.uow.clock()


@dataclass(frozen=True)
class Endpoint:
    method: str                  # GET, POST, PATCH, PUT, DELETE
    path: str                    # OpenAPI template, e.g. /email-marketing/v1/campaigns/{campaignId}
    run: Callable[[RestContext], dict | None]
    summary: str
    tag: str
    query_params: type[Schema] | None = None
    body: type[Schema] | None = None
    response: type[Schema] | None = None   # documentation only
    # Domain error class -> (HTTP status, application code). Looked up along the exception's MRO.
    errors: Mapping[type[Exception], tuple[int, str]] = field(default_factory=dict)
    auth: str = USER
    # The user-group permission a user needs (the legacy command it mirrors); "" = none.
    permission: str = ""
    status: int = 200
    description: str = ""
    # The caller's email-marketing account must be ACTIVE (checked before `run`); `errors` must map
    # AccountNotActive.
    requires_active_account: bool = False

    def __post_init__(self):
        if self.requires_active_account and self.error_for(AccountNotActive()) is None:
            raise RuntimeError(f"{self.method} {self.path} requires an ACTIVE account but maps no AccountNotActive")

    @property
    def flask_rule(self) -> str:
        return re.sub(r"\{(\w+)\}", r"<\1>", self.path)

    @property
    def endpoint_name(self) -> str:
        return f"{self.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', self.path.lower()).strip('_')}"

    def error_for(self, exc: Exception) -> tuple[int, str] | None:
        for cls in type(exc).__mro__:
            if cls in self.errors:
                return self.errors[cls]
        if isinstance(exc, NotFound):
            return 404, "NOT_FOUND"
        if isinstance(exc, AudienceQueryTimeout):
            return 504, "DEADLINE_EXCEEDED"  # any endpoint that evaluates criteria (README)
        return None


def error_body(status: int, code: str, message: str, data: dict | None = None) -> dict:
    return {"message": message,
            "details": {"applicationError": {"code": code or STATUS_NAMES.get(status, "ERROR"),
                                             "description": message, "data": data or {}}}}


def validation_body(messages: Mapping[str, Any]) -> dict:
    violations = []

    def walk(node, path):
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list) and node and all(isinstance(x, str) for x in node):
            violations.append({"field": path, "description": " ".join(node)})
        elif isinstance(node, list):
            for item in node:
                walk(item, path)
        else:
            violations.append({"field": path, "description": str(node)})

    walk(messages, "")
    return violations_body(violations)


def violations_body(violations: list[dict]) -> dict:
    summary = "; ".join(f"{v['field']}: {v['description']}" for v in violations) or "invalid request"
    return {"message": summary, "details": {"validationError": {"fieldViolations": violations}}}


def json_response(payload: Any, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(payload, default=str), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = str(value)
    return response


def bearer_token(header: str | None) -> str | None:
    """The credential of an Authorization header: the raw key, or `Bearer <key>`."""
    text = (header or "").strip()
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    return text or None


class RestApi:
    """Runs endpoints: credentials → query/body validation → one engine call → JSON."""

    def __init__(self, engine, endpoints: list[Endpoint]):
        self.engine = engine
        self.endpoints = endpoints

    def blueprint(self) -> Blueprint:
        bp = Blueprint("rest", __name__)
        for endpoint in self.endpoints:
            bp.add_url_rule(endpoint.flask_rule, endpoint.endpoint_name, self._view(endpoint),
                            methods=[endpoint.method])
        return bp

    def _view(self, endpoint: Endpoint):
        def view(**path):
            request_id = uuid.uuid4().hex[:12]
            try:
                return self._handle(endpoint, path)
            except RestError as exc:
                return json_response(exc.body, exc.status, exc.headers)
            except InputRefused as exc:
                return json_response(error_body(exc.status, exc.code, exc.message), exc.status)
            except Exception:  # noqa: BLE001 - the one place that turns surprises into a safe answer
                log.exception("request %s: %s %s failed", request_id, endpoint.method, endpoint.path)
                return json_response(error_body(500, "INTERNAL", f"Internal error (request id {request_id})"),
                                     500)
        view.__name__ = endpoint.endpoint_name
        return view

    def _handle(self, endpoint: Endpoint, path: dict) -> Response:
        raw_args = query_values(endpoint.query_params()) if endpoint.query_params else {}
        raw_body = json_body() if endpoint.body else {}
        refused = value_violations(path=path, query=raw_args, body=raw_body)
        if refused:
            report = violations_body(refused)
            raise RestError(400, "INVALID_ARGUMENT", report["message"], body=report)
        problems: dict = {}
        args = self._load(endpoint.query_params, raw_args, problems)
        body = self._load(endpoint.body, raw_body, problems) if endpoint.body else {}
        if problems:
            report = validation_body(problems)
            raise RestError(400, "INVALID_ARGUMENT", report["message"], body=report)
        with self.engine.uow() as uow:
            actor = self._authenticate(uow, endpoint)
            ctx = RestContext(uow=uow, actor=actor, ip=request.remote_addr or "", path=path, args=args,
                              body=body)
            try:
                if endpoint.requires_active_account:
                    uow.email_account.require_active(actor)
                result = endpoint.run(ctx)
            except DomainError as exc:
                uow.rollback()
                mapped = endpoint.error_for(exc)
                if mapped is None:
                    if isinstance(exc, PermissionDenied):
                        mapped = (403, "PERMISSION_DENIED")
                    else:
                        raise
                status, code = mapped
                retry_after = getattr(exc, "retry_after", None)
                headers = {"Retry-After": max(1, int(retry_after))} if retry_after else None
                raise RestError(status, code, exc.message, getattr(exc, "extra", None) or {}, headers) from None
            uow.commit()
        return json_response(result if result is not None else {}, endpoint.status)

    @staticmethod
    def _load(schema_cls: type[Schema] | None, data: dict, problems: dict) -> dict:
        """The loaded values; validation messages are collected in `problems` (query and body together)."""
        if schema_cls is None:
            return {}
        try:
            return schema_cls().load(data)
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
            problems.update(messages)
            return {}

    @staticmethod
    def _authenticate(uow, endpoint: Endpoint) -> Actor | None:
        token = bearer_token(request.headers.get("Authorization"))
        ip = request.remote_addr or ""
        if endpoint.auth == PUBLIC and not token:
            return None
        if not token:
            raise RestError(401, "UNAUTHENTICATED",
                            "Send an API key or session ID in the Authorization header (`Bearer <key>`)")
        try:
            # The same credentials as /api.php: an API key, or a SessionID from User.Login.
            actor = uow.auth.resolve(session_id=token, api_key=token, ip=ip)
        except AuthenticationFailed:
            if endpoint.auth == PUBLIC:
                return None
            raise RestError(401, "UNAUTHENTICATED", "Authentication failure or session expired") from None
        uow.auth.record_use()
        uow.commit()  # the session's sliding expiry and the key's usage count are kept even if run fails
        if endpoint.auth == ADMIN and not actor.is_admin:
            raise RestError(403, "PERMISSION_DENIED", "This endpoint is for administrators")
        if endpoint.auth == USER and actor.is_admin:
            raise RestError(403, "PERMISSION_DENIED", "Log in as a user: administrators own no campaigns")
        if endpoint.auth in (USER, ANY) and endpoint.permission and not actor.can(endpoint.permission):
            raise RestError(403, "PERMISSION_DENIED", "Not enough privileges")
        return actor
