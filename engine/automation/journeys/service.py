"""Creating, reading, editing, enabling, cloning and deleting journeys, with the owner checks
(journeys.md). The action tree is saved by tree.py; enrollments are enroll.py's."""
from __future__ import annotations

import json

from sqlalchemy import delete, func, select

from engine.accounts.auth import Actor
from engine.automation import list_triggers
from engine.automation.journeys import triggers as T
from engine.errors import (
    InvalidJourneyCriteria, InvalidJourneyTrigger, InvalidTriggerField, InvalidTriggerJourney, InvalidTriggerTag,
    JourneyAlreadyDisabled, JourneyAlreadyEnabled, JourneyNotFound, MissingPullList, PullListNotFound,
    SelfCompletionTrigger, TriggerEmailNotFound, TriggerFieldNotFound, TriggerJourneyNotFound, TriggerListNotFound,
    TriggerTagNotFound,
)
from engine.models import CustomField, Email, Journey, JourneyAction, JourneyEnrollment, SubscriberList, SubscriberTag
from engine.validation import as_id

# Settings a caller may give, engine names (protocol/commands/journeys.py maps the wire names).
SETTINGS = ("name", "notes", "trigger", "trigger_list_id", "trigger_email_id", "trigger_value", "trigger_parameters",
            "trigger_criteria", "run_criteria", "run_criteria_operator", "rate_limit_per_hour", "rate_limit_per_day")
MAX_CRITERIA_CHARS = 65_000


