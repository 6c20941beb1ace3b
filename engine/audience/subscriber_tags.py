"""Subscriber tags: labels defined per list and put on that list's subscribers (guide-tags.md;
subscribers.md, Subscriber.Tag / Untag / Tags.*).

Names follow the campaign tags' character rules (letters and digits of any script, spaces, `-`, `_`,
`%`), are trimmed, stored in lower case, at most 250 characters, and unique within their list.
Tagging and untagging are all or nothing: an unknown tag or a subscriber of another list refuses
the whole call, and criteria (RulesJSON) are validated before anything changes.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from engine.accounts.auth import Actor
from engine.errors import AlreadyExists, NotFound, SubscriberNotFound
from engine.models import Subscriber, SubscriberList, SubscriberTag, SubscriberTagAssignment
from engine.campaigns.tags import clean_tag_name
from engine.automation.journeys import hooks as journey_hooks

MAX_NAME_LENGTH = 250
CHUNK = 1000  # IDs per IN list: a whole list's subscribers would exceed the bind-parameter limits
NO_SYNC = {"synchronize_session": False}


class SubscriberTagNotFound(NotFound):
    """Tag does not exist on this list or does not belong to the user."""


class SubscriberTagExists(AlreadyExists):
    """Tag name already exists."""


def clean_name(name: str) -> str:
    """The name as stored: trimmed, checked, lower case (EmptyTagName / InvalidTagName)."""
    return clean_tag_name(name, MAX_NAME_LENGTH).lower()


def name_digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


class SubscriberTagService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- reading -----------------------------------------------------------------------------------
    def get(self, actor: Actor, list_id: int, tag_id: int, *, for_update: bool = False) -> SubscriberTag:
        """A tag of one of the caller's lists (ListNotFound, SubscriberTagNotFound)."""
        list_row = self.uow.lists.get(actor, list_id)
        query = select(SubscriberTag).where(SubscriberTag.id == tag_id, SubscriberTag.list_id == list_row.id)
        tag = self.s.scalar(query.with_for_update() if for_update else query)
        if tag is None:
            raise SubscriberTagNotFound()
        return tag

    def search(self, actor: Actor, list_id: int) -> list[tuple[SubscriberTag, int]]:
        """The list's tags by name, each with how many subscribers carry it."""
        list_row = self.uow.lists.get(actor, list_id)
        carriers = (select(func.count(SubscriberTagAssignment.subscriber_id))
                    .where(SubscriberTagAssignment.tag_id == SubscriberTag.id).scalar_subquery())
        rows = self.s.execute(select(SubscriberTag, carriers).where(SubscriberTag.list_id == list_row.id)
                              .order_by(SubscriberTag.name, SubscriberTag.id))
        return [(tag, count) for tag, count in rows]

    def tags_of(self, subscriber_ids: list[int]) -> dict[int, list[SubscriberTag]]:
        """The tags each subscriber row carries, by name."""
        found: dict[int, list[SubscriberTag]] = {sid: [] for sid in subscriber_ids}
        for start in range(0, len(subscriber_ids), CHUNK):
            rows = self.s.execute(
                select(SubscriberTagAssignment.subscriber_id, SubscriberTag)
                .join(SubscriberTag, SubscriberTag.id == SubscriberTagAssignment.tag_id)
                .where(SubscriberTagAssignment.subscriber_id.in_(subscriber_ids[start:start + CHUNK]))
                .order_by(SubscriberTag.name, SubscriberTag.id))
            for subscriber_id, tag in rows:
                found[subscriber_id].append(tag)
        return found

    # --- the tags themselves -----------------------------------------------------------------------------
    def create(self, actor: Actor, list_id: int, name: str, description: str = "") -> SubscriberTag:
        # The list row is locked: two creations of one name on one list queue here.
        list_row = self.uow.lists.get(actor, list_id, for_update=True)
        name = clean_name(name)
        tag = SubscriberTag(list_id=list_row.id, owner_user_id=list_row.owner_user_id, name=name,
                            name_digest=name_digest(name), description=description, created_at=self.uow.clock())
        self._ensure_unique(list_row.id, name)
        self._flush_unique(tag)
        return tag

    def update(self, actor: Actor, list_id: int, tag_id: int, *, name: str | None = None,
               description: str | None = None) -> SubscriberTag:
        """Rename and/or describe a tag; only what is given changes."""
        self.uow.lists.get(actor, list_id, for_update=True)
        tag = self.get(actor, list_id, tag_id, for_update=True)
        if name is not None:
            name = clean_name(name)
            self._ensure_unique(tag.list_id, name, except_id=tag.id)
            tag.name, tag.name_digest = name, name_digest(name)
        if description is not None:
            tag.description = description
        self._flush_unique(tag)
        return tag

    def delete(self, actor: Actor, list_id: int, tag_ids: list[int]) -> int:
        """Delete tags of the list, all or none; subscribers lose them."""
        owned = self._tags_on(self.uow.lists.get(actor, list_id), tag_ids)
        # Children first: not every backend cascades inside one statement the same way.
        self.s.execute(delete(SubscriberTagAssignment).where(SubscriberTagAssignment.tag_id.in_(owned)),
                       execution_options=NO_SYNC)
        self.s.execute(delete(SubscriberTag).where(SubscriberTag.id.in_(owned)), execution_options=NO_SYNC)
        return len(owned)

    # --- tagging subscribers -----------------------------------------------------------------------------
    def tag(self, actor: Actor, list_id: int, tag_ids: list[int], subscriber_ids: list[int] | None = None,
            rules: tuple[object, str] | None = None) -> int:
        """Put every tag on every chosen subscriber (by ID, by criteria, or the listed ones that match);
        already tagged ones stay as they are. Returns how many subscribers were chosen."""
        list_row = self.uow.lists.get(actor, list_id)
        tags = self._tags_on(list_row, tag_ids)
        chosen = self._chosen(list_row, subscriber_ids, rules)
        now = self.uow.clock()
        for start in range(0, len(chosen), CHUNK):
            chunk = chosen[start:start + CHUNK]
            present = set(self.s.execute(select(SubscriberTagAssignment.subscriber_id, SubscriberTagAssignment.tag_id)
                                         .where(SubscriberTagAssignment.subscriber_id.in_(chunk),
                                                SubscriberTagAssignment.tag_id.in_(tags))).all())
            missing = [{"subscriber_id": sid, "tag_id": tid, "tagged_at": now}
                       for sid in chunk for tid in sorted(tags) if (sid, tid) not in present]
            if missing:
                self.s.execute(SubscriberTagAssignment.__table__.insert(), missing)
                journey_hooks.on_tag_pairs(self.s, [(m["tag_id"], m["subscriber_id"]) for m in missing], now)
        return len(chosen)

    def untag(self, actor: Actor, list_id: int, tag_ids: list[int], subscriber_ids: list[int] | None = None,
              rules: tuple[object, str] | None = None) -> int:
        """Take the tags off the chosen subscribers (untagged ones are left alone)."""
        list_row = self.uow.lists.get(actor, list_id)
        tags = self._tags_on(list_row, tag_ids)
        chosen = self._chosen(list_row, subscriber_ids, rules)
        for start in range(0, len(chosen), CHUNK):
            journey_hooks.before_untag(self.s, tags, chosen[start:start + CHUNK], self.uow.clock())
            self.s.execute(delete(SubscriberTagAssignment).where(
                SubscriberTagAssignment.tag_id.in_(tags),
                SubscriberTagAssignment.subscriber_id.in_(chosen[start:start + CHUNK])), execution_options=NO_SYNC)
        return len(chosen)

    # --- helpers -------------------------------------------------------------------------------------------
    def _tags_on(self, list_row: SubscriberList, tag_ids: list[int]) -> set[int]:
        found = set(self.s.scalars(select(SubscriberTag.id).where(
            SubscriberTag.id.in_(tag_ids), SubscriberTag.list_id == list_row.id)))
        missing = [i for i in tag_ids if i not in found]
        if missing:
            raise SubscriberTagNotFound(f"tag {missing[0]} is not a tag of list {list_row.id}")
        return found

    def _chosen(self, list_row: SubscriberList, subscriber_ids: list[int] | None,
                rules: tuple[object, str] | None) -> list[int]:
        if subscriber_ids is not None:
            members = set(self.s.scalars(select(Subscriber.id).where(
                Subscriber.id.in_(subscriber_ids), Subscriber.list_id == list_row.id)))
            strangers = [i for i in subscriber_ids if i not in members]
            if strangers:
                raise SubscriberNotFound(f"subscriber {strangers[0]} is not a subscriber of list {list_row.id}")
            if rules is None:
                return sorted(members)
        elif rules is None:
            raise ValueError("subscribers are chosen by ID, by criteria, or both")
        matching = self.uow.bulk_subscribers.matching(list_row, *rules)
        if subscriber_ids is not None:
            matching = matching.where(Subscriber.id.in_(subscriber_ids))
        with self.uow.audience.time_limit():
            return list(self.s.scalars(matching))

    def _ensure_unique(self, list_id: int, name: str, *, except_id: int | None = None) -> None:
        clash = self.s.scalar(select(SubscriberTag.id).where(
            SubscriberTag.list_id == list_id, SubscriberTag.name_digest == name_digest(name)))
        if clash is not None and clash != except_id:
            raise SubscriberTagExists(f"list {list_id} already has a tag named {name!r}")

    def _flush_unique(self, tag: SubscriberTag) -> None:
        # The unique key still decides between two requests that both passed _ensure_unique.
        try:
            with self.s.begin_nested():
                self.s.add(tag)
                self.s.flush()
        except IntegrityError:
            raise SubscriberTagExists(f"list {tag.list_id} already has a tag named {tag.name!r}") from None
