"""The REST surface's shared behaviour: credentials, validation, error bodies, OpenAPI."""
from __future__ import annotations

import pytest
from marshmallow import fields, validate

from engine.errors import CampaignNotFound, DomainError
from protocol.command import ADMIN
from protocol.rest.core import Endpoint, RestSchema
from tests.helpers import RestCaller


class Conflict(DomainError):
    """Already there."""


class EchoBody(RestSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=10))
    tags = fields.List(fields.String(), load_default=list)


class EchoQuery(RestSchema):
    ids = fields.List(fields.Integer(), load_default=list)
    limit = fields.Integer(load_default=40, validate=validate.Range(min=1, max=1000))


def echo(ctx):
    if ctx.body["name"] == "dup":
        raise Conflict("An object with this name already exists")
    if ctx.body["name"] == "missing":
        raise CampaignNotFound()
    if ctx.body["name"] == "boom":
        raise RuntimeError("secret internal detail")
    return {"echo": ctx.body, "query": ctx.args, "path": ctx.path, "actor": ctx.actor.id}


ENDPOINTS = [
    Endpoint("POST", "/test/v1/things/{thingId}", echo, "Echo", "Test", query_params=EchoQuery, body=EchoBody,
             errors={Conflict: (409, "THING_ALREADY_EXISTS")}, permission="Campaign.Get"),
    Endpoint("GET", "/test/v1/admin-only", lambda ctx: {"ok": True}, "Admin", "Test", auth=ADMIN),
]


@pytest.fixture
def rest_app(engine):
    from protocol.app import create_app

    app = create_app(engine, rest_endpoints=ENDPOINTS)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def call(rest_app):
    return RestCaller(rest_app.test_client())


@pytest.fixture
def key(api, user):
    answer = api("User.APIKey.Create", user.session, Note="rest tests")
    assert answer["Success"], answer
    return answer["APIKey"]["APIKey"]


def test_api_key_raw_or_bearer_and_session_id_all_authenticate(rest_app, call, key, user):
    client = rest_app.test_client()
    for header in (key, f"Bearer {key}", f"bearer {key}", f"Bearer {user.session}"):
        response = client.post("/test/v1/things/7?ids=1&ids=2", json={"name": "x"},
                               headers={"Authorization": header})
        assert response.status_code == 200, response.data
        assert response.get_json() == {"echo": {"name": "x", "tags": []}, "query": {"ids": [1, 2], "limit": 40},
                                       "path": {"thingId": "7"}, "actor": user.id}


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer not-a-key", "nope"])
def test_missing_or_unknown_credentials_are_401(call, header):
    credential = header[7:] if header and header.startswith("Bearer ") else header
    answer = call.post("/test/v1/things/1", credential, json={"name": "x"})
    assert answer.status == 401 and answer.code == "UNAUTHENTICATED"


def test_user_endpoint_refuses_administrators_and_admin_endpoint_refuses_users(call, admin, user):
    assert call.post("/test/v1/things/1", admin.session, json={"name": "x"}).status == 403
    assert call.get("/test/v1/admin-only", user.session).status == 403
    assert call.get("/test/v1/admin-only", admin.session).body == {"ok": True}


def test_group_permission_is_checked(engine, call, api):
    from tests.helpers import make_user
    with engine.uow() as uow:
        group = uow.accounts.create_group(name="Readers", permissions="List.Get")
        uow.commit()
        group_id = group.id
    reader = make_user(engine, api, "reader", group_id=group_id)
    answer = call.post("/test/v1/things/1", reader.session, json={"name": "x"})
    assert answer.status == 403 and answer.code == "PERMISSION_DENIED"


def test_validation_errors_name_each_field(call, user):
    answer = call.post("/test/v1/things/1?limit=0", user.session, json={"name": "far too long name", "tags": "x"})
    assert answer.status == 400 and answer.code == "INVALID_ARGUMENT"
    fields_named = {v["field"] for v in answer.body["details"]["validationError"]["fieldViolations"]}
    assert {"name", "tags", "limit"} <= fields_named


def test_bad_json_and_non_object_bodies_are_400(call, user):
    assert call("POST", "/test/v1/things/1", user.session, raw=b"{not json").status == 400
    assert call("POST", "/test/v1/things/1", user.session, raw=b"[1, 2]").status == 400


def test_domain_errors_map_to_declared_status_and_code(call, user):
    answer = call.post("/test/v1/things/1", user.session, json={"name": "dup"})
    assert (answer.status, answer.code) == (409, "THING_ALREADY_EXISTS")
    assert answer.body["message"] == "An object with this name already exists"
    answer = call.post("/test/v1/things/1", user.session, json={"name": "missing"})
    assert (answer.status, answer.code) == (404, "NOT_FOUND")


def test_unexpected_failures_are_500_json_without_internals(rest_app, user):
    # (RestCaller refuses undeclared statuses such as 500, so this one test calls the client directly.)
    response = rest_app.test_client().post("/test/v1/things/1", json={"name": "boom"},
                                           headers={"Authorization": f"Bearer {user.session}"})
    assert response.status_code == 500 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["details"]["applicationError"]["code"] == "INTERNAL"
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "request id" in body["message"]


def test_openapi_document_describes_every_endpoint(rest_app):
    document = rest_app.test_client().get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    operation = document["paths"]["/test/v1/things/{thingId}"]["post"]
    assert {"200", "400", "401", "403", "409"} <= set(operation["responses"])
    assert operation["requestBody"]["content"]["application/json"]["schema"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"thingId", "ids", "limit"} <= names
    assert document["paths"]["/test/v1/admin-only"]["get"]["security"] == [{"apiKey": []}]


def test_real_app_serves_openapi_for_the_registered_endpoints(client):
    from protocol.rest.registry import all_endpoints

    document = client.get("/openapi.json").get_json()
    served = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert served == {(e.method, e.path) for e in all_endpoints()}
