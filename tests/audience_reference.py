"""A plain-Python reference for RulesJson criteria, written from the specification, not the compiler.

It interprets the raw JSON rules directly over in-memory rows, with the semantics of
protocol.md §5 and Part 1 §16/§17 as Sendmill documents them (engine/audience/compiler.py
docstring): connectors alternate with depth; text comparisons are case-insensitive and a missing
custom value is ""; numbers and dates never match a missing value; dates compare by UTC day;
campaign events count the row's activity; tag rules look at the tags the row carries. It shares no
code with engine/audience.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal


@dataclass
class Row:
    id: int
    list_id: int
    email_address: str
    email_normalized: str
    subscription_status: str = "Subscribed"
    bounce_type: str = "Not Bounced"
    subscription_date: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)
    subscription_ip: str = ""
    opt_in_date: datetime | None = None
    complained: bool = False
    # custom field id → (text, number or None, datetime or None)
    values: dict = field(default_factory=dict)


@dataclass
class Event:
    subscriber_id: int
    campaign_id: int
    kind: str
    occurred_at: datetime
    email_id: int | None = None


@dataclass
class World:
    owner_id: int
    now: datetime
    rows: list[Row]
    field_kinds: dict[int, str] = field(default_factory=dict)  # "text" | "number" | "date"
    segments: dict[int, tuple[int, str, str]] = field(default_factory=dict)  # id → (list, rules, op)
    suppressions: list[tuple[int | None, str]] = field(default_factory=list)  # (list or None, address)
    events: list[Event] = field(default_factory=list)
    tags: dict[int, int] = field(default_factory=dict)  # tag id → its list
    taggings: set[tuple[int, int]] = field(default_factory=set)  # (subscriber row id, tag id)


COLUMNS = {"emailaddress": "email_address", "email": "email_address", "subscriptionstatus": "subscription_status",
           "bouncetype": "bounce_type", "subscriptiondate": "subscription_date", "optindate": "opt_in_date",
           "subscriptionip": "subscription_ip", "subscriberid": "id"}
COLUMN_KIND = {"email_address": "text", "subscription_status": "text", "bounce_type": "text",
               "subscription_date": "date", "opt_in_date": "date", "subscription_ip": "text", "id": "number"}
SPELLINGS = {
    "equals": "is", "equals to": "is", "is equal to": "is", "does not equal": "is not", "starts with": "begins with",
    "is not empty": "is set", "is empty": "is not set", "is smaller than": "is less than", "less than": "is less than",
    "greater than": "is greater than", "before": "is before", "after": "is after",
}
EVENT_KINDS = {"opened": "open", "clicked": "click", "unsubscribed": "unsubscribe", "complained": "complaint",
               "bounced": "bounce", "delivered": "sent", "queued recipients": "queued", "failed": "failed"}


def words(text) -> str:
    return re.sub(r"[\s_\-]+", " ", str(text).strip().lower())


def select_ids(world: World, rules_json: str, connector: str, list_id: int) -> set[int]:
    doc = json.loads(rules_json)
    return {row.id for row in world.rows if row.list_id == list_id and _criteria(world, doc, connector, row, ())}


def _criteria(world, doc, connector, row, stack) -> bool:
    inner = "or" if connector == "and" else "and"
    results = []
    for group in doc:
        if isinstance(group, dict):
            results.append(_rule(world, group, row, stack))
            continue
        parts = []
        for item in group:
            if isinstance(item, list):
                sub = [_rule(world, r, row, stack) for r in item]
                parts.append(all(sub) if connector == "and" else any(sub))
            else:
                parts.append(_rule(world, item, row, stack))
        results.append(all(parts) if inner == "and" else any(parts))
    return all(results) if connector == "and" else any(results)


def _rule(world, rule, row, stack) -> bool:
    kind = words(rule["type"])
    if kind == "fields":
        return _field(world, rule, row)
    if kind == "segments":
        list_id, rules_json, operator = world.segments[int(rule["value"])]
        inside = bool(rules_json) and row.list_id == list_id and _criteria(
            world, json.loads(rules_json), operator, row, stack + (int(rule["value"]),))
        return not inside if words(rule["operator"]) == "does not belong to" else inside
    if kind == "suppressions":
        hit = any(addr == row.email_normalized and lst in (None, row.list_id) for lst, addr in world.suppressions)
        return {"exist": hit, "not exist": not hit}.get(words(rule.get("operator", "")), False)
    if kind == "tags":
        return _tags(world, rule, row)
    return _events(world, rule, row)


def _tags(world, rule, row) -> bool:
    carried = {tag for sid, tag in world.taggings if sid == row.id}
    op = words(rule["operator"])
    if op == "has no tags":
        return not carried
    value = rule["value"]
    named = {int(v) for v in (value if isinstance(value, list) else str(value).split(","))}
    if op in ("has this tag", "has tag"):
        return named <= carried
    if op in ("does not have this tag", "does not have tag"):
        return not named & carried
    if op == "has any of these tags":
        return bool(named & carried)
    return named <= carried  # has all of these tags


def _day(d: date) -> tuple[datetime, datetime]:
    start = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def _field(world, rule, row) -> bool:
    name = str(rule["field_id"]).strip()
    op = words(rule["operator"])
    op = SPELLINGS.get(op, op)
    value = rule.get("value")
    if name.lower() in COLUMNS:
        column = COLUMNS[name.lower()]
        kind, current = COLUMN_KIND[column], getattr(row, column)
        if op == "is set":
            return current not in (None, "")
        if op == "is not set":
            return current in (None, "")
        if kind == "number":
            return _compare_number(Decimal(current), op, Decimal(str(value)))
        if kind == "date":
            return current is not None and _compare_date(current, op, value, world.now)
        return _compare_text(current, op, value)
    field_id = int(re.sub(r"(?i)^customfield:?", "", name))
    text, number, when = row.values.get(field_id, ("", None, None))
    field_kind = world.field_kinds[field_id]
    if op == "is set":
        return text != ""
    if op == "is not set":
        return text == ""
    if op in ("is less than", "is less than or equal to", "is greater than", "is greater than or equal to") \
            or (field_kind == "number" and op in ("is", "is not")):
        return number is not None and _compare_number(number, op, Decimal(str(value)))
    if field_kind == "date" and op not in ("contains", "does not contain", "begins with", "ends with",
                                           "matches regex", "does not match regex"):
        return when is not None and _compare_date(when, op, value, world.now)
    return _compare_text(text, op, value)


def _compare_text(current: str, op: str, value) -> bool:
    a, b = current.lower(), str(value).lower()
    if op == "is":
        return a == b
    if op == "is not":
        return a != b
    if op == "contains":
        return b in a
    if op == "does not contain":
        return b not in a
    if op == "begins with":
        return a.startswith(b)
    if op == "ends with":
        return a.endswith(b)
    found = re.search(str(value), current, re.IGNORECASE | re.DOTALL) is not None
    return found if op == "matches regex" else not found


def _compare_number(current: Decimal, op: str, value: Decimal) -> bool:
    return {"is": current == value, "is not": current != value, "is less than": current < value,
            "is less than or equal to": current <= value, "is greater than": current > value,
            "is greater than or equal to": current >= value}[op]


def _compare_date(current: datetime, op: str, value, now: datetime) -> bool:
    if op in ("between", "not between"):
        first, last = (value["start"], value["end"]) if isinstance(value, dict) else value
        inside = _day(date.fromisoformat(first))[0] <= current < _day(date.fromisoformat(last))[1]
        return inside if op == "between" else not inside
    if op in ("is", "is not", "is before", "is after"):
        start, end = _day(date.fromisoformat(value))
        return {"is": start <= current < end, "is not": not (start <= current < end),
                "is before": current < start, "is after": current >= end}[op]
    days = int(value)
    if op == "is exactly x days ago":
        start, end = _day(now.date() - timedelta(days=days))
        return start <= current < end
    if op == "is exactly x days from now":
        start, end = _day(now.date() + timedelta(days=days))
        return start <= current < end
    last = now - timedelta(days=days) <= current <= now
    following = now <= current <= now + timedelta(days=days)
    return {"in the last x days": last, "not in the last x days": not last,
            "in the next x days": following, "not in the next x days": not following}[op]


def _events(world, rule, row) -> bool:
    op = words(rule["operator"])
    negated = op.startswith("not ")
    kind = EVENT_KINDS[op[4:] if negated else op]
    value = rule.get("value", "")
    campaigns = set() if value in ("", None, []) else {int(v) for v in (value if isinstance(value, list) else [value])}
    email_id = rule.get("email-id")
    tf = rule.get("time_filter")

    def in_time(at: datetime) -> bool:
        if not tf:
            return True
        t, v = tf["type"], tf["value"]
        if t == "in_last_x_days":
            return at >= world.now - timedelta(days=int(v))
        if t == "not_in_last_x_days":
            return at < world.now - timedelta(days=int(v))
        if t == "after":
            return at >= _day(date.fromisoformat(v))[1]
        if t == "before":
            return at < _day(date.fromisoformat(v))[0]
        inside = _day(date.fromisoformat(v["start"]))[0] <= at < _day(date.fromisoformat(v["end"]))[1]
        return inside if t == "between" else not inside

    count = sum(1 for e in world.events if e.subscriber_id == row.id and e.kind == kind
                and (not campaigns or e.campaign_id in campaigns)
                and (email_id in (None, "") or e.email_id == int(email_id)) and in_time(e.occurred_at))
    agg = rule.get("aggregation")
    if agg:
        n = int(agg["count"])
        held = {"at_least": count >= n, "at_most": count <= n, "exactly": count == n}[agg["operator"]]
    else:
        held = count >= 1
    return not held if negated else held


def audience_ids(world: World, included: list[tuple[int, set[int] | None]],
                 excluded: list[tuple[int, set[int] | None]]) -> set[int]:
    """Recipients: each part is (list_id, selected row IDs or None for the whole list)."""
    def in_part(row, part):
        list_id, ids = part
        return row.list_id == list_id and (ids is None or row.id in ids)

    excluded_addresses = {r.email_normalized for r in world.rows if any(in_part(r, p) for p in excluded)}
    burned = {r.email_normalized for r in world.rows if r.bounce_type == "Hard" or r.complained}
    chosen: dict[str, int] = {}
    for row in sorted(world.rows, key=lambda r: r.id):
        if not any(in_part(row, p) for p in included) or row.subscription_status != "Subscribed":
            continue
        if row.email_normalized in excluded_addresses or row.email_normalized in burned:
            continue
        if any(addr == row.email_normalized and lst in (None, row.list_id) for lst, addr in world.suppressions):
            continue
        chosen.setdefault(row.email_normalized, row.id)
    return set(chosen.values())
