"""How a campaign tag looks on the wire (tags.get)."""
from __future__ import annotations

from engine.models import Tag


def tag_row(t: Tag) -> dict:
    # Integers, as the documented tags.get answer shows them.
    return {"TagID": t.id, "Tag": t.name, "RelOwnerUserID": t.owner_user_id}
