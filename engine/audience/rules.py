"""RulesJson → a small, validated AST (protocol.md §5.2–§5.6).

    Criteria := [ Group, … ]        Group := [ Item, … ]        Item := Rule | [ Rule, … ]

The connector alternates with depth (§5.3): with `or`, `[[A,B],[C]]` is (A AND B) OR C; with
`and` the same JSON is (A OR B) AND C. A rule object at the top level (the v5.6.x bundle example's
flat `rules: [A, B]`) counts as a group of its own, so the connector joins such rules directly.

Everything that cannot produce a precise filter raises `InvalidRules` with a message naming the
problem: empty criteria, empty groups, rules without a known `type`, unknown fields or operators,
malformed values, nesting deeper than three levels, custom fields, segments or tags that are not the
owner's for this list. Nothing here ever degrades to "match everyone" (Part 1 §10). The one
tolerance is the documented fail-closed case: a stored suppression rule with an unknown operator
parses (when `strict=False`) into a rule that matches nobody.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, Union

from engine.audience import catalog as C
from engine.audience.journey_rules import JOURNEY_RULE_TYPES, JourneyRule, parse_journey_rule
from engine.errors import InvalidRules
from engine.validation import as_id

MAX_JSON_CHARS = 100_000
MAX_RULES = 200
MAX_SEGMENT_DEPTH = 5
CONNECTORS = ("and", "or")
UNSUPPORTED_TYPES = ("website-events",)


# --- the AST ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldRule:
    field: C.FieldSpec
    operator: str  # canonical, see catalog.FIELD_OPERATORS
    value: Any = None


@dataclass(frozen=True)
class SegmentRule:
    segment_id: int
    list_id: int
    negated: bool
    criteria: "Group | None"  # None: the segment has no rules, so nobody belongs to it


@dataclass(frozen=True)
class SuppressionRule:
    operator: str | None  # "exist" | "not exist"; None = unknown operator → matches nobody


@dataclass(frozen=True)
class TimeFilter:
    type: str
    days: int | None = None
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class Aggregation:
    operator: str  # at_least | at_most | exactly
    count: int


@dataclass(frozen=True)
class ActivityRule:
    kind: str  # a SubscriberActivity kind
    negated: bool
    campaign_ids: tuple[int, ...] = ()  # () = any campaign
    email_id: int | None = None
    time_filter: TimeFilter | None = None
    aggregation: Aggregation | None = None


@dataclass(frozen=True)
class TagRule:
    mode: str  # has | has not | any | all | none (catalog.TAG_OPERATORS)
    tag_ids: tuple[int, ...] = ()  # tags of the rule's list; () for "none"


Rule = Union[FieldRule, SegmentRule, SuppressionRule, ActivityRule, TagRule, JourneyRule]


@dataclass(frozen=True)
class Group:
    connector: str  # how `items` combine: "and" | "or"
    items: tuple["Rule | Group", ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class BundleCriterion:
    list_id: int
    criteria: Group


@dataclass(frozen=True)
class Bundle:
    operator: str  # "or": union of the criteria; "and": people matched by every criterion
    criteria: tuple[BundleCriterion, ...]


class Lookup(Protocol):
    """What parsing needs to know about the owner's data (the service answers from the database)."""

    def custom_field_kind(self, field_id: int, list_id: int) -> str | None:
        """The field's kind if it is the owner's and applies to the list, else None."""

    def segment(self, segment_id: int) -> tuple[int, str, str] | None:
        """(list_id, rules_json, operator) of the owner's segment, else None."""

    def missing_campaigns(self, campaign_ids: tuple[int, ...]) -> list[int]:
        """The IDs among `campaign_ids` that are not the owner's campaigns."""

    def tag_list(self, tag_id: int) -> int | None:
        """The list of the owner's subscriber tag, else None."""

    def journey(self, journey_id: int) -> bool:
        """Whether the journey is the owner's."""

    def journey_email_action(self, action_id: int) -> bool:
        """Whether the action is a SendEmail action of one of the owner's journeys."""


# --- entry points ------------------------------------------------------------------------------
def parse_connector(value: Any, what: str = "operator") -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if text not in CONNECTORS:
        raise InvalidRules(f'{what} must be "and" or "or"')
    return text


def load_json(raw: Any, what: str = "RulesJson") -> Any:
    """A JSON document sent as a string; a decoded list/object (JSON request body) is accepted too."""
    if isinstance(raw, (list, dict)):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRules(f"{what} is empty")
    if len(raw) > MAX_JSON_CHARS:
        raise InvalidRules(f"{what} is longer than {MAX_JSON_CHARS} characters")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidRules(f"{what} is not valid JSON ({exc})") from None


