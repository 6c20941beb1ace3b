"""API keys over /api.php: User.APIKey.Create/List/Delete (v5.7.3/api-reference/users.md, the v1
user.apikey endpoints reached through /api.php) and the same three for administrators.

The key itself is answered once, by Create; only its SHA-256 digest is stored, so listings show
the first characters (KeyPrefix) instead. v5.7.3 requires the User.Update permission for the user
commands. Errors are lists (protocol.md Part 1 §1): the v1 `Errors` envelope is not /api.php's.
"""
from __future__ import annotations

import ipaddress

from marshmallow import ValidationError

from engine.errors import ApiKeyNotFound
from protocol.command import ADMIN, USER, Command, Context
from protocol.params import Id, LegacyField, LegacySchema, Text
from protocol.views.accounts import api_key_row, new_api_key


class IPAddress(LegacyField):
    """An IPv4 or IPv6 address."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._scalar_text(value).strip()
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise ValidationError(f"'{text}' is not an IPv4 or IPv6 address")


class CreateParams(LegacySchema):
    Note = Text(required=True, max_length=255, code=1)
    BoundIPAddress = IPAddress(code=2)


def create(ctx: Context, p: dict) -> dict:
    token, key = ctx.uow.auth.create_api_key(ctx.actor, p["Note"], p.get("BoundIPAddress", ""))
    return new_api_key(token, key)


CREATE_ERRORS = {1: "Missing administrative note parameter",
                 2: "Invalid bound IP address parameter"}


def list_keys(ctx: Context, p: dict) -> dict:
    return {"APIKeys": [api_key_row(k) for k in ctx.uow.auth.list_api_keys(ctx.actor)]}


class DeleteParams(LegacySchema):
    APIKeyID = Id(required=True, code=1, invalid_code=2)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.auth.delete_api_key(ctx.actor, p["APIKeyID"])
    return {}


DELETE_ERRORS = {1: "Missing APIKeyID parameter", 2: "API key not found"}


def _commands(prefix: str, auth: str, permission: str) -> tuple[Command, ...]:
    return (
        Command(name=f"{prefix}.APIKey.Create", run=create, params=CreateParams, auth=auth,
                permission=permission, errors=CREATE_ERRORS),
        Command(name=f"{prefix}.APIKey.List", run=list_keys, auth=auth, permission=permission),
        Command(name=f"{prefix}.APIKey.Delete", run=delete, params=DeleteParams, auth=auth,
                permission=permission, errors=DELETE_ERRORS, raises={ApiKeyNotFound: 2}),
    )


USER_COMMANDS = _commands("User", USER, "User.Update")
ADMIN_COMMANDS = _commands("Admin", ADMIN, "")
COMMANDS = USER_COMMANDS + ADMIN_COMMANDS
