"""/openapi.json, generated from the REST endpoints' own declarations (apispec + marshmallow)."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from protocol.command import PUBLIC
from protocol.rest.core import STATUS_NAMES, Endpoint

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "details": {"type": "object", "properties": {
            "applicationError": {"type": "object", "properties": {
                "code": {"type": "string"}, "description": {"type": "string"}, "data": {"type": "object"}}},
            "validationError": {"type": "object", "properties": {
                "fieldViolations": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "description": {"type": "string"}}}}}},
        }},
    },
}


def build_openapi(endpoints: list[Endpoint], server_url: str, version: str) -> dict:
    spec = APISpec(title="Sendmill", version=version, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)], servers=[{"url": server_url}],
                   info={"description": "The modern REST surface of Sendmill. Every operation is also "
                                        "reachable as an /api.php command (see the README)."})
    spec.components.security_scheme("apiKey", {"type": "apiKey", "in": "header", "name": "Authorization",
                                               "description": "An API key or session ID, raw or as `Bearer <key>`"})
    spec.components.schema("Error", ERROR_SCHEMA)
    by_path: dict[str, dict] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    for path, operations in sorted(by_path.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _schema_name(schema) -> str:
    """Component names qualified by area (`senders.CreateBody` → `SendersCreateBody`): areas reuse short names."""
    cls = schema if isinstance(schema, type) else type(schema)
    area = cls.__module__.rsplit(".", 1)[-1]
    name = "".join(part.capitalize() for part in area.split("_")) + cls.__name__
    return name[:-6] if name.endswith("Schema") and len(name) > 6 else name


def _operation(endpoint: Endpoint) -> dict:
    operation: dict = {
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "operationId": endpoint.endpoint_name,
        "parameters": [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                       for name in re.findall(r"\{(\w+)\}", endpoint.path)],
        "responses": {str(endpoint.status): {"description": "OK", "content": {"application/json": {
            "schema": endpoint.response if endpoint.response else {"type": "object"}}}}},
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    if endpoint.query_params is not None:
        operation["parameters"].append({"in": "query", "schema": endpoint.query_params})
    if endpoint.body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": endpoint.body}}}
    statuses = {status for status, _code in endpoint.errors.values()} | {400}
    if endpoint.auth != PUBLIC:
        operation["security"] = [{"apiKey": []}]
        statuses |= {401, 403}
    for status in sorted(statuses):
        codes = sorted({code for s, code in endpoint.errors.values() if s == status}) or [STATUS_NAMES[status]]
        operation["responses"][str(status)] = {
            "description": ", ".join(codes),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return operation
