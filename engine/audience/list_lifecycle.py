"""A list's life beyond its settings: archiving (List.Archive / List.Unarchive), cloning (List.Clone),
everything hung on it in one answer (List.Assets), and emptying it (Subscribers.Delete.All)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, select

from engine.accounts.auth import Actor
from engine.automation import enqueue as autoresponders
from engine.automation.queries import AutoResponderQuery
from engine.models import (
    AutoResponder, CustomField, Subscriber, SubscriberFieldValue, SubscriberList, SubscriberTag,
    SubscriberTagAssignment,
)
from engine.audience.segments import SegmentRow

# What List.Clone does not copy, as the page lists it: identity, counters and timestamps, the archive mark,
# and the confirmation email (the new list starts without one; List.Update attaches it).
NOT_CLONED = {"id", "owner_user_id", "name", "created_at", "updated_at", "archived_at", "opt_in_confirmation_email_id"}
# A merge-tag alias names one field of the whole account (CustomField.Create refuses a second one), so the
# copies go without theirs: the alias keeps naming the source list's field.
FIELD_NOT_CLONED = {"id", "list_id", "created_at", "merge_tag_alias"}
NO_SYNC = {"synchronize_session": False}


@dataclass
class ListAssets:
    list_row: SubscriberList
    segments: list[SegmentRow] = field(default_factory=list)
    custom_fields: list[CustomField] = field(default_factory=list)
    tags: list[tuple[SubscriberTag, int]] = field(default_factory=list)
    autoresponders: list[AutoResponder] = field(default_factory=list)


class ListLifecycle:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def archive(self, actor: Actor, list_id: int) -> SubscriberList:
        """Mark the list archived; a list already archived keeps its first ArchivedAt (idempotent)."""
        row = self.uow.lists.get(actor, list_id, for_update=True)
        if row.archived_at is None:
            row.archived_at = self.uow.clock()
            self.s.flush()
        return row

    def unarchive(self, actor: Actor, list_id: int) -> SubscriberList:
        row = self.uow.lists.get(actor, list_id, for_update=True)
        row.archived_at = None
        self.s.flush()
        return row

    def clone(self, actor: Actor, list_id: int, name: str, *, include_custom_fields: bool = True
              ) -> tuple[SubscriberList, int]:
        """A new list of the caller with the source's settings (and its own custom fields), without its
        subscribers, segments, tags or autoresponders; (new list, custom fields copied). One transaction:
        a failure leaves no half-made list behind."""
        source = self.uow.lists.get(actor, list_id)
        copy = self.uow.lists.create(actor, name)  # LimitLists is checked (and locked) there
        for column in SubscriberList.__table__.columns:
            if column.key not in NOT_CLONED:
                setattr(copy, column.key, getattr(source, column.key))
        copied = 0
        if include_custom_fields:
            for f in self.uow.custom_fields.for_list(actor, source.id):
                values = {c.key: getattr(f, c.key) for c in CustomField.__table__.columns
                          if c.key not in FIELD_NOT_CLONED}
                self.s.add(CustomField(**values, list_id=copy.id, merge_tag_alias="", created_at=self.uow.clock()))
                copied += 1
        self.s.flush()
        return copy, copied

    def assets(self, actor: Actor, list_id: int) -> ListAssets:
        """The list with its segments, custom fields (its own and the owner's global ones), subscriber tags
        and autoresponders: each read by the service its own command uses, with the same owner check."""
        row = self.uow.lists.get(actor, list_id)
        responders, _ = self.uow.autoresponder_queries.search(actor, AutoResponderQuery(list_id=row.id),
                                                              list_required=True)
        return ListAssets(
            list_row=row,
            segments=self.uow.segments.search(actor, row.id, descending=False),
            custom_fields=self.uow.custom_fields.for_list(actor, row.id, include_global=True),
            tags=self.uow.subscriber_tags.search(actor, row.id),
            autoresponders=responders,
        )


    def empty(self, actor: Actor, list_id: int, *, delete_tags: bool = False) -> int:
        """Delete every subscriber of the list (their values, tags and pending autoresponder mails with
        them), and with `delete_tags` the list's tags too; how many subscribers went. Set-based: a fixed
        number of statements whatever the list's size, each naming the list, not its members one by one.
        The list row is locked first, so a subscribe racing this call waits and lands after it."""
        row = self.uow.lists.get(actor, list_id, for_update=True)
        members = select(Subscriber.id).where(Subscriber.list_id == row.id)
        count = self.s.scalar(select(func.count()).select_from(members.subquery()))
        # Children first, each with the list's members as a subquery of another table (MariaDB refuses
        # only a DELETE reading its own table). Activity rows go by the foreign keys' ON DELETE CASCADE.
        autoresponders.on_left(self.s, members, self.uow.clock(), "the subscriber was deleted")
        for statement in (
            delete(SubscriberFieldValue).where(SubscriberFieldValue.subscriber_id.in_(members)),
            delete(SubscriberTagAssignment).where(SubscriberTagAssignment.subscriber_id.in_(members)),
            *((delete(SubscriberTag).where(SubscriberTag.list_id == row.id),) if delete_tags else ()),
            delete(Subscriber).where(Subscriber.list_id == row.id),
        ):
            self.s.execute(statement, execution_options=NO_SYNC)
        return count
