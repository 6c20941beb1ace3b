"""The RulesJson AST → SQLAlchemy expressions over subscriber rows.

Every value reaches the database as a bound parameter; field names come only from the catalog.
Each rule compiles to a two-valued predicate (never SQL NULL), so `does not belong to` and the
negated activity rules are exact complements. Custom fields are correlated EXISTS subqueries
on subscriber_field_values, keyed by its (subscriber_id, field_id) primary key.

Semantics the reference evaluator in tests/audience_reference.py implements independently:
* text: case-insensitive (sqlfuncs.folded); a custom field without a value is the empty string,
  so `is not "US"` matches it and `is set` does not; `is set` means "not the empty string".
* numbers and dates never match a missing value (value_number / value_date are NULL when the
  text is not a number / date).
* dates compare by UTC calendar day: `is D` is [D 00:00, D+1 00:00); `is before D` < D 00:00;
  `is after D` ≥ D+1 00:00; `between A, B` includes both days; `in the last N days` is
  [now − N days, now]; `in the next N days` is [now, now + N days]; `is exactly N days ago` is the
  calendar day N days before today.
* campaign events: the rule holds when the subscriber row has activity of that kind (for the
  given campaigns / email, inside the time filter) and its count satisfies the aggregation
  (default: at least one); the `not …` operators are the exact complement.
* journeys: engine/audience/journey_rules.py.
* tags: the row carries the tag (has / does not have this tag), at least one / every one of the
  tags (has any / all of these tags), or no tag at all (has no tags).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Numeric, Select, String, and_, false, func, literal, or_, select, true, union_all
from sqlalchemy.orm import aliased

from engine.audience.rules import (
    ActivityRule, FieldRule, Group, SegmentRule, SuppressionRule, TagRule,
)
from engine.audience.journey_rules import JourneyRule, journey_condition
from engine.audience.sqlfuncs import folded, matches_regex
from engine.models import (
    Subscriber, SubscriberActivity, SubscriberFieldValue, SubscriberList, SubscriberTagAssignment, Suppression,
)

ESCAPE = "/"
NUMBER = Numeric(20, 6)


@dataclass(frozen=True)
class CompileContext:
    owner_user_id: int
    now: datetime  # aware, UTC: the instant relative dates are measured from
    # The database anti-joins a UNION of blocked addresses as one hash (PostgreSQL). MariaDB 10.11 scans
    # such a derived table once per candidate instead, so there each exclusion stays its own NOT EXISTS.
    union_anti_join: bool = False


@dataclass(frozen=True)
class Source:
    """One included or excluded audience part: a whole list, or a list filtered by criteria."""

    list_id: int
    criteria: Group | None = None
    whole_list: bool = False  # criteria None and not whole_list: a rule-less segment, nobody


# --- criteria ----------------------------------------------------------------------------------
def condition(node, s, ctx: CompileContext):
    """The predicate of a Group or rule over the subscriber entity or alias `s`."""
    if isinstance(node, Group):
        parts = [condition(item, s, ctx) for item in node.items]
        return and_(*parts) if node.connector == "and" else or_(*parts)
    if isinstance(node, FieldRule):
        return _custom_field(node, s, ctx) if node.field.is_custom else _subscriber_field(node, s, ctx)
    if isinstance(node, SegmentRule):
        inside = false() if node.criteria is None else and_(
            s.list_id == node.list_id, condition(node.criteria, s, ctx))
        return ~inside if node.negated else inside
    if isinstance(node, SuppressionRule):
        if node.operator is None:
            return false()  # fail closed (protocol.md §5.6)
        suppressed = _suppressed(s, ctx)
        return suppressed if node.operator == "exist" else ~suppressed
    if isinstance(node, ActivityRule):
        return _activity(node, s, ctx)
    if isinstance(node, TagRule):
        return _tags(node, s)
    if isinstance(node, JourneyRule):
        return journey_condition(node, s)
    raise TypeError(f"not an audience rule: {node!r}")


def criteria_query(group: Group, list_id: int, ctx: CompileContext) -> Select:
    """ONE select of the list's subscriber rows that satisfy `group`, in ID order."""
    return (select(Subscriber)
            .where(Subscriber.list_id == list_id, condition(group, Subscriber, ctx))
            .order_by(Subscriber.id))