def parse_criteria(raw: Any, connector: str, lookup: Lookup, *, list_id: int, strict: bool = True) -> Group:
    """Parse segment / search criteria for one list."""
    return _Parser(lookup, list_id, strict).criteria(load_json(raw), parse_connector(connector))


def parse_bundle(raw: Any, lookup_for_list, *, strict: bool = True) -> Bundle:
    """Parse a RulesJsonBundle; `lookup_for_list(list_id)` returns the Lookup for that list
    (it raises when the list is not the owner's)."""
    doc = load_json(raw, "RulesJsonBundle")
    if not isinstance(doc, dict):
        raise InvalidRules("RulesJsonBundle must be a JSON object")
    doc = {str(k).lower(): v for k, v in doc.items()}
    operator = parse_connector(doc.get("operator"), 'RulesJsonBundle "operator"')
    entries = doc.get("criteria")
    if not isinstance(entries, list) or not entries:
        raise InvalidRules('RulesJsonBundle "criteria" must be a non-empty list')
    criteria = []
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise InvalidRules(f"RulesJsonBundle criterion {n} must be an object")
        entry = {str(k).lower(): v for k, v in entry.items()}
        list_id = _positive_int(entry.get("list_id"))
        if list_id is None:
            raise InvalidRules(f'RulesJsonBundle criterion {n} needs a positive "list_id"')
        connector = parse_connector(entry.get("operator", "and"), f'criterion {n} "operator"')
        if "rules" not in entry:
            raise InvalidRules(f'RulesJsonBundle criterion {n} has no "rules"')
        group = _Parser(lookup_for_list(list_id), list_id, strict).criteria(entry["rules"], connector)
        criteria.append(BundleCriterion(list_id, group))
    return Bundle(operator, tuple(criteria))


def legacy_rule_arrays(fields: list, operators: list, filters: list) -> list[dict]:
    """The old `SegmentRuleField[]`/`SegmentRuleOperator[]`/`SegmentRuleFilter[]` triples as a
    flat rule list: each rule is its own group, so the segment operator joins them directly."""
    if not (len(fields) == len(operators) == len(filters)) or not fields:
        raise InvalidRules("SegmentRuleField, SegmentRuleOperator and SegmentRuleFilter must have the same, "
                           "non-zero number of entries")
    return [{"type": "fields", "field_id": f, "operator": o, "value": v}
            for f, o, v in zip(fields, operators, filters)]


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return as_id(value)
    if isinstance(value, str) and value.strip().isdigit():
        return as_id(value)
    return None


def flip(connector: str) -> str:
    return "or" if connector == "and" else "and"


