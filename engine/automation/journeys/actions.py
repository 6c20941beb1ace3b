"""What a journey action may be (journey-actions.md): its type, its parameters, its branches. Pure.

`parse_actions(raw)` turns the Actions array of Journey.Actions.Update (keys already lower-cased by the
request parser, at every depth) into `Node`s with canonical parameter names, or raises
InvalidJourneyAction / JourneyActionNotAvailable naming the problem. References to the owner's data
(EmailID, TargetTagID, …) are checked by the service (`REFERENCES` says which parameter names what).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.errors import InvalidJourneyAction, JourneyActionNotAvailable, UnknownJourneyAction
from engine.validation import MAX_ID, normalize_email

WAIT_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_ACTIONS = 500          # per journey: the builder's trees are tens of nodes
MAX_DEPTH = 10             # nested Decision / YesNo levels
MAX_WAIT_SECONDS = 5 * 365 * 86400
BRANCHES = {"Decision": ("True", "False"), "YesNo": ("Yes", "No")}
# Octeth's SMS gateways have no counterpart here: refused with its own code (README "Journeys").
NOT_AVAILABLE = {"sendsms": "SendSMS"}

# Parameter kinds per action type, canonical spelling → kind.
PARAMETERS: dict[str, dict[str, str]] = {
    "Wait": {"WaitUnit": "unit", "WaitAmount": "count", "TimeConstraintEnabled": "bool",
             "DontSendBefore": "hhmm", "DontSendAfter": "hhmm", "AllowedDays": "days"},
    "UpdateCustomFieldValue": {"TargetCustomFieldID": "id", "NewCustomFieldValue": "text"},
    "Subscribe": {"TargetListID": "id"},
    "Unsubscribe": {"TargetListID": "id"},
    "DeleteSubscriber": {},
    "ExitJourney": {"TargetJourneyID": "ids"},
    "ExitThisJourney": {},
    "ExitAllOtherJourneys": {},
    "ExitAllJourneys": {},
    "Webhook": {"WebhookURL": "url"},
    "StartJourney": {"TargetJourneyID": "id"},
    "AddTag": {"TargetTagID": "id"},
    "RemoveTag": {"TargetTagID": "id"},
    "YesNo": {"CriteriaLeft": "text", "CriteriaOperator": "text", "CriteriaRight": "any", "CriteriaOption": "text"},
    "Decision": {"CriteriaOperator": "connector", "Criteria": "criteria"},
    "SendEmail": {"EmailID": "id", "SenderDomainID": "id", "From": "contact", "ReplyTo": "contact",
                  "CC": "contacts", "BCC": "contacts"},
    "Debug": {"SleepSeconds": "count", "DebugMessage": "text"},
}
ACTION_TYPES = {name.lower(): name for name in PARAMETERS}
# What a published action must have configured before it can run: an unconfigured one is refused.
REQUIRED = {"UpdateCustomFieldValue": "TargetCustomFieldID", "Subscribe": "TargetListID",
            "Unsubscribe": "TargetListID", "ExitJourney": "TargetJourneyID", "Webhook": "WebhookURL",
            "StartJourney": "TargetJourneyID", "AddTag": "TargetTagID", "RemoveTag": "TargetTagID",
            "SendEmail": "EmailID", "YesNo": "CriteriaLeft"}
# Parameters naming the owner's rows: parameter → kind of row (the service checks ownership).
REFERENCES = {"EmailID": "email", "TargetTagID": "tag", "TargetListID": "list",
              "TargetCustomFieldID": "field", "TargetJourneyID": "journey"}
ALIASES = {"reply-to": "replyto", "reply_to": "replyto"}


@dataclass
class Node:
    action_id: int | None
    action: str
    parameters: dict
    published: bool
    notes: str
    branches: dict[str, list["Node"]] = field(default_factory=dict)


def parse_actions(raw: Any, depth: int = 0, counter: list[int] | None = None) -> list[Node]:
    counter = counter if counter is not None else [0]
    if isinstance(raw, dict):  # a PHP-style map of entries ("0": {...}, "1": {...})
        raw = list(raw.values())
    if not isinstance(raw, list):
        raise InvalidJourneyAction("Actions must be an array of action objects")
    if depth > MAX_DEPTH:
        raise InvalidJourneyAction(f"Decision / YesNo branches nest more than {MAX_DEPTH} levels deep")
    nodes = []
    for n, item in enumerate(raw, 1):
        counter[0] += 1
        if counter[0] > MAX_ACTIONS:
            raise InvalidJourneyAction(f"a journey has at most {MAX_ACTIONS} actions")
        nodes.append(_node(item, f"action {n}" if depth == 0 else f"branch action {n}", depth, counter))
    return nodes


def _node(item: Any, where: str, depth: int, counter: list[int]) -> Node:
    if not isinstance(item, dict):
        raise InvalidJourneyAction(f"{where} is not an object")
    item = {ALIASES.get(str(k).lower(), str(k).lower()): v for k, v in item.items()}
    kind = str(item.get("action", "")).strip().lower()
    if kind in NOT_AVAILABLE:
        raise JourneyActionNotAvailable(f"{NOT_AVAILABLE[kind]} is not available: Sendmill has no SMS gateway")
    if kind not in ACTION_TYPES:
        raise UnknownJourneyAction(f"{where}: unknown action type {str(item.get('action', ''))[:40]!r}")
    action = ACTION_TYPES[kind]
    action_id = item.get("actionid")
    if action_id in (None, "", "null", 0, "0"):
        action_id = None
    else:
        action_id = _id(action_id, f"{where} ActionID")
    parameters = {}
    for name, param_kind in PARAMETERS[action].items():
        if name.lower() in item and item[name.lower()] not in (None, ""):
            parameters[name] = _value(param_kind, item[name.lower()], f"{where} {name}")
    published = _bool(item.get("published", False))
    _check_whole(action, parameters, published, where)
    node = Node(action_id, action, parameters, published, _text(item.get("notes", ""), f"{where} Notes"))
    if action in BRANCHES:
        given = item.get("actions") or {}
        if not isinstance(given, dict):
            raise InvalidJourneyAction(f"{where}: Actions must be an object with {' and '.join(BRANCHES[action])}")
        given = {str(k).lower(): v for k, v in given.items()}
        node.branches = {b: parse_actions(given.get(b.lower()) or [], depth + 1, counter) for b in BRANCHES[action]}
    return node


def _check_whole(action: str, p: dict, published: bool, where: str) -> None:
    if published and action in REQUIRED and not p.get(REQUIRED[action]):
        raise InvalidJourneyAction(f"{where}: a published {action} needs {REQUIRED[action]}")
    if action == "Wait":
        p.setdefault("WaitUnit", "days")
        p.setdefault("WaitAmount", 0)
        if p["WaitAmount"] * WAIT_UNITS[p["WaitUnit"]] > MAX_WAIT_SECONDS:
            raise InvalidJourneyAction(f"{where}: a Wait lasts at most five years")
        if p.get("TimeConstraintEnabled"):
            p.setdefault("DontSendBefore", "09:00")
            p.setdefault("DontSendAfter", "19:00")
            p.setdefault("AllowedDays", list(DAYS))
            if p["DontSendAfter"] <= p["DontSendBefore"]:
                raise InvalidJourneyAction(f"{where}: DontSendAfter must be later than DontSendBefore")
            if not p["AllowedDays"]:
                raise InvalidJourneyAction(f"{where}: AllowedDays needs at least one day")
    if action == "Decision":
        p.setdefault("CriteriaOperator", "and")
        p.setdefault("Criteria", [])
    if action == "Debug":
        p.setdefault("SleepSeconds", 0)


def _value(kind: str, value: Any, where: str) -> Any:
    if kind == "id":
        return _id(value, where, zero_ok=True)
    if kind == "ids":
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > 100:
            raise InvalidJourneyAction(f"{where} must name 1 to 100 journeys")
        return [_id(v, where) for v in values] if isinstance(value, list) else _id(value, where)
    if kind == "count":
        number = _int(value, where)
        if number < 0:
            raise InvalidJourneyAction(f"{where} must not be negative")
        return number
    if kind == "bool":
        return _bool(value)
    if kind == "unit":
        text = str(value).strip().lower()
        if text not in WAIT_UNITS:
            raise InvalidJourneyAction(f"{where} must be one of {', '.join(WAIT_UNITS)}")
        return text
    if kind == "hhmm":
        text = str(value).strip()
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
            raise InvalidJourneyAction(f"{where} must be HH:MM")
        return text
    if kind == "days":
        days = value if isinstance(value, list) else str(value).split(",")
        picked = {str(d).strip().lower()[:3] for d in days if str(d).strip()}
        if not picked <= set(DAYS):
            raise InvalidJourneyAction(f"{where} must name days as {', '.join(DAYS)}")
        return [d for d in DAYS if d in picked]
    if kind == "url":
        text = _text(value, where)
        if not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", text, re.IGNORECASE) or len(text) > 2000:
            raise InvalidJourneyAction(f"{where} must be an http(s) URL")
        return text
    if kind == "contact":
        return _contact(value, where)
    if kind == "contacts":
        items = value if isinstance(value, list) else [value]
        if len(items) > 50:
            raise InvalidJourneyAction(f"{where} has more than 50 addresses")
        return [_contact(v, where) for v in items]
    if kind == "connector":
        text = str(value).strip().lower()
        if text not in ("and", "or"):
            raise InvalidJourneyAction(f"{where} must be and or or")
        return text
    if kind == "criteria":
        if isinstance(value, dict):
            value = list(value.values())
        if not isinstance(value, list):
            raise InvalidJourneyAction(f"{where} must be an array of criteria")
        return value
    if kind == "any":
        return value
    return _text(value, where)


def _contact(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidJourneyAction(f"{where} must be an object with Name and Email")
    value = {str(k).lower(): v for k, v in value.items()}
    email = str(value.get("email", "")).strip()
    if email and normalize_email(email) is None:
        raise InvalidJourneyAction(f"{where}: {email[:80]!r} is not a valid email address")
    name = _text(value.get("name", ""), where)
    if any(c in name for c in "\r\n") or len(name) > 255:
        raise InvalidJourneyAction(f"{where}: Name must be one line of at most 255 characters")
    return {"Name": name, "Email": email}


def _id(value: Any, where: str, zero_ok: bool = False) -> int:
    number = _int(value, where)
    if not (0 if zero_ok else 1) <= number <= MAX_ID:
        raise InvalidJourneyAction(f"{where} must be a positive ID")
    return number


def _int(value: Any, where: str) -> int:
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"-?\d{1,10}", text):
        raise InvalidJourneyAction(f"{where} must be a whole number")
    return int(text)


def _bool(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")


def _text(value: Any, where: str) -> str:
    if isinstance(value, (dict, list)):
        raise InvalidJourneyAction(f"{where} must be text")
    text = "" if value is None else str(value)
    if len(text) > 10000:
        raise InvalidJourneyAction(f"{where} is longer than 10000 characters")
    return text


def walk(nodes: list[Node]):
    """Every node of the tree, depth first."""
    for node in nodes:
        yield node
        for branch in node.branches.values():
            yield from walk(branch)