class JourneyService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- reading ----------------------------------------------------------------------------------
    def get(self, actor: Actor, journey_id: int) -> Journey:
        journey = self.s.get(Journey, journey_id) if journey_id else None
        if journey is None or journey.owner_user_id != actor.id:
            raise JourneyNotFound()
        return journey

    def owned(self, actor: Actor, ids: list[int]) -> dict[int, Journey]:
        if not ids:
            return {}
        rows = self.s.scalars(select(Journey).where(Journey.id.in_(ids), Journey.owner_user_id == actor.id))
        return {j.id: j for j in rows}

    def list(self, actor: Actor, status: str | None = None) -> list[Journey]:
        query = select(Journey).where(Journey.owner_user_id == actor.id).order_by(Journey.id)
        if status:
            query = query.where(Journey.status == status)
        return list(self.s.scalars(query))

    def actions(self, journey_id: int) -> list[JourneyAction]:
        return list(self.s.scalars(select(JourneyAction).where(JourneyAction.journey_id == journey_id)
                                   .order_by(JourneyAction.parent_action_id, JourneyAction.branch,
                                             JourneyAction.order_no, JourneyAction.id)))

    def enrollment_counts(self, journey_ids: list[int]) -> dict[int, tuple[int, int]]:
        """journey ID → (active enrollments, all enrollments), one grouped query."""
        if not journey_ids:
            return {}
        active = func.sum(func.cast(JourneyEnrollment.state == "active", JourneyEnrollment.run_no.type))
        rows = self.s.execute(select(JourneyEnrollment.journey_id, func.coalesce(active, 0), func.count())
                              .where(JourneyEnrollment.journey_id.in_(journey_ids))
                              .group_by(JourneyEnrollment.journey_id))
        counts = {jid: (int(a), int(t)) for jid, a, t in rows}
        return {jid: counts.get(jid, (0, 0)) for jid in journey_ids}

    # --- writing ----------------------------------------------------------------------------------
    def create(self, actor: Actor, settings: dict) -> Journey:
        now = self.uow.clock()
        journey = Journey(owner_user_id=actor.id, name=settings["name"], status="Disabled", created_at=now,
                          updated_at=now, notes="", trigger_list_id=0, trigger_email_id=0, trigger_value="",
                          trigger_parameters="{}", trigger_criteria="[]", run_criteria="[]",
                          run_criteria_operator="and", rate_limit_per_hour=0, rate_limit_per_day=0)
        self._apply(actor, journey, {"trigger": "Manual", **settings})
        self.s.add(journey)
        self.s.flush()
        return journey

    def update(self, actor: Actor, journey_id: int, settings: dict) -> Journey:
        journey = self.get(actor, journey_id)
        self._apply(actor, journey, settings)
        journey.updated_at = self.uow.clock()
        self.s.flush()
        list_triggers.refresh(self.s, [journey.owner_user_id])   # its trigger may have changed
        return journey

    def delete(self, actor: Actor, journey_ids: list[int], *, all_required: bool) -> list[int]:
        """Delete the caller's journeys among `journey_ids` (their actions, enrollments go with them); with
        `all_required` one that is not the caller's refuses the call."""
        owned = self.owned(actor, journey_ids)
        if all_required and len(owned) != len(set(journey_ids)):
            raise JourneyNotFound()
        if owned:
            self.s.execute(delete(JourneyEnrollment).where(JourneyEnrollment.journey_id.in_(owned)))
            self.s.execute(delete(JourneyAction).where(JourneyAction.journey_id.in_(owned)))
            self.s.execute(delete(Journey).where(Journey.id.in_(owned)))
            list_triggers.refresh(self.s, [actor.id])
        return sorted(owned)

    def set_status(self, actor: Actor, journey_id: int, enabled: bool) -> Journey:
        journey = self.get(actor, journey_id)
        if enabled and journey.status == "Enabled":
            raise JourneyAlreadyEnabled()
        if not enabled and journey.status == "Disabled":
            raise JourneyAlreadyDisabled()
        self._flip(journey, enabled)
        return journey

    def bulk_status(self, actor: Actor, journey_ids: list[int], enabled: bool) -> tuple[list[int], list[int]]:
        owned = self.owned(actor, journey_ids)
        wanted = "Enabled" if enabled else "Disabled"
        done, failed = [], []
        for journey_id in journey_ids:
            journey = owned.get(journey_id)
            if journey is None or journey.status == wanted:
                failed.append(journey_id)
            else:
                self._flip(journey, enabled)
                done.append(journey_id)
        return done, failed

    def _flip(self, journey: Journey, enabled: bool) -> None:
        now = self.uow.clock()
        journey.status = "Enabled" if enabled else "Disabled"
        journey.updated_at = now
        if enabled:
            journey.enabled_at = now
        self.s.flush()
        list_triggers.refresh(self.s, [journey.owner_user_id])

    def clone(self, actor: Actor, journey_id: int, name: str, notes: str | None = None) -> Journey:
        """A Disabled copy with every action (branches kept), referencing the same emails, lists and tags."""
        from engine.automation.journeys.tree import copy_actions

        source = self.get(actor, journey_id)
        now = self.uow.clock()
        copy = Journey(owner_user_id=actor.id, name=name, status="Disabled", created_at=now, updated_at=now,
                       notes=source.notes if notes is None else notes,
                       **{k: getattr(source, k) for k in SETTINGS if k not in ("name", "notes")})
        self.s.add(copy)
        self.s.flush()
        copy_actions(self.s, source.id, copy.id, now)
        return copy

    # --- actions ----------------------------------------------------------------------------------
    def replace_actions(self, actor: Actor, journey_id: int, raw) -> Journey:
        """Journey.Actions.Update: the whole tree, replaced (engine/automation/journeys/tree.py)."""
        from engine.automation.journeys.actions import parse_actions
        from engine.automation.journeys.tree import save_actions

        journey = self.get(actor, journey_id)
        save_actions(self.s, journey, parse_actions(raw), self.uow.clock())
        journey.updated_at = self.uow.clock()
        return journey

    def set_published(self, actor: Actor, journey_id: int, changes: list[tuple[int, bool]]) -> Journey:
        """Publish / unpublish actions of the journey; one that is not the journey's refuses them all."""
        from engine.errors import JourneyActionNotFound

        journey = self.get(actor, journey_id)
        rows = {a.id: a for a in self.actions(journey.id)}
        for action_id, published in changes:
            if action_id not in rows:
                raise JourneyActionNotFound(f"ActionID {action_id} is not an action of this journey")
            rows[action_id].published = published
        journey.updated_at = self.uow.clock()
        self.s.flush()
        return journey

    # --- settings ---------------------------------------------------------------------------------
    def _apply(self, actor: Actor, journey: Journey, settings: dict) -> None:
        for key in ("name", "notes", "rate_limit_per_hour", "rate_limit_per_day"):
            if key in settings:
                setattr(journey, key, settings[key])
        if "trigger" in settings:
            trigger = T.BY_KEY.get(str(settings["trigger"]).strip().lower())
            if trigger is None or trigger in T.UNOBSERVABLE:
                raise InvalidJourneyTrigger(f"{str(settings['trigger'])[:40]!r} is not a trigger Sendmill can observe"
                                            if trigger else "")
            journey.trigger = trigger
        for key in ("trigger_list_id", "trigger_email_id"):
            if key in settings:
                setattr(journey, key, settings[key])
        if "trigger_value" in settings:
            journey.trigger_value = str(settings["trigger_value"])
        if "trigger_parameters" in settings or journey.trigger == "ScheduledPull":
            raw = settings.get("trigger_parameters", json.loads(journey.trigger_parameters or "{}"))
            journey.trigger_parameters = json.dumps(
                T.pull_settings(raw) if journey.trigger == "ScheduledPull" else _object(raw))
        for key in ("trigger_criteria", "run_criteria"):
            if key in settings:
                setattr(journey, key, _criteria(settings[key], key))
        if "run_criteria_operator" in settings:
            operator = str(settings["run_criteria_operator"]).strip().lower()
            if operator not in ("and", "or"):
                raise InvalidJourneyCriteria("Run_Criteria_Operator must be and or or")
            journey.run_criteria_operator = operator
        self._check_references(actor, journey)

    def _check_references(self, actor: Actor, journey: Journey) -> None:
        trigger = journey.trigger
        if trigger == "ScheduledPull":
            if not journey.trigger_list_id:
                raise MissingPullList()
            if not self._owns(SubscriberList, actor, journey.trigger_list_id):
                raise PullListNotFound()
        elif journey.trigger_list_id and not self._owns(SubscriberList, actor, journey.trigger_list_id):
            raise TriggerListNotFound()
        if journey.trigger_email_id and trigger in ("EmailOpen", "EmailLinkClick") and \
                not self._owns(Email, actor, journey.trigger_email_id):
            raise TriggerEmailNotFound()
        value = journey.trigger_value.strip()
        if trigger in ("Tag", "UnTag"):
            tag_id = as_id(value)
            if tag_id is None:
                raise InvalidTriggerTag("Trigger_Value must be the ID of one of your subscriber tags")
            tag = self.s.get(SubscriberTag, tag_id)
            if tag is None or tag.owner_user_id != actor.id or \
                    (journey.trigger_list_id and tag.list_id != journey.trigger_list_id):
                raise TriggerTagNotFound()
        elif trigger == "CustomFieldValueChanged" and value not in ("", "0"):
            field_id = as_id(value)
            if field_id is None:
                raise InvalidTriggerField()
            if not self._owns(CustomField, actor, field_id):
                raise TriggerFieldNotFound()
        elif trigger == "JourneyCompleted":
            source_id = as_id(value)
            if source_id is None:
                raise InvalidTriggerJourney()
            if journey.id is not None and source_id == journey.id:
                raise SelfCompletionTrigger()
            if not self._owns(Journey, actor, source_id):
                raise TriggerJourneyNotFound()

    def _owns(self, model, actor: Actor, row_id: int) -> bool:
        row = self.s.get(model, row_id)
        return row is not None and row.owner_user_id == actor.id


def _object(raw) -> dict:
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InvalidJourneyCriteria("TriggerParameters must be a JSON object") from None
    if not isinstance(raw, dict):
        from engine.errors import InvalidTriggerParameters
        raise InvalidTriggerParameters("TriggerParameters must be an object")
    return raw


def _criteria(raw, what: str) -> str:
    """Criteria as given (criteria syntax: an array of groups); checked for shape here, compiled per list
    when the journey runs (engine/automation/journeys/criteria.py)."""
    if raw in (None, ""):
        return "[]"
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InvalidJourneyCriteria(f"{what} is not valid JSON") from None
    if isinstance(raw, dict):
        raw = list(raw.values())
    if not isinstance(raw, list):
        raise InvalidJourneyCriteria(f"{what} must be an array of criteria")
    text = json.dumps(raw)
    if len(text) > MAX_CRITERIA_CHARS:
        raise InvalidJourneyCriteria(f"{what} is longer than {MAX_CRITERIA_CHARS} characters")
    return text
