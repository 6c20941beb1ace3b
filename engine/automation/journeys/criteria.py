"""Journey criteria (criteria-syntax.md) compiled to SQL with the audience compiler, per list.

Run_Criteria / Trigger_Criteria filter who may enter; a Decision's Criteria choose the branch. Criteria
are stored as given and compiled when used, for the list of the subscribers at hand (custom fields
belong to lists). Criteria that no longer compile (a field or segment deleted since) match nobody:
fail closed, never "everybody" (README "Journeys").
"""
from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy import and_, false, or_, true

from engine.audience import compiler, rules
from engine.audience.service import DbLookup
from engine.audience.sqlfuncs import prepare_connection
from engine.errors import DomainError
from engine.models import Subscriber

log = logging.getLogger("sendmill.journeys")


def predicate(session, owner_id: int, list_id: int, raw: str | list, connector: str, now: datetime, s=Subscriber):
    """The SQL predicate over subscriber rows `s` of `list_id` that the criteria hold for; true() when there
    are none."""
    doc = json.loads(raw) if isinstance(raw, str) else raw
    if not doc:
        return true()
    prepare_connection(session)  # SQLite: the Unicode-aware lower() and regexp behind text rules
    try:
        group = rules.parse_criteria(doc, connector or "and", DbLookup(session, owner_id), list_id=list_id, strict=False)
    except DomainError as exc:
        log.warning("journey criteria of owner %s no longer compile for list %s: %s", owner_id, list_id, exc)
        return false()
    return compiler.condition(group, s, compiler.CompileContext(owner_user_id=owner_id, now=now))


def entry_predicate(session, journey, list_id: int, now: datetime, s=Subscriber):
    """Trigger_Criteria AND Run_Criteria (with Run_Criteria_Operator) for subscribers of `list_id`."""
    return and_(predicate(session, journey.owner_user_id, list_id, journey.trigger_criteria, "and", now, s),
                predicate(session, journey.owner_user_id, list_id, journey.run_criteria,
                          journey.run_criteria_operator, now, s))


# The deprecated YesNo action: CriteriaLeft / CriteriaOperator / CriteriaRight as one criteria-syntax rule.
YESNO_FIELDS = {"subscriberid": "SubscriberID", "emailaddress": "EmailAddress", "bouncetype": "BounceType",
                "subscriptionstatus": "SubscriptionStatus", "subscriptiondate": "SubscriptionDate",
                "subscriptionip": "SubscriptionIP", "optindate": "OptInDate"}
YESNO_OPERATORS = {"contains": "contains", "does not contain": "does not contain", "begins with": "begins with",
                   "ends with": "ends with", "equals to": "is", "is": "is", "is not": "is not",
                   "is greater than": "is greater than", "is smaller than": "is less than",
                   "is before": "is before", "is after": "is after", "is set": "is set", "is not set": "is not set"}


def yesno_criteria(parameters: dict) -> list:
    """The YesNo condition as criteria syntax; [[]]-free and matching nobody ("[]" → false) when unknown."""
    left = str(parameters.get("CriteriaLeft", "")).strip()
    operator = YESNO_OPERATORS.get(str(parameters.get("CriteriaOperator", "")).strip().lower())
    if operator is None:
        return [[{"type": "fields", "field_id": "__unknown__", "operator": "is", "value": ""}]]
    if left.lower().startswith("customfield:"):
        field_id = left.split(":", 1)[1].strip()
    else:
        field_id = YESNO_FIELDS.get(left.lower()) or "__unknown__"
    return [[{"type": "fields", "field_id": field_id, "operator": operator,
              "value": str(parameters.get("CriteriaRight", ""))}]]


def combine(predicates: list, connector: str):
    return and_(*predicates) if connector == "and" else or_(*predicates)
