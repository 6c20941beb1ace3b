"""How subscriber tags look on the wire (Subscriber.Tags.Get, Subscriber.Get's SubscriberTags)."""
from __future__ import annotations

from engine.models import SubscriberTag


def tag_row(tag: SubscriberTag, subscriber_count: int) -> dict:
    # Integers, as the v5.9.4 subscriber.tags.get example shows them.
    return {"TagID": tag.id, "TagName": tag.name, "TagDescription": tag.description,
            "SubscriberCount": subscriber_count}


def subscriber_tag(tag: SubscriberTag) -> dict:
    return {"TagID": tag.id, "TagName": tag.name}