# --- the parser ----------------------------------------------------------------------------------
class _Parser:
    def __init__(self, lookup: Lookup, list_id: int, strict: bool, segment_stack: tuple[int, ...] = ()):
        self.lookup = lookup
        self.list_id = list_id
        self.strict = strict
        self.segment_stack = segment_stack
        self.rule_count = 0

    def criteria(self, doc: Any, connector: str) -> Group:
        if not isinstance(doc, list):
            raise InvalidRules("the criteria must be a JSON array of rule groups")
        if not doc:
            raise InvalidRules("the criteria contain no rules")
        groups = []
        for n, item in enumerate(doc, 1):
            if isinstance(item, dict):
                groups.append(self.rule(item, f"rule {n}"))  # a flat rule is a group of its own
            elif isinstance(item, list):
                groups.append(self.group(item, flip(connector), f"group {n}"))
            else:
                raise InvalidRules(f"group {n} must be an array of rules")
        return Group(connector, tuple(groups))

    def group(self, items: list, connector: str, where: str) -> Group:
        if not items:
            raise InvalidRules(f"{where} is empty")
        out = []
        for n, item in enumerate(items, 1):
            if isinstance(item, dict):
                out.append(self.rule(item, f"{where}, rule {n}"))
            elif isinstance(item, list):
                out.append(self.subgroup(item, flip(connector), f"{where}, sub-group {n}"))
            else:
                raise InvalidRules(f"{where}, item {n} must be a rule object or an array of rules")
        return Group(connector, tuple(out))

    def subgroup(self, items: list, connector: str, where: str) -> Group:
        if not items:
            raise InvalidRules(f"{where} is empty")
        out = []
        for n, item in enumerate(items, 1):
            if isinstance(item, list):
                raise InvalidRules(f"{where}: rules are nested more than three levels deep")
            if not isinstance(item, dict):
                raise InvalidRules(f"{where}, item {n} must be a rule object")
            out.append(self.rule(item, f"{where}, rule {n}"))
        return Group(connector, tuple(out))

    def rule(self, raw: dict, where: str) -> Rule:
        self.rule_count += 1
        if self.rule_count > MAX_RULES:
            raise InvalidRules(f"the criteria have more than {MAX_RULES} rules")
        rule = {str(k).lower(): v for k, v in raw.items()}
        kind = rule.get("type")
        if not isinstance(kind, str) or not kind.strip():
            raise InvalidRules(f'{where} has no "type"')
        kind = C.op_key(kind).replace(" ", "-")
        if kind == "fields":
            return self.field_rule(rule, where)
        if kind == "segments":
            return self.segment_rule(rule, where)
        if kind == "suppressions":
            return self.suppression_rule(rule, where)
        if kind == "campaign-events":
            return self.activity_rule(rule, where)
        if kind == "tags":
            return self.tag_rule(rule, where)
        if kind in JOURNEY_RULE_TYPES:
            return parse_journey_rule(kind, rule, where, self.lookup)
        if kind in UNSUPPORTED_TYPES:
            raise InvalidRules(f'{where}: rules of type "{kind}" are not supported by this server')
        raise InvalidRules(f'{where} has an unknown type "{rule.get("type")}"')

    # --- fields ---------------------------------------------------------------------------
    def field_rule(self, rule: dict, where: str) -> FieldRule:
        spec = self.field_spec(rule.get("field_id"), where)
        operator = C.field_operator(rule.get("operator"))
        if operator is None:
            raise InvalidRules(f'{where}: unknown operator "{rule.get("operator")}"')
        if operator not in C.operators_for(spec):
            raise InvalidRules(f'{where}: operator "{operator}" does not apply to {spec.kind} field {spec.name}')
        value = C.field_value(spec, operator, rule.get("value"), "value" in rule)
        return FieldRule(spec, operator, value)

    def field_spec(self, name: Any, where: str) -> C.FieldSpec:
        if isinstance(name, str) and C.subscriber_field(name):
            return C.subscriber_field(name)
        field_id = C.custom_field_id(name)
        if field_id is None:
            raise InvalidRules(f'{where}: unknown field "{name}"')
        kind = self.lookup.custom_field_kind(field_id, self.list_id)
        if kind is None:
            raise InvalidRules(f"{where}: custom field {field_id} does not exist for list {self.list_id}")
        return C.FieldSpec(f"CustomField{field_id}", kind, custom_field_id=field_id, nullable=True)

    # --- segments ---------------------------------------------------------------------------
    def segment_rule(self, rule: dict, where: str) -> SegmentRule:
        key = C.op_key(rule.get("operator"))
        if key not in C.SEGMENT_OPERATORS:
            raise InvalidRules(f'{where}: unknown segment operator "{rule.get("operator")}"')
        segment_id = _positive_int(rule.get("value"))
        if segment_id is None:
            raise InvalidRules(f"{where}: the value must be a segment ID")
        if segment_id in self.segment_stack or len(self.segment_stack) >= MAX_SEGMENT_DEPTH:
            raise InvalidRules(f"{where}: segment recursion limit exceeded (segment {segment_id})")
        found = self.lookup.segment(segment_id)
        if found is None:
            raise InvalidRules(f"{where}: segment {segment_id} does not exist")
        list_id, rules_json, operator = found
        if list_id != self.list_id:
            raise InvalidRules(f"{where}: segment {segment_id} does not belong to list {self.list_id}")
        criteria = None
        if rules_json and rules_json.strip():
            nested = _Parser(self.lookup, list_id, self.strict, (*self.segment_stack, segment_id))
            try:
                criteria = nested.criteria(load_json(rules_json), parse_connector(operator or "and"))
            except InvalidRules as exc:
                raise InvalidRules(f"{where}: segment {segment_id}: {exc.message}") from None
        return SegmentRule(segment_id, list_id, C.SEGMENT_OPERATORS[key], criteria)

    # --- suppressions -------------------------------------------------------------------------
    def suppression_rule(self, rule: dict, where: str) -> SuppressionRule:
        operator = C.SUPPRESSION_OPERATORS.get(C.op_key(rule.get("operator")))
        if operator is None and self.strict:
            raise InvalidRules(f'{where}: unknown suppression operator "{rule.get("operator")}"')
        return SuppressionRule(operator)

    # --- tags ----------------------------------------------------------------------------------------
    def tag_rule(self, rule: dict, where: str) -> TagRule:
        mode = C.TAG_OPERATORS.get(C.op_key(rule.get("operator")))
        if mode is None:
            raise InvalidRules(f'{where}: unknown tags operator "{rule.get("operator")}"')
        if mode == "none":
            return TagRule(mode)
        value = rule.get("value", "")
        items = value if isinstance(value, list) else value.split(",") if isinstance(value, str) else [value]
        ids: list[int] = []
        for item in items:
            tag_id = _positive_int(item.strip() if isinstance(item, str) else item)
            if tag_id is None:
                raise InvalidRules(f"{where}: '{item}' is not a tag ID")
            if self.lookup.tag_list(tag_id) != self.list_id:
                raise InvalidRules(f"{where}: tag {tag_id} does not exist for list {self.list_id}")
            if tag_id not in ids:
                ids.append(tag_id)
        if mode in ("has", "has not") and len(ids) != 1:
            raise InvalidRules(f'{where}: "{rule.get("operator")}" needs exactly one tag ID')
        return TagRule(mode, tuple(sorted(ids)))

    # --- campaign events ------------------------------------------------------------------------
    def activity_rule(self, rule: dict, where: str) -> ActivityRule:
        found = C.ACTIVITY_OPERATORS.get(C.op_key(rule.get("operator")))
        if found is None:
            raise InvalidRules(f'{where}: unknown campaign-events operator "{rule.get("operator")}"')
        kind, negated = found
        campaign_ids = self.campaign_ids(rule.get("value", ""), where)
        email_id = None
        raw_email = rule.get("email-id", rule.get("email_id"))
        if raw_email not in (None, "", 0, "0"):
            email_id = _positive_int(raw_email)
            if email_id is None:
                raise InvalidRules(f'{where}: "email-id" must be a positive email ID')
        time_filter = self.time_filter(rule.get("time_filter"), where)
        aggregation = self.aggregation(rule.get("aggregation"), where)
        if time_filter and kind in C.NO_TIME_FILTER:
            raise InvalidRules(f'{where}: "{rule.get("operator")}" does not support a time filter')
        if aggregation and kind in C.NO_AGGREGATION:
            raise InvalidRules(f'{where}: "{rule.get("operator")}" does not support an aggregation')
        return ActivityRule(kind, negated, campaign_ids, email_id, time_filter, aggregation)

    def campaign_ids(self, value: Any, where: str) -> tuple[int, ...]:
        if value in ("", None) or value == []:
            return ()
        items = value if isinstance(value, list) else str(value).split(",") if isinstance(value, str) else [value]
        ids = []
        for item in items:
            campaign_id = _positive_int(item.strip() if isinstance(item, str) else item)
            if campaign_id is None:
                raise InvalidRules(f"{where}: '{item}' is not a campaign ID")
            if campaign_id not in ids:
                ids.append(campaign_id)
        missing = self.lookup.missing_campaigns(tuple(ids))
        if missing:
            raise InvalidRules(f"{where}: campaign {missing[0]} does not exist")
        return tuple(sorted(ids))

    @staticmethod
    def time_filter(raw: Any, where: str) -> TimeFilter | None:
        if raw in (None, "", {}):
            return None
        if not isinstance(raw, dict):
            raise InvalidRules(f'{where}: "time_filter" must be an object')
        raw = {str(k).lower(): v for k, v in raw.items()}
        kind = C.op_key(raw.get("type")).replace(" ", "_")
        where = f"{where} time_filter {kind}"
        if kind not in C.TIME_FILTERS:
            raise InvalidRules(f'{where}: unknown time filter type "{raw.get("type")}"')
        value = raw.get("value")
        if kind in ("in_last_x_days", "not_in_last_x_days"):
            return TimeFilter(kind, days=C.days_value(value, where))
        if kind in ("between", "not_between"):
            start, end = C.date_range(value, where)
            return TimeFilter(kind, start=start, end=end)
        return TimeFilter(kind, start=C.date_value(value, where))

    @staticmethod
    def aggregation(raw: Any, where: str) -> Aggregation | None:
        if raw in (None, "", {}):
            return None
        if not isinstance(raw, dict):
            raise InvalidRules(f'{where}: "aggregation" must be an object')
        raw = {str(k).lower(): v for k, v in raw.items()}
        operator = C.op_key(raw.get("operator")).replace(" ", "_")
        if operator not in C.AGGREGATIONS:
            raise InvalidRules(f'{where}: unknown aggregation operator "{raw.get("operator")}"')
        count = raw.get("count")
        text = str(count).strip() if isinstance(count, (int, str)) and not isinstance(count, bool) else ""
        if not text.isdecimal() or int(text) > 1_000_000:
            raise InvalidRules(f'{where}: aggregation "count" must be a whole number')
        if operator == "at_least" and int(text) < 1:
            raise InvalidRules(f'{where}: "at_least" needs a count of at least 1')
        return Aggregation(operator, int(text))
