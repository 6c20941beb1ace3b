"""Journey.CopyToUser (administrators): a journey copied to another account (journeys.md "Resource Handling").

The copy is Disabled with the Manual trigger; the emails of its SendEmail actions are copied to the target
account (each once); every other reference to the source account's data (lists, tags, custom fields,
sender domains, journeys) is reset to 0 and named in ResourcesReset. A reset published action is saved
unpublished, since it is no longer configured."""
from __future__ import annotations

import json

from sqlalchemy import select

from engine.errors import JourneyNotFound, NotFound
from engine.models import Email, Journey, JourneyAction, User

RESET = {"TargetListID": "TargetListID", "TargetTagID": "TargetTagID", "TargetCustomFieldID": "TargetCustomFieldID",
         "TargetJourneyID": "TargetJourneyID", "SenderDomainID": "SenderDomainID"}


class SourceUserNotFound(NotFound):
    """Source user not found"""


class TargetUserNotFound(NotFound):
    """Target user not found"""


def copy_to_user(uow, journey_id: int, source_user_id: int, target_user_id: int, name: str | None) -> dict:
    from engine.automation.journeys.tree import copy_actions

    s = uow.session
    if s.get(User, source_user_id) is None:
        raise SourceUserNotFound()
    if s.get(User, target_user_id) is None:
        raise TargetUserNotFound()
    source = s.get(Journey, journey_id)
    if source is None or source.owner_user_id != source_user_id:
        raise JourneyNotFound("Journey not found for source user")
    now = uow.clock()
    copy = Journey(owner_user_id=target_user_id, name=(name or f"Copy of {source.name}")[:255], notes=source.notes,
                   trigger="Manual", trigger_list_id=0, trigger_email_id=0, trigger_value="", trigger_parameters="{}",
                   trigger_criteria="[]", run_criteria="[]", run_criteria_operator="and",
                   rate_limit_per_hour=source.rate_limit_per_hour, rate_limit_per_day=source.rate_limit_per_day,
                   status="Disabled", created_at=now, updated_at=now)
    s.add(copy)
    s.flush()
    copy_actions(s, source.id, copy.id, now)
    emails: dict[int, int] = {}
    reset: list[str] = []
    for action in s.scalars(select(JourneyAction).where(JourneyAction.journey_id == copy.id).order_by(JourneyAction.id)):
        p = json.loads(action.parameters or "{}")
        email_id = p.get("EmailID")
        if email_id:
            if email_id not in emails:
                original = s.get(Email, email_id)
                emails[email_id] = (uow.emails.duplicate_row_for(original, target_user_id).id
                                    if original is not None and original.owner_user_id == source_user_id else 0)
            p["EmailID"] = emails[email_id]
        for key in RESET:
            if p.get(key):
                p[key] = 0
                reset.append(key)
        if action.action == "Decision" and p.get("Criteria"):
            p["Criteria"] = []  # criteria name the source account's fields, segments and tags
            reset.append("Criteria")
        if action.published and (any(p.get(k) == 0 for k in RESET if k in p) or p.get("EmailID") == 0):
            action.published = False
        action.parameters = json.dumps(p)
    s.flush()
    return {"JourneyID": copy.id,
            "EmailsCopied": [{"SourceEmailID": old, "NewEmailID": new} for old, new in emails.items() if new],
            "ResourcesReset": sorted(set(reset))}