# --- fields ------------------------------------------------------------------------------------
def _subscriber_field(rule: FieldRule, s, ctx: CompileContext):
    spec, op, value = rule.field, rule.operator, rule.value
    column = getattr(s, spec.column)
    if spec.kind == "date":
        if op in ("is set", "is not set"):
            return column.isnot(None) if op == "is set" else column.is_(None)
        predicate = _date(column, op, value, ctx.now)
        return and_(column.isnot(None), predicate) if spec.nullable else predicate
    if spec.kind == "number":
        if op == "is set":
            return true()
        if op == "is not set":
            return false()
        return _number(column, op, value)
    if spec.kind == "enum" and op in ("is", "is not"):
        # Canonical values compare exactly, which keeps (list_id, subscription_status) usable.
        return column == value if op == "is" else column != value
    return _text(column, op, value)


def _custom_field(rule: FieldRule, s, ctx: CompileContext):
    spec, op, value = rule.field, rule.operator, rule.value
    v = aliased(SubscriberFieldValue)

    def exists(*where):
        return select(v.subscriber_id).where(
            v.subscriber_id == s.id, v.field_id == spec.custom_field_id, *where).exists()

    if op in ("is set", "is not set"):
        present = exists(v.value_text != "")
        return present if op == "is set" else ~present
    if spec.kind == "date" and op not in TEXT_ONLY:
        return exists(_date(v.value_date, op, value, ctx.now))
    if op in NUMBER_OPS or (spec.kind == "number" and op in ("is", "is not")):
        return exists(_number(v.value_number, op, value))
    if _text_matches_empty(op, value):
        # A missing value counts as "" and "" satisfies the rule: match unless a stored value fails.
        return ~exists(~_text(v.value_text, op, value))
    return exists(_text(v.value_text, op, value))


TEXT_ONLY = ("contains", "does not contain", "begins with", "ends with", "matches regex", "does not match regex")
NUMBER_OPS = ("is less than", "is less than or equal to", "is greater than", "is greater than or equal to")


def _text(column, op: str, value):
    folded_column = folded(column)
    if op == "is":
        return folded_column == folded(_str(value))
    if op == "is not":
        return folded_column != folded(_str(value))
    if op == "is set":
        return column != ""
    if op == "is not set":
        return column == ""
    if op in ("matches regex", "does not match regex"):
        matched = matches_regex(column, _str(value))
        return matched if op == "matches regex" else ~matched
    escaped = like_escape(value)
    pattern = {"contains": f"%{escaped}%", "does not contain": f"%{escaped}%",
               "begins with": f"{escaped}%", "ends with": f"%{escaped}"}[op]
    like = folded_column.like(folded(_str(pattern)), escape=ESCAPE)
    return ~like if op == "does not contain" else like


def _text_matches_empty(op: str, value) -> bool:
    """Whether the empty string satisfies a text rule (what a missing custom value compares as)."""
    if op == "is":
        return value == ""
    if op == "is not":
        return value != ""
    if op in ("matches regex", "does not match regex"):
        hit = re.search(value, "", re.IGNORECASE | re.DOTALL) is not None
        return hit if op == "matches regex" else not hit
    return op == "does not contain"  # contains / begins / ends need a non-empty value


def like_escape(text: str) -> str:
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def _str(value: str):
    return literal(value, String())


def _number(column, op: str, value: Decimal):
    bound = literal(value, NUMBER)
    return {
        "is": column == bound, "is not": column != bound,
        "is less than": column < bound, "is less than or equal to": column <= bound,
        "is greater than": column > bound, "is greater than or equal to": column >= bound,
    }[op]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def _date(column, op: str, value, now: datetime):
    if op in ("is", "is not", "is before", "is after"):
        start, end = day_bounds(value)
        return {"is": and_(column >= start, column < end), "is not": or_(column < start, column >= end),
                "is before": column < start, "is after": column >= end}[op]
    if op in ("between", "not between"):
        start, end = day_bounds(value[0])[0], day_bounds(value[1])[1]
        return and_(column >= start, column < end) if op == "between" else or_(column < start, column >= end)
    if op in ("is exactly x days ago", "is exactly x days from now"):
        shift = -value if op == "is exactly x days ago" else value
        start, end = day_bounds(now.date() + timedelta(days=shift))
        return and_(column >= start, column < end)
    span = timedelta(days=value)
    return {
        "in the last x days": and_(column >= now - span, column <= now),
        "not in the last x days": or_(column < now - span, column > now),
        "in the next x days": and_(column >= now, column <= now + span),
        "not in the next x days": or_(column < now, column > now + span),
    }[op]


