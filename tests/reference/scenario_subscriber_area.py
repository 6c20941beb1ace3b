"""Example calls: the subscriber area (README "Subscriber area").

Uses LIST_ID, with ada.lovelace@example.org on it, from the earlier steps. A subscriber, not a user, calls
these: no user credentials, and Subscriber.GetLists takes the SessionID Subscriber.Login answered.
"""
from __future__ import annotations

from tests.reference.recorder import Call

STEPS = [
    Call("Subscriber.Login", {"ListID": "{LIST_ID}", "EmailAddress": "ada.lovelace@example.org"}, session=None,
         hide={"SUBSCRIBER_SID": "SessionID"}),
    Call("Subscriber.GetLists", session="SUBSCRIBER_SID"),
    Call("Subscriber.Login", {"ListID": "{LIST_ID}", "EmailAddress": "nobody@example.org"}, session=None, expect=4,
         note="an address that is not on the list (an unknown list answers the same)"),
    Call("Subscriber.GetLists", {"SessionID": "forged-or-expired"}, session=None, expect=1,
         note="a forged, expired or user session"),
]
