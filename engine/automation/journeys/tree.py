"""Saving a journey's action tree: rows with their place, and the successor pointers the runner follows.

Journey.Actions.Update replaces the whole tree. An action sent with its ActionID keeps its row (and the
subscribers waiting at it stay there); one sent without gets a new row; a row the new tree leaves out
is deleted, and the subscribers waiting at it leave the journey (state `exited`; README "Journeys").
After a branch of a Decision/YesNo ends, the subscriber goes on with the action after the Decision
(the guide's "reconverge"); after the last action of the main branch, the journey is complete.
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, select, update

from engine.automation.journeys.actions import REFERENCES, Node, walk
from engine.errors import InvalidJourneyAction, UnknownJourneyAction
from engine.models import (
    CustomField, Email, Journey, JourneyAction, JourneyEnrollment, SubscriberList, SubscriberTag,
)

REFERENCE_MODELS = {"email": Email, "tag": SubscriberTag, "list": SubscriberList, "field": CustomField,
                    "journey": Journey}


def save_actions(session, journey: Journey, nodes: list[Node], now: datetime) -> None:
    existing = {a.id: a for a in session.scalars(select(JourneyAction).where(JourneyAction.journey_id == journey.id))}
    seen: set[int] = set()
    for node in walk(nodes):
        if node.action_id is not None:
            if node.action_id not in existing or node.action_id in seen:
                raise UnknownJourneyAction(f"ActionID {node.action_id} is not an action of this journey")
            seen.add(node.action_id)
        _check_references(session, journey, node)
    rows: dict[int, JourneyAction] = {}

    def place(items: list[Node], parent: int, branch: str) -> None:
        for order, node in enumerate(items, 1):
            row = existing.get(node.action_id) if node.action_id else None
            if row is None:
                row = JourneyAction(journey_id=journey.id, created_at=now)
                session.add(row)
            row.parent_action_id, row.branch, row.order_no = parent, branch, order
            row.action, row.parameters = node.action, json.dumps(node.parameters)
            row.published, row.notes = node.published, node.notes
            session.flush()
            rows[id(node)] = row
            for name, children in node.branches.items():
                place(children, row.id, name)

    place(nodes, 0, "")
    link(nodes, rows, 0)
    kept = {row.id for row in rows.values()}
    removed = [action_id for action_id in existing if action_id not in kept]
    if removed:
        session.execute(update(JourneyEnrollment)
                        .where(JourneyEnrollment.journey_id == journey.id, JourneyEnrollment.state == "active",
                               JourneyEnrollment.current_action_id.in_(removed))
                        .values(state="exited", current_action_id=0, finished_at=now))
        session.execute(delete(JourneyAction).where(JourneyAction.id.in_(removed)))
    session.flush()


def link(nodes: list[Node], rows: dict, after: int) -> int:
    """Set every row's successors; return where a subscriber entering `nodes` goes first."""
    for i, node in enumerate(nodes):
        row = rows[id(node)]
        row.next_action_id = rows[id(nodes[i + 1])].id if i + 1 < len(nodes) else after
        if node.branches:
            first, second = node.branches.values()
            row.true_action_id = link(first, rows, row.next_action_id)
            row.false_action_id = link(second, rows, row.next_action_id)
        else:
            row.true_action_id = row.false_action_id = 0
    return rows[id(nodes[0])].id if nodes else after


def first_action_id(session, journey_id: int) -> int:
    """Where a newly enrolled subscriber starts (0: the journey has no actions)."""
    return session.scalar(select(JourneyAction.id).where(
        JourneyAction.journey_id == journey_id, JourneyAction.parent_action_id == 0)
        .order_by(JourneyAction.order_no, JourneyAction.id).limit(1)) or 0


def _check_references(session, journey: Journey, node: Node) -> None:
    for name, kind in REFERENCES.items():
        value = node.parameters.get(name)
        for row_id in (value if isinstance(value, list) else [value] if value else []):
            row = session.get(REFERENCE_MODELS[kind], row_id)
            if row is None or row.owner_user_id != journey.owner_user_id:
                raise InvalidJourneyAction(f"{node.action} {name} {row_id} is not one of your {kind}s")


def copy_actions(session, source_id: int, target_id: int, now: datetime) -> None:
    """Copy every action of `source_id` to `target_id`, parents and successors mapped to the new rows."""
    source = list(session.scalars(select(JourneyAction).where(JourneyAction.journey_id == source_id)
                                  .order_by(JourneyAction.id)))
    new = {}
    for row in source:
        copy = JourneyAction(journey_id=target_id, branch=row.branch, order_no=row.order_no, action=row.action,
                             parameters=row.parameters, published=row.published, notes=row.notes, created_at=now)
        session.add(copy)
        new[row.id] = copy
    session.flush()
    mapped = {old: row.id for old, row in new.items()}
    for row in source:
        copy = new[row.id]
        copy.parent_action_id = mapped.get(row.parent_action_id, 0)
        copy.next_action_id = mapped.get(row.next_action_id, 0)
        copy.true_action_id = mapped.get(row.true_action_id, 0)
        copy.false_action_id = mapped.get(row.false_action_id, 0)
    session.flush()


def as_tree(actions: list[JourneyAction]) -> list[dict]:
    """The stored actions as nested dicts (the runner's rows → the API's tree), engine names."""
    children: dict[tuple[int, str], list[JourneyAction]] = {}
    for row in actions:
        children.setdefault((row.parent_action_id, row.branch), []).append(row)

    def build(parent: int, branch: str) -> list[dict]:
        out = []
        for row in sorted(children.get((parent, branch), []), key=lambda r: (r.order_no, r.id)):
            item = {"row": row, "parameters": json.loads(row.parameters or "{}"), "branches": {}}
            if row.action in ("Decision", "YesNo"):
                names = ("True", "False") if row.action == "Decision" else ("Yes", "No")
                item["branches"] = {name: build(row.id, name) for name in names}
            out.append(item)
        return out

    return build(0, "")