# --- suppressions and activity -------------------------------------------------------------------
def _suppressed(s, ctx: CompileContext):
    """On the owner's account-wide suppression list or on the list of this subscriber row."""
    sup = aliased(Suppression)
    return select(sup.id).where(
        sup.owner_user_id == ctx.owner_user_id, sup.email_normalized == s.email_normalized,
        or_(sup.list_id.is_(None), sup.list_id == s.list_id),
    ).exists()


def _activity(rule: ActivityRule, s, ctx: CompileContext):
    a = aliased(SubscriberActivity)
    where = [a.subscriber_id == s.id, a.kind == rule.kind]
    if rule.campaign_ids:
        where.append(a.campaign_id.in_(rule.campaign_ids))
    if rule.email_id is not None:
        where.append(a.email_id == rule.email_id)
    if rule.time_filter is not None:
        where.append(_time_filter(a.occurred_at, rule.time_filter, ctx.now))
    agg = rule.aggregation
    if agg is None or (agg.operator == "at_least" and agg.count == 1):
        held = select(a.id).where(*where).exists()
    else:
        count = select(func.count(a.id)).where(*where).scalar_subquery()
        held = {"at_least": count >= agg.count, "at_most": count <= agg.count,
                "exactly": count == agg.count}[agg.operator]
    return ~held if rule.negated else held


def _tags(rule: TagRule, s):
    """EXISTS over the row's tag assignments (a row only ever carries tags of its own list)."""
    def carries(*where):
        a = aliased(SubscriberTagAssignment)
        return select(a.tag_id).where(a.subscriber_id == s.id, *[w(a) for w in where]).exists()

    if rule.mode == "none":
        return ~carries()
    if rule.mode == "any":
        return carries(lambda a: a.tag_id.in_(rule.tag_ids))
    if rule.mode == "all":
        return and_(*[carries(lambda a, t=t: a.tag_id == t) for t in rule.tag_ids])
    held = carries(lambda a: a.tag_id == rule.tag_ids[0])
    return ~held if rule.mode == "has not" else held


def _time_filter(column, tf, now: datetime):
    if tf.type == "in_last_x_days":
        return column >= now - timedelta(days=tf.days)
    if tf.type == "not_in_last_x_days":
        return column < now - timedelta(days=tf.days)
    if tf.type == "after":
        return column >= day_bounds(tf.start)[1]
    if tf.type == "before":
        return column < day_bounds(tf.start)[0]
    start, end = day_bounds(tf.start)[0], day_bounds(tf.end)[1]
    return and_(column >= start, column < end) if tf.type == "between" else or_(column < start, column >= end)


# --- campaign audiences -----------------------------------------------------------------------------
def _source(source: Source, who, ctx: CompileContext):
    if source.whole_list:
        return who.list_id == source.list_id
    if source.criteria is None:
        return false()
    return and_(who.list_id == source.list_id, condition(source.criteria, who, ctx))


def audience_query(included: list[Source], excluded: list[Source], ctx: CompileContext,
                   operator: str = "or") -> Select:
    """The subscriber rows to mail: one per address (the lowest eligible subscriber ID).

    A row is a candidate when it matches an included source (with operator "and": when the same
    address is also matched by every included source), the address is in no excluded source, the
    row is Subscribed, the address never hard-bounced or complained on any of the owner's lists,
    and it is not suppressed account-wide or for the row's list.
    """
    if _one_list(included):
        return (select(Subscriber).where(*_eligible(Subscriber, included, excluded, ctx, operator))
                .order_by(Subscriber.id))
    s = aliased(Subscriber, name="candidate")
    chosen = select(func.min(s.id)).where(*_eligible(s, included, excluded, ctx, operator)).group_by(s.email_normalized)
    return select(Subscriber).where(Subscriber.id.in_(chosen)).order_by(Subscriber.id)


