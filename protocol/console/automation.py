"""Autoresponders of the signed-in user, every list (the journeys page will join it later)."""
from __future__ import annotations

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
