"""Autoresponders: creating, changing, copying and deleting them (v5.9.4 autoresponders.md).

Every write checks the autoresponder as it will be stored: its list, segment, email and the campaign
or custom field its trigger names must be the owner's and fit the list, so a stored autoresponder is
always one the sending side can act on. Copies (Duplicate, AutoResponders.Copy) get their own copy
of the email and start Disabled, to be reviewed before they fire. Nothing here sends: the sending
side (enqueue.py, sending.py) acts on an Enabled autoresponder's triggers at or after its `enabled_at`.
"""
from __future__ import annotations

from sqlalchemy import delete, select

from engine.audience.catalog import custom_field_kind
from engine.accounts.auth import Actor
from engine.automation import list_triggers, triggers as T
from engine.automation.errors import (
    AutoResponderNotFound, InvalidAutoResponderSegment, InvalidTargetAutoResponder, InvalidTriggerValue,
    MissingTriggerValue,
)
from engine.errors import CampaignNotFound, EmailNotFound, InvalidValue
from engine.models import AutoResponder, AutoResponderSend, Campaign, CustomField, Email, Segment, SubscriberList
from engine.ownership import get_owned, require_owned_ids

# What Create / Update may set (domain names), in the order they are applied.
SETTINGS = ("list_id", "name", "trigger_type", "trigger_value", "trigger_value2", "email_id", "trigger_time_type",
            "trigger_time", "repeat", "status", "segment_id")
COPIED = ("name", "trigger_type", "trigger_value", "trigger_value2", "trigger_time_type", "trigger_time",
          "repeat_status", "repeat_count", "repeat_interval", "repeat_unit")
NAME_LENGTH = 255
DEFAULT_PREFIX = "Copy of "


def _name(text: str) -> str:
    name = text.strip()
    if not name or len(name) > NAME_LENGTH:
        raise InvalidValue("AutoResponderName", f"the name must be 1 to {NAME_LENGTH} characters")
    return name