def audience_rows(included: list[Source], excluded: list[Source], ctx: CompileContext,
                  operator: str = "or") -> Select:
    """The same people as audience_query(), as (subscriber_id, email_normalized) and unordered: what a
    ledger is written from and what an audience count counts, without reading the rows again."""
    if _one_list(included):
        return select(Subscriber.id.label("subscriber_id"), Subscriber.email_normalized).where(
            *_eligible(Subscriber, included, excluded, ctx, operator))
    s = aliased(Subscriber, name="candidate")
    return (select(func.min(s.id).label("subscriber_id"), s.email_normalized)
            .where(*_eligible(s, included, excluded, ctx, operator)).group_by(s.email_normalized))


def _one_list(included: list[Source]) -> bool:
    # Every candidate row is in this one list, and UNIQUE(list_id, email_normalized) makes each address one
    # row of it: the audience needs no grouping by address. At 1,000,000 recipients that grouping (and
    # reading the chosen rows back by ID) was most of a campaign's count and of the tick's ledger write.
    return len({source.list_id for source in included}) == 1


def _eligible(s, included: list[Source], excluded: list[Source], ctx: CompileContext, operator: str) -> list:
    """The conditions on a candidate row `s` (see audience_query)."""
    wanted = or_(*[_source(src, s, ctx) for src in included]) if included else false()
    if operator == "and" and len(included) > 1:
        for src in included:
            x = aliased(Subscriber)
            wanted = and_(wanted, select(x.id).where(
                x.email_normalized == s.email_normalized, _source(src, x, ctx)).exists())
    conditions = [wanted, s.subscription_status == "Subscribed"]
    if excluded:
        x = aliased(Subscriber)
        conditions.append(~select(x.id).where(
            x.email_normalized == s.email_normalized, or_(*[_source(src, x, ctx) for src in excluded])).exists())
    b = aliased(Subscriber)
    owner_lists = select(SubscriberList.id).where(SubscriberList.owner_user_id == ctx.owner_user_id)
    undeliverable = or_(b.bounce_type == "Hard", b.complained_at.isnot(None))
    if _one_list(included):
        # The candidate is the address's only row in its list: its own flags, then the owner's *other*
        # lists only (by the list index), instead of every hard-bounced or complained row in the table.
        conditions += [s.bounce_type != "Hard", s.complained_at.is_(None)]
        owner_lists = owner_lists.where(SubscriberList.id != included[0].list_id)
    if _one_list(included) and ctx.union_anti_join:
        # Every candidate is in `list_id`, so the suppressions that apply are known without the candidate:
        # one set of blocked addresses, one anti-join (one hash probe per candidate on PostgreSQL, where two
        # NOT EXISTS probed twice: a sixth to a third of a million-row count's time).
        list_id, sup = included[0].list_id, aliased(Suppression)
        blocked = union_all(
            select(sup.email_normalized.label("email")).where(
                sup.owner_user_id == ctx.owner_user_id, or_(sup.list_id.is_(None), sup.list_id == list_id)),
            select(b.email_normalized).where(b.list_id.in_(owner_lists), undeliverable),
        ).subquery("blocked")
        conditions.append(~select(blocked.c.email).where(blocked.c.email == s.email_normalized).exists())
        return conditions
    conditions.append(~select(b.id).where(
        b.email_normalized == s.email_normalized, b.list_id.in_(owner_lists), undeliverable).exists())
    conditions.append(~_suppressed(s, ctx))
    return conditions


def count_query(query: Select) -> Select:
    return select(func.count()).select_from(query.order_by(None).subquery())


def render_sql(query: Select, dialect) -> str:
    """The query as text with its values inlined, for people to read (never executed)."""
    try:
        text = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except Exception:  # noqa: BLE001 - a value type without a literal renderer: show placeholders
        compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        return f"{compiled}\n-- parameters: {compiled.params!r}"
    if dialect.paramstyle in ("format", "pyformat"):
        text = text.replace("%%", "%")  # the driver-level escaping of % is noise for a reader
    return text
