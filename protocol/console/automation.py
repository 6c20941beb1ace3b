"""Autoresponders and journeys of the signed-in user; a journey drawn as its tree with counts per action."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from engine.audience.lists import ListQuery
from engine.automation.queries import AutoResponderQuery
from protocol.console import bp
from protocol.console.web import page, render


@bp.get("/autoresponders")
@page(commands=("AutoResponders.Get",))
def autoresponders(uow, actor):
    rows, total = uow.autoresponder_queries.search(actor, AutoResponderQuery(limit=500), list_required=False)
    lists, _ = uow.lists.search(actor, ListQuery())
    return render("console/autoresponders.html", autoresponders=rows, total=total,
                  list_names={row.id: row.name for row in lists})


@bp.get("/journeys")
@page(commands=("Journey.List",))
def journeys(uow, actor):
    rows = uow.journeys.list(actor)
    counts = uow.journeys.enrollment_counts([j.id for j in rows])
    return render("console/journeys.html", journeys=rows, counts=counts)


@bp.get("/journeys/<int:journey_id>")
@page(commands=("Journey.Get",))
def journey(uow, actor, journey_id: int):
    row = uow.journeys.get(actor, journey_id)            # another account's journey: NotFound → 404
    actions = uow.journeys.actions(row.id)
    counts = uow.journey_stats.action_counts(row.id)
    return render("console/journey.html", journey=row, tree=journey_tree(actions, counts),
                  active=uow.journeys.enrollment_counts([row.id]).get(row.id, (0, 0))[0])


@dataclass
class Node:
    """One action of the drawing: what it is, its counts, and for a Decision / YesNo its two branches."""
    id: int
    action: str
    summary: str
    published: bool
    taken: int
    waiting: int
    branches: list[tuple[str, list["Node"]]] = field(default_factory=list)


BRANCH_LABELS = {"Decision": ("true", "false"), "YesNo": ("yes", "no")}


def journey_tree(actions, counts: dict[int, tuple[int, int]]) -> list[Node]:
    """The main branch as a list of nodes; branches nested under their Decision (rows are ordered by
    parent, branch and position, JourneyService.actions)."""
    children: dict[tuple[int, str], list] = {}
    for a in actions:
        children.setdefault((a.parent_action_id, (a.branch or "").lower()), []).append(a)

    def nodes(parent: int, branch: str) -> list[Node]:
        out = []
        for a in children.get((parent, branch), []):
            taken, waiting = counts.get(a.id, (0, 0))
            node = Node(a.id, a.action, _summary(a), a.published, taken, waiting)
            for label in BRANCH_LABELS.get(a.action, ()):
                node.branches.append((label.capitalize(), nodes(a.id, label)))
            out.append(node)
        return out

    return nodes(0, "")


def _summary(action) -> str:
    """A few words on the action's settings, from its stored parameters."""
    try:
        params = json.loads(action.parameters or "{}")
    except ValueError:
        return ""
    if not isinstance(params, dict):
        return ""
    shown = [f"{key} {value}" for key, value in params.items() if value not in ("", None, [], {})]
    text = ", ".join(shown)
    return text if len(text) <= 120 else text[:117] + "…"
