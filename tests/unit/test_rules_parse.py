"""RulesJson parsing and validation (protocol.md §5.2–§5.7, Part 1 §10, §16, §17), without a database."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from engine.audience import rules
from engine.audience.catalog import custom_field_kind, field_operator
from engine.audience.regex import check_portable_regex
from engine.audience.journey_rules import JourneyRule
from engine.audience.rules import ActivityRule, FieldRule, Group, SegmentRule, SuppressionRule
from engine.errors import InvalidRules

LIST = 1


class Lookup:
    """Custom fields 5 (text), 6 (number), 7 (date) on list 1, 8 on list 2; segments; campaigns 1–3."""

    def __init__(self, segments=None):
        self.segments = segments or {}

    def custom_field_kind(self, field_id, list_id):
        return {(5, 1): "text", (6, 1): "number", (7, 1): "date", (8, 2): "text"}.get((field_id, list_id))

    def segment(self, segment_id):
        return self.segments.get(segment_id)

    def missing_campaigns(self, ids):
        return [i for i in ids if i not in (1, 2, 3)]

    def tag_list(self, tag_id):
        return {10: 1, 11: 1, 12: 1, 20: 2}.get(tag_id)

    def journey(self, journey_id):
        return journey_id in (40, 41)

    def journey_email_action(self, action_id):
        return action_id in (400, 401)


def parse(doc, connector="or", lookup=None, strict=True):
    raw = doc if isinstance(doc, str) else json.dumps(doc)
    return rules.parse_criteria(raw, connector, lookup or Lookup(), list_id=LIST, strict=strict)


def field(field_id="EmailAddress", operator="contains", value="x", **extra):
    return {"type": "fields", "field_id": field_id, "operator": operator, "value": value, **extra}


def rejected(doc, connector="or", lookup=None) -> str:
    with pytest.raises(InvalidRules) as info:
        parse(doc, connector, lookup)
    return info.value.message


# --- structure and connectors -------------------------------------------------------------------
def test_connector_alternates_with_depth():
    a, b, c, d = (field(value=v) for v in "abcd")
    tree = parse([[a, b], [c, [d, a]]], "or")
    assert tree.connector == "or"
    first, second = tree.items
    assert first.connector == "and" and len(first.items) == 2
    assert second.connector == "and" and second.items[1].connector == "or"
    flipped = parse([[a, b], [c, [d, a]]], "AND")
    assert flipped.connector == "and" and flipped.items[0].connector == "or" and flipped.items[1].items[1].connector == "and"


def test_flat_rules_are_joined_directly_by_the_connector():
    tree = parse([field(value="a"), field(value="b")], "and")
    assert tree.connector == "and" and all(isinstance(item, FieldRule) for item in tree.items)


@pytest.mark.parametrize("doc, needle", [
    ("[]", "no rules"), ("[[]]", "group 1 is empty"), ("[[{}]]", 'has no "type"'),
    ("[[[]]]", "sub-group 1 is empty"), ('[[{"type":"nonsense"}]]', 'unknown type "nonsense"'),
    ('[[[[{"type":"fields"}]]]]', "more than three levels"), ("{}", "JSON array"), ('"x"', "JSON array"),
    ("[1]", "group 1 must be an array"), ("[[1]]", "must be a rule object"), ("[[[1]]]", "must be a rule object"),
    ("not json", "not valid JSON"), ("", "empty"), ("   ", "empty"),
    ('[[{"type":"suppressions","operator":"maybe"}]]', 'unknown suppression operator "maybe"'),
    ('[[{"type":"fields","field_id":"EmailAddress","operator":"contains","value":"a"}], []]', "group 2 is empty"),
])
def test_unusable_criteria_are_rejected_with_the_reason(doc, needle):
    assert needle in rejected(doc)


def test_a_decoded_document_is_accepted_by_the_engine_too():
    assert isinstance(rules.parse_criteria([[field()]], "or", Lookup(), list_id=LIST), Group)


@pytest.mark.parametrize("connector", ["", "xor", None, "and or"])
def test_connector_must_be_and_or_or(connector):
    assert "must be" in rejected([[field()]], connector)


def test_too_many_rules_and_too_much_json_are_rejected():
    assert "more than 200 rules" in rejected([[field()] * 201])
    assert "longer than" in rejected("[" * 100_001)


def test_website_event_rules_without_storage_are_refused_not_ignored():
    assert "not supported" in rejected([[{"type": "website-events", "operator": "happened", "value": "1"}]])


# --- journeys -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, operator, value, expected", [
    ("journeys", "in journey", "40", JourneyRule(40, True, "active", False)),
    ("journeys", "Completed Journey", 41, JourneyRule(41, True, "completed", False)),
    ("journeys", "not in journey", " 40 ", JourneyRule(40, True, "active", True)),
    ("journeys", "opened", "400", JourneyRule(400, False, "first_opened_at", False)),
    ("journeys", "not  opened", "400", JourneyRule(400, False, "first_opened_at", True)),
    ("journeys", "clicked", 401, JourneyRule(401, False, "first_clicked_at", False)),
    ("journeys", "not clicked", "401", JourneyRule(401, False, "first_clicked_at", True)),
    ("journeys", "unsubscribed", "400", JourneyRule(400, False, "unsubscribed_at", False)),
    ("journeys", "complained", "400", JourneyRule(400, False, "complained_at", False)),
    ("journeys", "not complained", "400", JourneyRule(400, False, "complained_at", True)),
    ("journeys", "bounced", "400", JourneyRule(400, False, "bounced_at", False)),
    ("journeys", "not bounced", "400", JourneyRule(400, False, "bounced_at", True)),
    ("journey-email-action", "opened", "401", JourneyRule(401, False, "first_opened_at", False)),
    ("journey-email-action", "not clicked", "400", JourneyRule(400, False, "first_clicked_at", True)),
])
def test_journey_rules_parse(kind, operator, value, expected):
    assert parse([[{"type": kind, "operator": operator, "value": value}]]).items[0].items[0] == expected


@pytest.mark.parametrize("rule, message", [
    ({"type": "journeys", "operator": "in journey", "value": "42"}, "journey 42 does not exist"),
    ({"type": "journeys", "operator": "in journey", "value": "x"}, "must be a journey ID"),
    ({"type": "journeys", "operator": "opened", "value": "402"}, "action 402 does not exist"),
    ({"type": "journeys", "operator": "opened", "value": "40"}, "action 40 does not exist"),
    ({"type": "journeys", "operator": "opened", "value": ""}, "SendEmail journey action"),
    ({"type": "journeys", "operator": "has this tag", "value": "40"}, "unknown journeys operator"),
    ({"type": "journey-email-action", "operator": "in journey", "value": "40"}, "unknown journey-email-action operator"),
])
def test_journey_rules_name_the_owners_journeys_and_sendemail_actions(rule, message):
    assert message in rejected([[rule]])


# --- tags -------------------------------------------------------------------------------------------------
def tags(operator, value="10"):
    return {"type": "tags", "operator": operator, "value": value}


@pytest.mark.parametrize("operator, value, expected", [
    ("has this tag", "10", rules.TagRule("has", (10,))),
    ("Has_Tag", 11, rules.TagRule("has", (11,))),
    ("does not have this tag", " 12 ", rules.TagRule("has not", (12,))),
    ("has any of these tags", "12,10,12", rules.TagRule("any", (10, 12))),
    ("has all of these tags", [11, "10"], rules.TagRule("all", (10, 11))),
    ("has no tags", "", rules.TagRule("none")),
])
def test_tag_rules(operator, value, expected):
    assert parse([[tags(operator, value)]]).items[0].items[0] == expected


@pytest.mark.parametrize("rule, needle", [
    (tags("has this tag", "20"), "tag 20 does not exist for list 1"),        # a tag of another list
    (tags("has this tag", "99"), "tag 99 does not exist for list 1"),        # not the owner's, or gone
    (tags("has this tag", "10,11"), "needs exactly one tag ID"),
    (tags("has any of these tags", ""), "is not a tag ID"),
    (tags("has all of these tags", "10,x"), "'x' is not a tag ID"),
    ({"type": "tags", "operator": "has any of these tags"}, "is not a tag ID"),
    (tags("is tagged"), 'unknown tags operator "is tagged"'),
])
def test_bad_tag_rules(rule, needle):
    assert needle in rejected([[rule]])


# --- fields and operators ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("EmailAddress", "EmailAddress"), ("emailaddress", "EmailAddress"), ("email", "EmailAddress"),
    ("SubscriptionStatus", "SubscriptionStatus"), ("BounceType", "BounceType"), ("OptInDate", "OptInDate"),
    ("SubscriptionDate", "SubscriptionDate"), ("SubscriptionIP", "SubscriptionIP"), ("SubscriberID", "SubscriberID"),
    ("5", "CustomField5"), (5, "CustomField5"), ("CustomField5", "CustomField5"), ("customfield:5", "CustomField5"),
])
def test_field_names(name, expected):
    operator = "is set"
    rule = parse([[field(name, operator)]]).items[0].items[0]
    assert rule.field.name == expected


@pytest.mark.parametrize("name", ["Email Address", "FirstName", "CustomField", "0", "-5", "5 OR 1=1", "8", "99", None,
                                  "subscribers.id", "CustomField5; DROP"])
def test_unknown_fields_and_fields_of_another_list_are_rejected(name):
    message = rejected([[field(name, "is", "x")]])
    assert "unknown field" in message or "does not exist for list 1" in message


@pytest.mark.parametrize("spelling, canonical", [
    ("is", "is"), ("IS NOT", "is not"), ("Equals to", "is"), ("does_not_equal", "is not"), ("Contains", "contains"),
    ("does-not-contain", "does not contain"), ("starts with", "begins with"), ("is_not_empty", "is set"),
    ("is empty", "is not set"), ("Is smaller than", "is less than"), ("greater than", "is greater than"),
    ("in_the_last_X_days", "in the last x days"), ("Is before", "is before"), ("is between", "between"),
])
def test_operator_spellings(spelling, canonical):
    assert field_operator(spelling) == canonical


@pytest.mark.parametrize("operator", ["like", "=~", "is like", "contains;", "", None, 3])
def test_unknown_operators_are_rejected(operator):
    assert "unknown operator" in rejected([[field("EmailAddress", operator, "x")]])


@pytest.mark.parametrize("name, operator", [
    ("EmailAddress", "is greater than"), ("EmailAddress", "is before"), ("SubscriberID", "contains"),
    ("SubscriptionDate", "is less than"), ("SubscriptionDate", "contains"), ("7", "is greater than"),
    ("5", "in the last x days"), ("SubscriptionStatus", "between"),
])
def test_operators_that_do_not_apply_to_the_field_kind_are_rejected(name, operator):
    assert "does not apply" in rejected([[field(name, operator, "1")]])


def test_values_are_typed_per_field_kind():
    tree = parse([[field("SubscriberID", "is", "12"), field("6", "is greater than", "2.5"),
                   field("SubscriptionDate", "is", "2026-01-05"), field("7", "between", {"start": "2026-01-01",
                                                                                          "end": "2026-01-31"}),
                   field("OptInDate", "in the last x days", 30), field("SubscriptionStatus", "is", "subscribed"),
                   field("5", "is", 7), field("EmailAddress", "is set")]], "or")
    values = [r.value for r in tree.items[0].items]
    assert values == [Decimal("12"), Decimal("2.5"), date(2026, 1, 5), (date(2026, 1, 1), date(2026, 1, 31)), 30,
                      "Subscribed", "7", None]


@pytest.mark.parametrize("rule, needle", [
    (field("SubscriberID", "is", "abc"), "not a number"),
    (field("6", "is less than", "1e5"), "not a number"),
    (field("6", "is less than", "123456789012345"), "not a number"),
    (field("6", "is less than", True), "must be a number"),
    (field("SubscriptionDate", "is", "05/01/2026"), "not a date"),
    (field("SubscriptionDate", "is", "2026-02-30"), "not a date"),
    (field("SubscriptionDate", "in the last x days", "-1"), "number of days"),
    (field("SubscriptionDate", "in the last x days", 36501), "number of days"),
    (field("SubscriptionDate", "between", "2026-02-01,2026-01-01"), "before the start"),
    (field("SubscriptionDate", "between", "2026-02-01"), "start and an end"),
    (field("SubscriptionStatus", "is not", "Subscribd"), "is not one of"),
    (field("BounceType", "is", "bounced"), "is not one of"),
    (field("EmailAddress", "contains", ""), "non-empty"),
    (field("EmailAddress", "ends with", ""), "non-empty"),
    (field("EmailAddress", "is", ["a"]), "must be a string"),
    (field("EmailAddress", "is", {"a": 1}), "must be a string"),
    (field("EmailAddress", "is", "x" * 1001), "longer than 1000"),
    (field("EmailAddress", "is", "a\x00b"), "NUL"),
    (field("EmailAddress", "is", "\ud800"), "not valid Unicode"),
    ({"type": "fields", "field_id": "EmailAddress", "operator": "is"}, 'needs a "value"'),
])
def test_malformed_values_are_rejected(rule, needle):
    assert needle in rejected([[rule]])


# --- regex ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pattern", ["^a.*b$", "[a-z0-9_.%+-]+@gmail\\.com", "(ab|cd)?x{2,5}", "a*?", "[^@]+",
                                     "\\(x\\)", "é|ж", "x{3}", "x{2,}", "^$",
                                     # at the cost limit (300 written-out positions)
                                     ".{100}" * 3, "(ab){100}x{99}y", "((a{100})?b{99})?[0-9]{100}"])
def test_portable_patterns_are_accepted(pattern):
    check_portable_regex(pattern)


@pytest.mark.parametrize("pattern, needle", [
    ("\\d+", "only escape punctuation"), ("\\bword", "only escape punctuation"), ("(a)\\1", "only escape"),
    ("(?i)a", "special groups"), ("(?=a)", "special groups"), ("[[:alpha:]]", "POSIX"), ("(a+)+", "may not contain"),
    ("(a*)*b", "may not contain"), ("a**", "cannot follow"), ("a++", "cannot follow"), ("*a", "nothing to repeat"),
    ("a{101}", "at most 100"), ("a{3,2}", "ordered"), ("a{", "must be escaped"), ("a}", "must be escaped"),
    ("(a", "unbalanced"), ("a)", "unexpected"), ("[]", "empty character class"), ("[a", "unterminated"),
    ("a|", "empty alternatives"), ("()", "empty"), ("^*", "cannot be repeated"), ("[z-a]", "reversed"),
    ("x" * 201, "longer than 200"), ("", "empty"),
    # the cost limit: counted repetitions written out come to more than 300 positions
    (".{100}" * 32, "come to 3200 positions"), (".{100}" * 4, "too expensive"), ("(ab){100}x{100}y", "301"),
    ("a{100,}[b-c]{100}(d|e){50}", "too expensive"), ("(.{100}){32}", "may not contain"),
])
def test_patterns_outside_the_portable_subset_are_rejected(pattern, needle):
    with pytest.raises(InvalidRules) as info:
        check_portable_regex(pattern)
    assert needle in info.value.message


def test_regex_rules_are_validated():
    assert "may not contain" in rejected([[field("EmailAddress", "matches regex", "(a+)+$")]])
    assert parse([[field("5", "does not match regex", "^uk$")]]).items[0].items[0].value == "^uk$"


# --- other rule types ---------------------------------------------------------------------------------------
def test_segment_rules_inline_the_segment_criteria():
    inner = json.dumps([[field("EmailAddress", "ends with", "@x.com")]])
    lookup = Lookup({9: (1, inner, "or"), 10: (1, "", "and")})
    tree = parse([[{"type": "segments", "operator": "does not belong to", "value": "9"},
                   {"type": "segments", "operator": "belongs to", "value": 10}]], lookup=lookup)
    belongs_not, empty = tree.items[0].items
    assert isinstance(belongs_not, SegmentRule) and belongs_not.negated and belongs_not.criteria.connector == "or"
    assert empty.criteria is None and not empty.negated


@pytest.mark.parametrize("segments, value, needle", [
    ({}, "9", "segment 9 does not exist"),
    ({9: (2, "", "and")}, "9", "does not belong to list 1"),
    ({9: (1, '[[{"type":"segments","operator":"belongs to","value":"9"}]]', "or")}, "9", "recursion"),
    ({9: (1, '[[{"type":"segments","operator":"belongs to","value":"10"}]]', "or"),
      10: (1, '[[{"type":"segments","operator":"belongs to","value":"9"}]]', "or")}, "9", "recursion"),
    ({9: (1, "[[]]", "or")}, "9", "segment 9: group 1 is empty"),
    ({}, "x", "must be a segment ID"),
])
def test_bad_segment_references(segments, value, needle):
    doc = [[{"type": "segments", "operator": "belongs to", "value": value}]]
    assert needle in rejected(doc, lookup=Lookup(segments))


def test_unknown_segment_operator():
    assert "unknown segment operator" in rejected([[{"type": "segments", "operator": "in", "value": "9"}]],
                                                  lookup=Lookup({9: (1, "", "and")}))


def test_suppression_rules_and_the_stored_fail_closed_case():
    tree = parse([[{"type": "suppressions", "operator": "not exist"}, {"type": "suppressions", "operator": "Exist"}]])
    assert [r.operator for r in tree.items[0].items] == ["not exist", "exist"]
    stored = parse([[{"type": "suppressions", "operator": "maybe"}]], strict=False)
    assert stored.items[0].items[0] == SuppressionRule(None)
    assert "unknown suppression operator" in rejected([[{"type": "suppressions"}]])


def test_campaign_event_rules():
    rule = parse([[{"type": "campaign-events", "operator": "Not Opened", "value": [2, "1", 2], "email-id": "7",
                    "time_filter": {"type": "in_last_x_days", "value": "30"},
                    "aggregation": {"operator": "at_most", "count": 0}}]]).items[0].items[0]
    assert isinstance(rule, ActivityRule)
    assert (rule.kind, rule.negated, rule.campaign_ids, rule.email_id) == ("open", True, (1, 2), 7)
    assert (rule.time_filter.type, rule.time_filter.days) == ("in_last_x_days", 30)
    assert (rule.aggregation.operator, rule.aggregation.count) == ("at_most", 0)
    anything = parse([[{"type": "campaign-events", "operator": "queued-recipients", "value": ""}]]).items[0].items[0]
    assert anything.kind == "queued" and anything.campaign_ids == ()


@pytest.mark.parametrize("rule, needle", [
    ({"operator": "read", "value": ""}, "unknown campaign-events operator"),
    ({"operator": "opened", "value": "4"}, "campaign 4 does not exist"),
    ({"operator": "opened", "value": "1 OR 1=1"}, "is not a campaign ID"),
    ({"operator": "opened", "value": "", "email-id": "x"}, "email-id"),
    ({"operator": "delivered", "value": "", "time_filter": {"type": "in_last_x_days", "value": 3}}, "time filter"),
    ({"operator": "not failed", "value": "", "aggregation": {"operator": "at_least", "count": 1}}, "aggregation"),
    ({"operator": "opened", "value": "", "time_filter": {"type": "yesterday", "value": 3}}, "unknown time filter"),
    ({"operator": "opened", "value": "", "time_filter": {"type": "between", "value": {"start": "2026-01-01"}}},
     "start and an end"),
    ({"operator": "opened", "value": "", "time_filter": "30"}, "must be an object"),
    ({"operator": "opened", "value": "", "aggregation": {"operator": "most", "count": 1}}, "unknown aggregation"),
    ({"operator": "opened", "value": "", "aggregation": {"operator": "at_least", "count": 0}}, "at least 1"),
    ({"operator": "opened", "value": "", "aggregation": {"operator": "exactly", "count": "two"}}, "whole number"),
    ({"operator": "opened", "value": "", "aggregation": {"operator": "exactly", "count": "²"}}, "whole number"),
])
def test_bad_campaign_event_rules(rule, needle):
    assert needle in rejected([[{"type": "campaign-events", **rule}]])


# --- bundles and legacy arrays -----------------------------------------------------------------------------
def test_bundle_parsing_per_list():
    seen = []

    def lookup_for(list_id):
        seen.append(list_id)
        return Lookup()

    bundle = rules.parse_bundle(json.dumps({"operator": "OR", "criteria": [
        {"list_id": 1, "operator": "and", "rules": [field(value="user1"), field(value=".net")]},
        {"list_id": "1", "operator": "or", "rules": [[field("5", "is", "UK")]]},
    ]}), lookup_for)
    assert bundle.operator == "or" and seen == [1, 1]
    assert [c.criteria.connector for c in bundle.criteria] == ["and", "or"]


@pytest.mark.parametrize("bundle, needle", [
    ([], "JSON object"), ({"criteria": []}, '"operator"'), ({"operator": "or", "criteria": []}, "non-empty"),
    ({"operator": "or", "criteria": [1]}, "must be an object"),
    ({"operator": "or", "criteria": [{"list_id": 0, "rules": [[{}]]}]}, "list_id"),
    ({"operator": "or", "criteria": [{"list_id": "x", "rules": [[{}]]}]}, "list_id"),
    ({"operator": "or", "criteria": [{"list_id": 1}]}, 'no "rules"'),
    ({"operator": "or", "criteria": [{"list_id": 1, "rules": []}]}, "no rules"),
    ({"operator": "or", "criteria": [{"list_id": 1, "operator": "nand", "rules": [[field()]]}]}, "operator"),
])
def test_bad_bundles(bundle, needle):
    with pytest.raises(InvalidRules) as info:
        rules.parse_bundle(json.dumps(bundle), lambda list_id: Lookup())
    assert needle in info.value.message


def test_legacy_rule_arrays_become_flat_rules():
    doc = rules.legacy_rule_arrays(["EmailAddress", "CustomField5"], ["Contains", "Equals to"], ["@x", "UK"])
    tree = parse(doc, "and")
    assert tree.connector == "and" and [r.operator for r in tree.items] == ["contains", "is"]
    with pytest.raises(InvalidRules):
        rules.legacy_rule_arrays(["EmailAddress"], [], ["x"])


@pytest.mark.parametrize("field_type, validation, kind", [
    ("Single line", "Disabled", "text"), ("Date field", "Disabled", "date"), ("Drop down", "Numbers", "number"),
    ("Time field", "Time", "text"), ("date", "", "date"),
])
def test_custom_field_kinds(field_type, validation, kind):
    assert custom_field_kind(field_type, validation) == kind
