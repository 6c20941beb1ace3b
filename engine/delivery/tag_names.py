"""The names personalisation knows: output modes, context keys, and which key a tag reads.

The context a template renders with is a flat mapping of these canonical keys to values (see
personalize.py). `TagNames` resolves what a tag spells (`Subscriber:firstname`, an alias, a
custom field id, `Random:Letters:6`, a link) to a `Ref`, and says whether that name is known.
"""
from __future__ import annotations

import hashlib
import random
import re
import string
from typing import Collection, Mapping

from engine.delivery.compiled_template import as_text

# Output modes of compile_template: they decide how values are escaped (see personalize.py).
HTML, TEXT, URL = "html", "text", "url"

SUBSCRIBER_ID = "Subscriber:SubscriberID"
EMAIL_ADDRESS = "Subscriber:EmailAddress"
CUSTOM_FIELD_PREFIX = "Subscriber:CustomField"     # + the field id: the context key of a custom field
NOW = "Now"
MFROM_DOMAIN = "MFROMDomain"

SUBSCRIBER_FIELDS = ("SubscriberID", "EmailAddress", "ListID", "SubscriptionStatus", "BounceType",
                     "SubscriptionDate", "SubscriptionIP", "OptInDate", "UnsubscriptionDate")
USER_FIELDS = ("UserID", "FirstName", "LastName", "EmailAddress", "CompanyName", "Website", "Street",
               "City", "State", "Zip", "Country", "Phone", "Fax", "TimeZone")
LIST_FIELDS = ("ListID", "Name", "SenderName", "SenderEmailAddress", "SenderAddress", "SenderCompany")
CAMPAIGN_FIELDS = ("CampaignID", "Name")
LINKS = ("Unsubscribe", "WebBrowser", "Confirm", "Reject")


def _md5(v) -> str:
    return hashlib.md5(as_text(v).encode()).hexdigest() if as_text(v) else ""


# Tags computed from another key: name -> (source key, function).
_DERIVED = {
    "Subscriber:HashedSubscriberID": (SUBSCRIBER_ID, _md5),
    "Subscriber:Status": ("Subscriber:SubscriptionStatus", None),
    "Campaign:HashedCampaignID": ("Campaign:CampaignID", _md5),
}
NAMESPACES = {ns.lower(): (ns, {f.lower(): f for f in fields}) for ns, fields in (
    ("Subscriber", SUBSCRIBER_FIELDS + ("HashedSubscriberID", "Status")), ("User", USER_FIELDS),
    ("List", LIST_FIELDS), ("Campaign", CAMPAIGN_FIELDS + ("HashedCampaignID",)), ("Link", LINKS),
)}
_CUSTOM_FIELD = re.compile(r"^customfield(\d{1,18})$", re.I)
_RANDOM = re.compile(r"^(letters|numbers|alpha):(\d{1,3})$", re.I)
_RANDOM_ALPHABETS = {"letters": string.ascii_uppercase, "numbers": string.digits,
                     "alpha": string.ascii_letters + string.digits}
rng = random.SystemRandom()
_TARGET_NS = re.compile(r"[A-Za-z]+")
_TARGET_NAME = re.compile(r"[A-Za-z0-9_]+(?::[A-Za-z0-9_]+)*")


class Ref:
    """What a tag names: a context key, and how to read it."""

    __slots__ = ("key", "derive", "is_link", "known", "random")

    def __init__(self, key, derive=None, is_link=False, known=True, random=None):
        self.key, self.derive, self.is_link, self.known, self.random = key, derive, is_link, known, random


class TagNames:
    """The names one template may use: the account's merge-tag aliases and custom fields, and the links allowed."""

    __slots__ = ("aliases", "custom_ids", "links")

    def __init__(self, aliases: Mapping[str, int] | None, custom_field_ids: Collection[int] | None,
                 links: Collection[str]):
        self.aliases = {str(k).lower(): f"CustomField{int(v)}" for k, v in (aliases or {}).items()}
        self.custom_ids = None if custom_field_ids is None else {int(i) for i in custom_field_ids}
        self.links = {name.lower() for name in links}

    def without_links(self) -> TagNames:
        """The same fields, no link tags: for the right-hand side of a condition."""
        names = TagNames(None, None, ())
        names.aliases, names.custom_ids = self.aliases, self.custom_ids
        return names

    def resolve(self, namespace: str, name: str) -> Ref:
        """What `%namespace:name%` reads; a name that cannot be filled here comes back not `known`."""
        ns = NAMESPACES.get(namespace.lower())
        if namespace.lower() == "random":
            m = _RANDOM.match(name)
            if m and 1 <= int(m.group(2)) <= 256:
                alphabet, n = _RANDOM_ALPHABETS[m.group(1).lower()], int(m.group(2))
                return Ref(f"Random:{name}", random=lambda: "".join(rng.choices(alphabet, k=n)))
            return Ref(f"Random:{name}", known=False)
        if ns is None:
            return Ref(f"{namespace}:{name}", known=False)
        canonical_ns, fields = ns
        field = fields.get(name.lower())
        if canonical_ns == "Link":
            if field is None or name.lower() not in self.links:
                # Never filled, even when the context has it: a link tag is not allowed here.
                return Ref(f"!Link:{name}", is_link=True, known=False)
            return Ref(f"Link:{field}", is_link=True)
        if canonical_ns == "Subscriber" and field is None:
            m = _CUSTOM_FIELD.match(name)
            field = f"CustomField{int(m.group(1))}" if m else self.aliases.get(name.lower())
            if field is None:
                return Ref(f"Subscriber:{name}", known=False)
            known = self.custom_ids is None or int(field[11:]) in self.custom_ids
            return Ref(f"Subscriber:{field}", known=known)
        if field is None:
            return Ref(f"{canonical_ns}:{name}", known=False)
        key = f"{canonical_ns}:{field}"
        if key in _DERIVED:
            source, fn = _DERIVED[key]
            return Ref(source, derive=fn)
        return Ref(key)

    def parse_target(self, target: str) -> Ref | None:
        """What a `{{ … }}` tag or a condition names (`Now`, `Subscriber:City` …); None if not a name."""
        if target.lower() == "now":
            return Ref(NOW)
        if target.lower() == "mfromdomain":
            return Ref(MFROM_DOMAIN)
        namespace, colon, name = target.partition(":")
        if not colon or not _TARGET_NS.fullmatch(namespace) or not _TARGET_NAME.fullmatch(name):
            return None
        return self.resolve(namespace, name)
