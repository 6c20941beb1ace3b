"""How journeys and their actions look on the wire (v5.9.4 journeys.md examples): IDs of stored rows as
numeric strings, as the examples show them; dates as "Y-m-d H:i:s"."""
from __future__ import annotations

import json

from engine.automation.journeys.tree import as_tree
from engine.models import Journey, JourneyAction


def when(value) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else None


def trigger_parameters(j: Journey) -> dict:
    stored = json.loads(j.trigger_parameters or "{}")
    shown = {"ListID": j.trigger_list_id} if j.trigger_list_id else {}
    if j.trigger_email_id:
        shown["EmailID"] = j.trigger_email_id
    if j.trigger_value:
        shown["Value"] = j.trigger_value
    return {**shown, **stored}


def journey_row(j: Journey) -> dict:
    return {
        "JourneyID": str(j.id), "JourneyName": j.name, "Trigger": j.trigger, "TriggerParameters": trigger_parameters(j),
        "Trigger_ListID": j.trigger_list_id, "Trigger_EmailID": j.trigger_email_id, "Trigger_Value": j.trigger_value,
        "Trigger_Criteria": json.loads(j.trigger_criteria or "[]"), "Run_Criteria": json.loads(j.run_criteria or "[]"),
        "Run_Criteria_Operator": j.run_criteria_operator, "Rate_Limit_Per_Hour": j.rate_limit_per_hour,
        "Rate_Limit_Per_Day": j.rate_limit_per_day, "Status": j.status, "Notes": j.notes,
        "CreatedAt": when(j.created_at), "UpdatedAt": when(j.updated_at),
    }


def actions_tree(actions: list[JourneyAction], mail: dict[int, dict] | None = None) -> list[dict]:
    """The action tree; with `mail` (Journey.Get: action ID → its figures), each SendEmail action also
    carries them (Stats, DailyStats, Revenue, DaysRevenue; journeys.md, issue #2010)."""
    def shape(item: dict) -> dict:
        row = item["row"]
        out = {"ActionID": str(row.id), "Action": row.action, "ActionParameters": item["parameters"],
               "Published": "true" if row.published else "false", "Notes": row.notes, "OrderNo": row.order_no}
        if mail is not None and row.action == "SendEmail":
            out.update(mail.get(row.id, {}))
        if item["branches"]:
            out["Actions"] = {name: [shape(child) for child in children]
                              for name, children in item["branches"].items()}
        return out

    return [shape(item) for item in as_tree(actions)]
