"""Subscriber tags from an import column (engine/audience/importer.py): a cell holds tag names separated by
commas or `|`; each name is cleaned as Subscriber.Tags.Create cleans it (trimmed, lower case, the same
characters) and a name the list does not have yet becomes a new tag of the list. Tags are only
added, never taken off."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.audience.subscriber_tags import CHUNK, clean_name, name_digest
from engine.models import SubscriberList, SubscriberTag, SubscriberTagAssignment

SEPARATORS = re.compile(r"[,|]")
# Mapping targets (any case) that mean "this column holds tags"; a custom field of that name wins.
TARGETS = frozenset(("tags", "tag", "subscribertags"))


class ImportTags:
    def __init__(self, session, list_row: SubscriberList, now):
        self.s = session
        self.list = list_row
        self.now = now
        self.ids: dict[str, int] = {}   # cleaned name → tag ID, filled as names are met

    @staticmethod
    def names(cell: str) -> tuple[str, ...]:
        """The cleaned names of one cell (InvalidTagName for a bad one), each once."""
        return tuple(dict.fromkeys(clean_name(part) for part in SEPARATORS.split(cell) if part.strip()))

    def apply(self, pairs: list[tuple[int, tuple[str, ...]]]) -> None:
        """Put the named tags on the subscriber rows (IDs of this list), creating the missing tags."""
        self._resolve({name for _, names in pairs for name in names})
        wanted = {(sid, self.ids[name]) for sid, names in pairs for name in names}
        subscribers = sorted({sid for sid, _ in wanted})
        present: set[tuple[int, int]] = set()
        for start in range(0, len(subscribers), CHUNK):
            present |= set(self.s.execute(select(SubscriberTagAssignment.subscriber_id, SubscriberTagAssignment.tag_id)
                                          .where(SubscriberTagAssignment.subscriber_id.in_(
                                              subscribers[start:start + CHUNK]))).all())
        missing = [{"subscriber_id": sid, "tag_id": tid, "tagged_at": self.now}
                   for sid, tid in sorted(wanted - present)]
        if missing:
            self.s.execute(SubscriberTagAssignment.__table__.insert(), missing)

    def _resolve(self, names: set[str]) -> None:
        unknown = sorted(names - set(self.ids))
        if not unknown:
            return
        # Looked up again each batch: another request may have created one of them meanwhile (a clash on
        # the unique key makes the importer retry the batch, which then finds it here).
        digests = {name_digest(name): name for name in unknown}
        for tag_id, digest in self.s.execute(select(SubscriberTag.id, SubscriberTag.name_digest).where(
                SubscriberTag.list_id == self.list.id, SubscriberTag.name_digest.in_(list(digests)))):
            self.ids[digests[digest]] = tag_id
        for name in unknown:
            if name not in self.ids:
                tag = SubscriberTag(list_id=self.list.id, owner_user_id=self.list.owner_user_id, name=name,
                                    name_digest=name_digest(name), description="", created_at=self.now)
                self.s.add(tag)
                self.s.flush()
                self.ids[name] = tag.id
