"""Email.PersonalizationTags: the personalisation tags an email may use, by scope, from the names the
renderer itself knows (engine/delivery/tag_names.py), so the catalog cannot list a tag that would not be
filled in. Subscriber tags include the custom fields of the given lists (their own and the global ones).
"""
from __future__ import annotations

from engine.accounts.auth import Actor
from engine.delivery.tag_names import LINKS, SUBSCRIBER_FIELDS, USER_FIELDS

SCOPES = ("Subscriber", "CampaignLinks", "OptLinks", "ListLinks", "AllLinks", "User")
LINK_SCOPES = {"CampaignLinks": ("WebBrowser", "Unsubscribe"), "OptLinks": ("Confirm", "Reject"),
               "ListLinks": ("Unsubscribe",), "AllLinks": LINKS}
LINK_TEXT = {"Unsubscribe": "Unsubscribe link", "WebBrowser": "Link to the email in a web browser",
             "Confirm": "Opt-in confirmation link", "Reject": "Opt-in rejection link"}


def _words(name: str) -> str:
    return "".join(f" {c}" if c.isupper() and i and not name[i - 1].isupper() else c for i, c in enumerate(name))


class PersonalizationTagService:
    def __init__(self, uow):
        self.uow = uow

    def tags(self, actor: Actor, scopes: list[str], list_ids: list[int]) -> list[dict]:
        """[{Tag, Description, Category}] in scope order; lists are checked before anything is listed."""
        lists = [self.uow.lists.get(actor, i) for i in list_ids]
        found: dict[str, dict] = {}

        def add(tag: str, description: str, category: str) -> None:
            found.setdefault(tag, {"Tag": tag, "Description": description, "Category": category})

        for scope in scopes:
            if scope == "Subscriber":
                for name in SUBSCRIBER_FIELDS:
                    add(f"%Subscriber:{name}%", f"Subscriber {_words(name).lower()}", "Subscriber")
                for list_row in lists:
                    for field in self.uow.custom_fields.applicable(list_row):
                        add(f"%Subscriber:CustomField{field.id}%", field.name, "Subscriber")
            elif scope == "User":
                for name in USER_FIELDS:
                    add(f"%User:{name}%", f"Your {_words(name).lower()}", "User")
            else:
                for name in LINK_SCOPES[scope]:
                    add(f"%Link:{name}%", LINK_TEXT[name], "Links")
        return list(found.values())
