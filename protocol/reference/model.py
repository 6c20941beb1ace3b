"""The reference as plain data: every registered /api.php command, described from its declaration.

Nothing here is written per command: names, callers, permissions, parameters, codes and error shapes
come from `protocol.registry.COMMANDS` and the schemas; the examples come from the recording the test
suite makes against a live engine (examples.json). The Markdown file, the /docs page and
/commands.json are all renderings of `build()`.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Mapping

from protocol import commands as command_modules
from protocol.command import ADMIN, ANY, PUBLIC, USER, Command
from protocol.dispatch import (
    AUDIENCE_TIMEOUT, AUTH_FAILED, BAD_JSON, INTERNAL_ERROR, NOT_PERMITTED, RATE_LIMITED, UNKNOWN_COMMAND,
    command_failure,
)
from protocol.reference.fields import describe_field, handler_defaults, type_description, type_names

WHO = {
    PUBLIC: "anyone: no credentials needed (valid ones are still recognised)",
    USER: "a user: SessionID from User.Login, or APIKey",
    ADMIN: "an administrator: SessionID from Admin.Login, or AdminAPIKey",
    ANY: "a user or an administrator",
}
# Area titles where the module name does not read well as one.
AREA_TITLES = {
    "apikeys": "API keys", "email_account": "Email-marketing account", "modern_campaigns": "Campaign operations",
    "public_subscription": "Public subscription", "scheduling": "Campaign scheduling",
    "audience": "Campaign audience", "senders": "Senders", "subscriber_import": "Subscriber import",
}
# Parameters every command understands besides its own (the request envelope).
ENVELOPE = (
    ("Command", "the command name, matched case-insensitively"),
    ("SessionID", "a session from User.Login or Admin.Login"),
    ("APIKey", "a user's API key (User.APIKey.Create), instead of SessionID"),
    ("AdminAPIKey", "an administrator's API key (Admin.APIKey.Create), instead of SessionID"),
    ("ResponseFormat", "JSON (the default) or XML"),
    ("JSONPCallBack", "wraps the JSON answer in a call of this JavaScript function"),
)


def common_errors() -> list[dict]:
    """The answers the dispatcher gives before or around any command (codes from protocol/dispatch.py)."""
    return [
        {"code": AUTH_FAILED, "text": "Authentication failure or session expired",
         "applies": "commands that need credentials: missing, unknown or expired SessionID or key"},
        {"code": NOT_PERMITTED, "text": "Not enough privileges",
         "applies": "a valid caller of the wrong kind, or a user whose group lacks the command's permission"},
        {"code": RATE_LIMITED, "text": "Rate limit exceeded",
         "applies": "public commands, when one address calls too often (Retry-After says when to try again)"},
        {"code": BAD_JSON, "text": "The request body is not valid JSON", "applies": "every request"},
        {"code": UNKNOWN_COMMAND, "text": "Invalid API command", "applies": "a missing or unknown Command"},
        {"code": INTERNAL_ERROR, "text": "Internal error (request id …)",
         "applies": "an unexpected failure; nothing is changed and the request id is logged"},
        {"code": AUDIENCE_TIMEOUT, "text": "Audience query timed out",
         "applies": "commands that count, preview or select subscribers by criteria"},
    ]


def command_areas() -> dict[str, str]:
    """Lower-case command name → the module (area) that declares it in its COMMANDS tuple."""
    areas: dict[str, str] = {}
    for module_info in pkgutil.iter_modules(command_modules.__path__):
        module = importlib.import_module(f"{command_modules.__name__}.{module_info.name}")
        for command in getattr(module, "COMMANDS", ()):
            if isinstance(command, Command):
                areas.setdefault(command.name.lower(), module_info.name)
    return areas


def area_title(key: str) -> str:
    return AREA_TITLES.get(key, key.replace("_", " ").capitalize())


def build(commands: Mapping[str, Command], examples: list[dict] | None = None) -> dict:
    """The whole reference: areas in registry order, commands by name within an area, the type glossary."""
    declared = command_areas()
    classes = {type(f) for c in commands.values() if c.params for f in c.params._declared_fields.values()}
    names = type_names(classes)
    by_command: dict[str, list[dict]] = {}
    for example in examples or []:
        by_command.setdefault(example["command"].lower(), []).append(example)
    described: list[dict] = []
    areas: dict[str, dict] = {}
    for key, command in commands.items():
        area = declared.get(key, command.run.__module__.rsplit(".", 1)[-1])
        areas.setdefault(area, {"key": area, "title": area_title(area), "commands": []})
        described.append(describe_command(command, area, names, by_command.get(key, [])))
    described.sort(key=lambda c: (list(areas).index(c["area"]), c["name"].lower()))
    for command in described:
        areas[command["area"]]["commands"].append(command["name"])
    return {
        "envelope": [{"name": n, "meaning": m} for n, m in ENVELOPE],
        "common_errors": common_errors(),
        "areas": list(areas.values()),
        "commands": described,
        "types": {names[cls]: type_description(cls) for cls in sorted(classes, key=lambda c: names[c].lower())},
    }


def describe_command(command: Command, area: str, names: dict[type, str], examples: list[dict]) -> dict:
    defaults = handler_defaults(command.run)
    declared = command.params._declared_fields if command.params else {}
    parameters = [describe_field(attribute, field, defaults, names) for attribute, field in declared.items()]
    checks_permission = command.auth in (USER, ANY) and bool(command.required_permission)
    return {
        "name": command.name,
        "area": area,
        "auth": command.auth,
        "who": WHO[command.auth],
        "permission": command.required_permission if checks_permission else "",
        "description": " ".join(inspect.cleandoc(command.run.__doc__ or "").split()),
        "parameters": parameters,
        "extra_parameters": [{"name": n, "meaning": m} for n, m in command.extra_params.items()],
        "errors": _errors(command, parameters),
        "error_shape": command.error_shape,
        "error_text_key": command.error_text_key,
        "success_extra": dict(command.success_extra),
        "failure_example": _failure_example(command),
        "examples": examples,
    }


def _errors(command: Command, parameters: list[dict]) -> list[dict]:
    """The error table in the command's order, each code with the parameters and engine errors behind it."""
    rows = []
    for code, text in command.errors.items():
        when = []
        for p in parameters:
            codes = p["codes"]
            if codes.get("missing") == code and codes.get("invalid") == code:
                when.append({"parameter": p["name"], "when": "missing or invalid" if p["required"] else "invalid"})
            elif codes.get("missing") == code:
                when.append({"parameter": p["name"], "when": "missing" if p["required"] else "empty"})
            elif codes.get("invalid") == code:
                when.append({"parameter": p["name"], "when": "invalid"})
        raised_by = sorted(exc.__name__ for exc, c in command.raises.items() if c == code)
        row = {"code": code, "text": text, "parameters": when, "raised_by": raised_by}
        if command.error_keys.get(code):
            row["key"] = command.error_keys[code]
        rows.append(row)
    return rows


def _failure_example(command: Command) -> dict | None:
    """How the first code of the table looks on the wire, built by the dispatcher's own function."""
    if not command.errors:
        return None
    return command_failure(command, next(iter(command.errors))).payload