class AutoResponderService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def get(self, actor: Actor, responder_id: int, *, for_update: bool = False) -> AutoResponder:
        return get_owned(self.s, AutoResponder, responder_id, actor, AutoResponderNotFound, for_update=for_update)

    # --- writing -----------------------------------------------------------------------------------
    def create(self, actor: Actor, settings: dict) -> AutoResponder:
        """A new autoresponder from `settings` (SETTINGS keys; status defaults to Enabled)."""
        now = self.uow.clock()
        responder = AutoResponder(owner_user_id=actor.id, created_at=now, updated_at=now, status="Enabled",
                                  trigger_value="", trigger_value2="", trigger_time=0, repeat_count=0,
                                  repeat_interval=0, repeat_unit="")
        self._apply(actor, responder, settings, creating=True)
        self.s.add(responder)
        self.s.flush()
        list_triggers.refresh(self.s, [responder.owner_user_id])
        return responder

    def update(self, actor: Actor, responder_id: int, changes: dict) -> AutoResponder:
        """Change what `changes` names (SETTINGS keys; segment_id 0 = the whole list)."""
        responder = self.get(actor, responder_id, for_update=True)
        self._apply(actor, responder, changes, creating=False)
        responder.updated_at = self.uow.clock()
        self.s.flush()
        list_triggers.refresh(self.s, [responder.owner_user_id])
        return responder

    def duplicate(self, actor: Actor, responder_id: int, *, prefix: str | None = None,
                  target_list_id: int | None = None) -> AutoResponder:
        """A Disabled copy with its own copy of the email, on the same list or another of the owner's
        (which drops the segment scope: segments belong to one list)."""
        source = self.get(actor, responder_id)
        target = self.uow.lists.get(actor, target_list_id) if target_list_id else None
        return self._copy(source, target.id if target else source.list_id,
                          DEFAULT_PREFIX if prefix is None else prefix)

    def copy_list(self, actor: Actor, source_list_id: int, target_list_id: int, *,
                  responder_id: int | None = None, prefix: str = "") -> list[AutoResponder]:
        """Copy every autoresponder of one list (or just `responder_id`) to another list."""
        source = self.uow.lists.get(actor, source_list_id)
        target = self.uow.lists.get(actor, target_list_id)
        query = select(AutoResponder).where(AutoResponder.list_id == source.id).order_by(AutoResponder.id)
        if responder_id is not None:
            query = query.where(AutoResponder.id == responder_id)
        originals = list(self.s.scalars(query))
        if responder_id is not None and not originals:
            raise InvalidTargetAutoResponder(f"autoresponder {responder_id} is not on list {source.id}")
        return [self._copy(original, target.id, prefix) for original in originals]

    def delete(self, actor: Actor, responder_ids: list[int]) -> int:
        """Delete autoresponders, all or none, with their send records."""
        owned = require_owned_ids(self.s, AutoResponder, responder_ids, actor, AutoResponderNotFound, "autoresponder")
        # Children first: not every backend cascades inside one statement the same way.
        self.s.execute(delete(AutoResponderSend).where(AutoResponderSend.autoresponder_id.in_(owned)),
                       execution_options={"synchronize_session": False})
        self.s.execute(delete(AutoResponder).where(AutoResponder.id.in_(owned)),
                       execution_options={"synchronize_session": False})
        list_triggers.refresh(self.s, [actor.id])
        return len(owned)

    # --- the rules of a stored autoresponder ---------------------------------------------------------------
    def _apply(self, actor: Actor, r: AutoResponder, changes: dict, *, creating: bool) -> None:
        unknown = set(changes) - set(SETTINGS)
        if unknown:
            raise ValueError(f"not autoresponder settings: {sorted(unknown)}")
        list_row = self.uow.lists.get(actor, changes.get("list_id", r.list_id))
        moved = not creating and list_row.id != r.list_id
        was = None if creating else r.status
        enabling = changes.get("status", r.status) == "Enabled" and was != "Enabled"
        r.list_id = list_row.id
        if "name" in changes:
            r.name = _name(changes["name"])
        # Checked again when it moves or is enabled: a copy on another list may name a field of the first.
        self._apply_trigger(actor, r, list_row, changes, recheck=moved or enabling)
        if "email_id" in changes:
            r.email_id = self.uow.emails.get(actor, changes["email_id"]).id
        if enabling and r.email_id is None:
            raise EmailNotFound("an Enabled autoresponder needs an email: give it an EmailID")
        if "trigger_time_type" in changes or "trigger_time" in changes:
            time_type = changes.get("trigger_time_type", r.trigger_time_type)
            if time_type == T.IMMEDIATELY and "trigger_time_type" not in changes and changes.get("trigger_time"):
                raise InvalidValue("TriggerTime", "TriggerTime needs a TriggerTimeType other than Immediately")
            r.trigger_time_type = time_type
            r.trigger_time = T.check_delay(time_type, changes.get("trigger_time", r.trigger_time or None))
        if "repeat" in changes:
            repeat = T.parse_repeat(changes["repeat"])
            r.repeat_status, r.repeat_count, r.repeat_interval, r.repeat_unit = \
                repeat.status, repeat.count, repeat.interval, repeat.unit
        if "segment_id" in changes or moved:
            r.segment_id = self._segment(actor, list_row, changes.get("segment_id", r.segment_id))
        r.status = changes.get("status", r.status)
        if enabling:
            r.enabled_at = self.uow.clock()  # forward-looking: nothing before this instant triggers it

    def _apply_trigger(self, actor: Actor, r: AutoResponder, list_row: SubscriberList, changes: dict, *,
                       recheck: bool) -> None:
        trigger_type = changes.get("trigger_type", r.trigger_type)
        T.check_trigger_type(trigger_type)
        changed_type = trigger_type != r.trigger_type
        if trigger_type in T.VALUE_REQUIRED and "trigger_value" not in changes and changed_type:
            raise MissingTriggerValue(f"{trigger_type} needs an AutoResponderTriggerValue")
        if not (changed_type or recheck or "trigger_value" in changes or "trigger_value2" in changes):
            return
        value = changes.get("trigger_value", r.trigger_value)
        value2 = changes.get("trigger_value2", "" if changed_type else r.trigger_value2)
        r.trigger_type = trigger_type
        r.trigger_value, r.trigger_value2 = self._trigger_values(actor, list_row, trigger_type, value or "",
                                                                 value2 or "")

    def _trigger_values(self, actor: Actor, list_row: SubscriberList, trigger_type: str, value: str,
                        value2: str) -> tuple[str, str]:
        """The stored (value, value2) of a trigger, checked against the owner's data (triggers.py)."""
        if trigger_type == "OnSubscriberLinkClick":
            return T.link_url(value), str(self._campaign(actor, T.campaign_ref(value2))) if value2.strip() else ""
        if trigger_type == "OnSubscriberCampaignOpen":
            return str(self._campaign(actor, T.campaign_ref(value))), ""
        if trigger_type == "OnSubscriberDate":
            field_id = T.field_ref(value)
            field = self.s.get(CustomField, field_id)
            if field is None or field.owner_user_id != actor.id or field.list_id not in (None, list_row.id) or \
                    custom_field_kind(field.field_type, field.validation_method) != "date":
                raise InvalidTriggerValue(f"custom field {field_id} is not a date field of list {list_row.id}")
            return str(field_id), T.parse_date_schedule(value2).text
        return "", ""  # OnSubscription

    def _campaign(self, actor: Actor, campaign_id: int) -> int:
        try:
            return get_owned(self.s, Campaign, campaign_id, actor, CampaignNotFound).id
        except CampaignNotFound:
            raise InvalidTriggerValue(f"campaign {campaign_id} does not exist or does not belong to the user") from None

    def _segment(self, actor: Actor, list_row: SubscriberList, segment_id: int | None) -> int | None:
        if not segment_id:
            return None
        segment = self.s.get(Segment, segment_id)
        if segment is None or segment.owner_user_id != actor.id or segment.list_id != list_row.id:
            raise InvalidAutoResponderSegment(f"segment {segment_id} is not a segment of list {list_row.id}")
        return segment.id

    def _copy(self, source: AutoResponder, list_id: int, prefix: str) -> AutoResponder:
        now = self.uow.clock()
        copy = AutoResponder(owner_user_id=source.owner_user_id, list_id=list_id, status="Disabled",
                             created_at=now, updated_at=now,
                             segment_id=source.segment_id if list_id == source.list_id else None,
                             **{column: getattr(source, column) for column in COPIED})
        copy.name = (prefix + source.name)[:NAME_LENGTH].rstrip() or source.name
        if source.email_id is not None:
            copy.email_id = self.uow.emails.duplicate_row(self.s.get(Email, source.email_id)).id
        self.s.add(copy)
        self.s.flush()
        return copy
