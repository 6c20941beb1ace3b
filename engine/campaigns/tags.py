"""Campaign tags: a user's labels for campaigns (distinct from per-list subscriber tags)."""
from __future__ import annotations

import re

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from engine.accounts.auth import Actor
from engine.errors import CampaignNotFound, EmptyTagName, InvalidTagName, TagExists, TagNotFound
from engine.models import Campaign, CampaignTag, Tag
from engine.ownership import require_owned_ids

MAX_TAG_LENGTH = 255
# Letters and digits of any script, spaces, hyphens, underscores and percent signs.
_TAG_NAME = re.compile(r"[\w %-]+")


def clean_tag_name(name: str, max_length: int = MAX_TAG_LENGTH) -> str:
    """The name as stored (trimmed), or EmptyTagName / InvalidTagName."""
    name = name.strip()
    if not name:
        raise EmptyTagName()
    if len(name) > max_length:
        raise InvalidTagName(f"a tag has at most {max_length} characters")
    if not _TAG_NAME.fullmatch(name):
        raise InvalidTagName()
    return name


class TagService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def get(self, actor: Actor, tag_id: int, *, for_update: bool = False) -> Tag:
        query = select(Tag).where(Tag.id == tag_id, Tag.owner_user_id == actor.id)
        if for_update:
            query = query.with_for_update()
        tag = self.s.scalar(query)
        if tag is None:
            raise TagNotFound()
        return tag

    def search(self, actor: Actor) -> list[Tag]:
        """The caller's tags, by name (case-insensitively)."""
        return list(self.s.scalars(select(Tag).where(Tag.owner_user_id == actor.id)
                                   .order_by(func.lower(Tag.name), Tag.id)))

    def create(self, actor: Actor, name: str) -> Tag:
        name = clean_tag_name(name)
        self._ensure_unique(actor, name)
        tag = Tag(owner_user_id=actor.id, name=name)
        self._flush_unique(tag, name)
        return tag

    def rename(self, actor: Actor, tag_id: int, name: str) -> Tag:
        name = clean_tag_name(name)
        tag = self.get(actor, tag_id, for_update=True)
        self._ensure_unique(actor, name, except_id=tag.id)
        tag.name = name
        self._flush_unique(tag, name)
        return tag

    def delete(self, actor: Actor, tag_ids: list[int]) -> int:
        """Delete all the given tags or none of them; campaigns lose the deleted tags."""
        owned = require_owned_ids(self.s, Tag, tag_ids, actor, TagNotFound, "tag")
        # Children first: not every backend cascades inside one statement the same way.
        self.s.execute(delete(CampaignTag).where(CampaignTag.tag_id.in_(owned)))
        self.s.execute(delete(Tag).where(Tag.id.in_(owned)))
        return len(owned)

    def assign(self, actor: Actor, tag_id: int, campaign_ids: list[int]) -> None:
        """Tag every given campaign (already tagged ones stay as they are); all or nothing."""
        tag = self.get(actor, tag_id)
        owned = self._owned_campaigns(actor, campaign_ids)
        tagged = set(self.s.scalars(select(CampaignTag.campaign_id).where(
            CampaignTag.tag_id == tag.id, CampaignTag.campaign_id.in_(owned))))
        self.s.add_all(CampaignTag(campaign_id=c, tag_id=tag.id) for c in sorted(owned - tagged))
        self.s.flush()

    def unassign(self, actor: Actor, tag_id: int, campaign_ids: list[int]) -> None:
        """Remove the tag from every given campaign (untagged ones are left alone); all or nothing."""
        tag = self.get(actor, tag_id)
        owned = self._owned_campaigns(actor, campaign_ids)
        self.s.execute(delete(CampaignTag).where(CampaignTag.tag_id == tag.id,
                                                 CampaignTag.campaign_id.in_(owned)))

    # --- helpers ----------------------------------------------------------------------------------
    def _owned_campaigns(self, actor: Actor, campaign_ids: list[int]) -> set[int]:
        return require_owned_ids(self.s, Campaign, campaign_ids, actor, CampaignNotFound, "campaign")

    def _ensure_unique(self, actor: Actor, name: str, *, except_id: int | None = None) -> None:
        # Case-insensitive, as the legacy MySQL collation compared names. Compared here rather than
        # with SQL lower(), which SQLite applies to ASCII letters only; a user has few tags.
        wanted = name.casefold()
        for tag_id, existing in self.s.execute(select(Tag.id, Tag.name).where(Tag.owner_user_id == actor.id)):
            if tag_id != except_id and existing.casefold() == wanted:
                raise TagExists(f"there is already a tag named {existing!r}")

    def _flush_unique(self, tag: Tag, name: str) -> None:
        # The unique key still decides between two requests that both passed _ensure_unique.
        try:
            with self.s.begin_nested():
                self.s.add(tag)
                self.s.flush()
        except IntegrityError:
            raise TagExists(f"there is already a tag named {name!r}") from None
