"""The compiled SQL per dialect, without a database: bound values, folding, escaping, structure."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy.dialects import mysql, postgresql, sqlite

from engine.audience import rules
from engine.audience.compiler import CompileContext, Source, audience_query, condition, criteria_query, render_sql
from engine.models import Subscriber
from tests.unit.test_rules_parse import Lookup, field

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
CTX = CompileContext(owner_user_id=3, now=NOW)
DIALECTS = {"postgresql": postgresql.dialect(), "mariadb": mysql.dialect(is_mariadb=True),
            "sqlite": sqlite.dialect()}
PAYLOAD = "x'); DELETE FROM subscribers; --"


def query(doc, connector="or"):
    tree = rules.parse_criteria(json.dumps(doc), connector, Lookup(), list_id=1)
    return criteria_query(tree, 1, CTX)


def compiled(doc, dialect, connector="or"):
    result = query(doc, connector).compile(dialect=DIALECTS[dialect])
    return str(result), result.params


def where(doc, connector="or") -> str:
    """The criteria part of the WHERE clause with literal values on SQLite, for structure checks."""
    sql = str(query(doc, connector).compile(dialect=DIALECTS["sqlite"], compile_kwargs={"literal_binds": True}))
    head = "WHERE subscribers.list_id = 1 AND "
    return sql[sql.index(head) + len(head):sql.rindex(" ORDER BY")]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("operator", ["is", "is not", "contains", "does not contain", "begins with", "ends with"])
@pytest.mark.parametrize("field_id", ["EmailAddress", "5"])
def test_values_are_bound_parameters_never_sql_text(dialect, operator, field_id):
    sql, params = compiled([[field(field_id, operator, PAYLOAD)]], dialect)
    assert "DELETE" not in sql and PAYLOAD not in sql
    assert any(PAYLOAD in str(v) for v in params.values())


@pytest.mark.parametrize("dialect, fold", [
    ("postgresql", "lower(subscribers.email_address)"),
    ("mariadb", "(lower(subscribers.email_address) COLLATE utf8mb4_nopad_bin)"),
    ("sqlite", "sendmill_lower(subscribers.email_address)"),
])
def test_text_is_folded_on_both_sides_per_dialect(dialect, fold):
    sql, params = compiled([[field("EmailAddress", "contains", "50%_off/")]], dialect)
    assert f"{fold} LIKE" in sql and "ESCAPE '/'" in sql
    assert "50/%/_off//" in " ".join(str(v) for v in params.values())


@pytest.mark.parametrize("dialect, fragment", [
    ("postgresql", "~*"), ("mariadb", "REGEXP CONCAT('(?is)',"), ("sqlite", "sendmill_regexp("),
])
def test_regex_per_dialect(dialect, fragment):
    sql, params = compiled([[field("EmailAddress", "matches regex", "^a.*b$")]], dialect)
    assert fragment in sql and "^a.*b$" in params.values()


def test_connectors_alternate_in_the_sql():
    a, b, c = (field("EmailAddress", "is", v) for v in "abc")
    or_sql = where([[a, b], [c]], "or")
    and_sql = where([[a, b], [c]], "and")
    assert or_sql.count(" AND ") == 1 and or_sql.count(" OR ") == 1
    assert or_sql.index(" AND ") < or_sql.index(" OR ")  # (a AND b) OR c
    assert and_sql.count(" AND ") == 1 and and_sql.count(" OR ") == 1
    assert and_sql.startswith("(") and and_sql.index(" OR ") < and_sql.index(" AND ")  # (a OR b) AND c


def test_custom_fields_are_correlated_exists_on_the_value_table():
    sql = where([[field("5", "is", "UK")]])
    assert sql.startswith("(EXISTS (SELECT") and "FROM subscriber_field_values AS subscriber_field_values_1 \nWHERE" in sql
    assert ".field_id = 5" in sql and ".subscriber_id = subscribers.id" in sql


def test_a_missing_custom_value_compares_as_the_empty_string():
    # is not "UK" keeps people without a value: NOT EXISTS(a value equal to UK)
    assert where([[field("5", "is not", "UK")]]).startswith("NOT (EXISTS")
    # does not contain: NOT EXISTS(a value that contains it)
    assert where([[field("5", "does not contain", "x")]]).startswith("NOT (EXISTS")
    # is set needs a non-empty stored value; is not set is its complement
    assert "value_text != ''" in where([[field("5", "is set")]])
    assert where([[field("5", "is not set")]]).startswith("NOT (EXISTS")


def test_numbers_and_dates_never_match_a_missing_value():
    assert where([[field("6", "is not", "3")]]).startswith("(EXISTS")
    assert ".value_number != 3" in where([[field("6", "is not", "3")]])
    assert where([[field("7", "not in the last x days", 3)]]).startswith("(EXISTS")
    assert "subscribers.opt_in_date IS NOT NULL" in where([[field("OptInDate", "is not", "2026-01-01")]])


def test_date_rules_bind_utc_day_bounds():
    _, params = compiled([[field("SubscriptionDate", "between", "2026-01-01,2026-01-31")]], "postgresql")
    assert sorted(v for v in params.values() if isinstance(v, datetime)) == [
        datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc)]
    _, params = compiled([[field("SubscriptionDate", "is exactly x days ago", 2)]], "postgresql")
    assert datetime(2026, 11, 21, tzinfo=timezone.utc) in params.values()


def test_enum_equality_uses_the_canonical_value_so_the_status_index_applies():
    assert "subscribers.subscription_status = 'Opt-In Pending'" in where(
        [[field("SubscriptionStatus", "is", "opt-in pending")]])


def test_campaign_events_and_suppressions():
    sql = where([[{"type": "campaign-events", "operator": "clicked", "value": [1, 2],
                   "aggregation": {"operator": "at_least", "count": 2}},
                  {"type": "campaign-events", "operator": "not opened", "value": ""},
                  {"type": "suppressions", "operator": "exist"}]])
    assert "count(subscriber_activity_" in sql and ">= 2" in sql and "campaign_id IN (1, 2)" in sql
    assert "NOT (EXISTS (SELECT subscriber_activity_" in sql and "kind = 'open'" in sql
    assert "suppressions_1.owner_user_id = 3" in sql and "suppressions_1.list_id IS NULL" in sql


def test_an_unknown_stored_suppression_operator_matches_nobody():
    tree = rules.parse_criteria('[[{"type":"suppressions","operator":"maybe"}]]', "or", Lookup(), list_id=1,
                                strict=False)
    assert str(condition(tree, Subscriber, CTX).compile(dialect=DIALECTS["sqlite"])) in ("0 = 1", "false")


def test_criteria_query_is_one_select_of_the_list():
    sql = str(query([[field()]]).compile(dialect=DIALECTS["postgresql"]))
    assert sql.startswith("SELECT subscribers.id,") and sql.count("FROM subscribers") == 1
    assert "subscribers.list_id = %(list_id_1)s" in sql and sql.endswith("ORDER BY subscribers.id")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_audience_query_deduplicates_and_filters_deliverability(dialect):
    tree = rules.parse_criteria(json.dumps([[field()]]), "or", Lookup(), list_id=1)
    q = audience_query([Source(1, tree), Source(2, whole_list=True)], [Source(3, whole_list=True)], CTX)
    sql = render_sql(q, DIALECTS[dialect])
    assert "min(candidate.id)" in sql and "GROUP BY candidate.email_normalized" in sql
    assert "candidate.subscription_status = 'Subscribed'" in sql
    assert "bounce_type = 'Hard'" in sql and "complained_at IS NOT NULL" in sql
    assert "suppressions" in sql and "%%" not in sql


def test_render_sql_inlines_values_for_reading():
    sql = render_sql(query([[field("EmailAddress", "contains", "o'brien")]]), DIALECTS["postgresql"])
    assert "'%o''brien%'" in sql
