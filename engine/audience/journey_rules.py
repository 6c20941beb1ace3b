"""Criteria on journeys (criteria-syntax.md "Filtering By Journeys"): parsed into a JourneyRule and compiled
to a correlated EXISTS over the journey tables, so a Decision over a batch stays one statement.

Two rule types share it:
* `journeys`: `in journey`, `completed journey`, `not in journey` take a journey ID; `opened`, `not opened`,
  `clicked`, `not clicked`, `unsubscribed`, `complained`, `not complained`, `bounced`, `not bounced` take the ID
  of a SendEmail action ("the ID number of the target journey or action depending on the chosen operator").
* `journey-email-action` (the rule type whose value is the ActionID Journey.SendEmailActions lists): the
  same email operators, on a SendEmail action.

Semantics, per subscriber row (journeys run per list subscriber):
* `in journey`: a run of the journey is active now; `not in journey` is its exact complement (never
  entered, finished or exited); `completed journey`: a run reached the journey's end (an exit is not a
  completion).
* the email operators hold when a message of that action to this subscriber row shows the event (opened:
  at least one open; clicked: at least one click; unsubscribed / complained / bounced: the message led to
  it). Their `not …` forms are the exact complement, so `not opened` includes people the action never
  mailed: "if no, send a reminder" (guide-journeys.md, Decision).
IDs that are not the owner's journey / SendEmail action are refused (InvalidRules) like foreign segments or
tags; stored criteria that stop compiling match nobody (engine/automation/journeys/criteria.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select

from engine.errors import InvalidRules
from engine.models import JourneyEnrollment, JourneySend
from engine.validation import as_id

JOURNEY_RULE_TYPES = ("journeys", "journey-email-action")
MEMBERSHIP_OPERATORS = {"in journey": ("active", False), "completed journey": ("completed", False),
                        "not in journey": ("active", True)}
# operator → (the journey_sends column showing the event, negated)
EMAIL_OPERATORS = {
    "opened": ("first_opened_at", False), "not opened": ("first_opened_at", True),
    "clicked": ("first_clicked_at", False), "not clicked": ("first_clicked_at", True),
    "unsubscribed": ("unsubscribed_at", False),
    "complained": ("complained_at", False), "not complained": ("complained_at", True),
    "bounced": ("bounced_at", False), "not bounced": ("bounced_at", True),
}


@dataclass(frozen=True)
class JourneyRule:
    target_id: int     # a journey ID (membership) or a SendEmail action ID (email events)
    membership: bool
    column: str        # enrollment state (membership) or the journey_sends event column
    negated: bool


def _operator_key(value: Any) -> str:
    return " ".join(value.strip().lower().split()) if isinstance(value, str) else ""


def parse_journey_rule(kind: str, rule: dict, where: str, lookup) -> JourneyRule:
    """The rule of type `kind` (one of JOURNEY_RULE_TYPES), checked against the owner's journeys."""
    key = _operator_key(rule.get("operator"))
    if kind == "journeys" and key in MEMBERSHIP_OPERATORS:
        journey_id = as_id(rule.get("value"))
        if journey_id is None:
            raise InvalidRules(f"{where}: the value must be a journey ID")
        if not lookup.journey(journey_id):
            raise InvalidRules(f"{where}: journey {journey_id} does not exist")
        state, negated = MEMBERSHIP_OPERATORS[key]
        return JourneyRule(journey_id, True, state, negated)
    if key not in EMAIL_OPERATORS:
        raise InvalidRules(f'{where}: unknown {kind} operator "{rule.get("operator")}"')
    action_id = as_id(rule.get("value"))
    if action_id is None:
        raise InvalidRules(f"{where}: the value must be the ID of a SendEmail journey action")
    if not lookup.journey_email_action(action_id):
        raise InvalidRules(f"{where}: SendEmail journey action {action_id} does not exist")
    column, negated = EMAIL_OPERATORS[key]
    return JourneyRule(action_id, False, column, negated)


def journey_condition(rule: JourneyRule, s):
    """The two-valued predicate over subscriber rows `s` (a correlated EXISTS; its NOT for the negations)."""
    if rule.membership:
        e = JourneyEnrollment
        found = exists(select(e.id).where(e.subscriber_id == s.id, e.journey_id == rule.target_id,
                                          e.state == rule.column))
    else:
        j = JourneySend
        found = exists(select(j.id).where(j.subscriber_id == s.id, j.action_id == rule.target_id,
                                          getattr(j, rule.column).is_not(None)))
    return ~found if rule.negated else found
