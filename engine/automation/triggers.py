"""An autoresponder's trigger, delay and Repeat settings, checked and normalised (pure: no database).

What the trigger values mean (the v5.9.4 page names the parameters but not their content):

* OnSubscription: no value (anything given is dropped).
* OnSubscriberLinkClick: AutoResponderTriggerValue is the link's URL (http/https), matched exactly
  against the clicked URL; AutoResponderTriggerValue2 optionally narrows it to the clicks of one campaign
  (its ID), "" = a click in any campaign.
* OnSubscriberCampaignOpen: the value is the ID of the campaign whose open triggers it.
* OnSubscriberDate: the value is a date custom field of the list (`12` or `CustomField12`); value2 says
  when, relative to the date: "" = on the date itself, once; "-3" / "+7" = three days before / a week
  after, once; "Yearly" (also "Yearly-3", "Yearly+1") = every year on the date's month and day (29
  February in other years: 28 February), shifted likewise. The delay (TriggerTimeType) then counts from
  the start of that local day, so "Hours later" 9 means 09:00.
* OnSubscriberCampaignConversion, OnSubscriberForwardToFriend: Sendmill records neither conversions nor
  forwards, so they can never fire; they are refused as invalid trigger types.

Delays are at most ten years (per unit below). Repeat is `R{count}/P{interval}{H|D|W|M}`: `count` sends in
all, the first one included, `interval` apart (M = calendar months); "null", "none", "off" or "disabled"
switch repeating off.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from engine.automation.errors import InvalidRepeat, InvalidTriggerType, InvalidTriggerValue, MissingTriggerTime
from engine.errors import InvalidValue

VALUE_REQUIRED = frozenset(("OnSubscriberLinkClick", "OnSubscriberCampaignOpen", "OnSubscriberCampaignConversion",
                            "OnSubscriberDate"))
# Sendmill observes neither event, so an autoresponder on them would be stored but never fire.
UNOBSERVABLE = frozenset(("OnSubscriberCampaignConversion", "OnSubscriberForwardToFriend"))
IMMEDIATELY = "Immediately"
MAX_DELAY = {"Seconds later": 315_360_000, "Minutes later": 5_256_000, "Hours later": 87_600,
             "Days later": 3_650, "Weeks later": 521, "Months later": 120}
MAX_REPEAT_COUNT = 100
MAX_REPEAT_INTERVAL = {"H": 87_600, "D": 3_650, "W": 521, "M": 120}
REPEAT_OFF = frozenset(("null", "none", "off", "disabled"))
MAX_DATE_OFFSET = 365
_REPEAT = re.compile(r"R(\d{1,4})/P(\d{1,6})([HDWM])", re.IGNORECASE | re.ASCII)
_DATE_SCHEDULE = re.compile(r"(yearly)?\s*([+-]\s*\d{1,3}|\d{1,3})?", re.IGNORECASE | re.ASCII)
_FIELD = re.compile(r"(?:customfield:?)?(\d{1,9})", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class Repeat:
    status: str | None          # None: never set; "Enabled" / "Disabled"
    count: int = 0
    interval: int = 0
    unit: str = ""

    @property
    def pattern(self) -> str:
        return f"R{self.count}/P{self.interval}{self.unit}" if self.status == "Enabled" else ""


@dataclass(frozen=True)
class DateSchedule:
    yearly: bool
    offset_days: int

    @property
    def text(self) -> str:
        offset = f"{self.offset_days:+d}" if self.offset_days else ""
        return ("Yearly" if self.yearly else "") + offset


def check_trigger_type(trigger_type: str) -> None:
    if trigger_type in UNOBSERVABLE:
        raise InvalidTriggerType(f"{trigger_type} cannot fire: Sendmill does not record "
                                 f"{'conversions' if 'Conversion' in trigger_type else 'forwards to a friend'}")


def parse_repeat(text: str) -> Repeat:
    value = text.strip()
    if value.lower() in REPEAT_OFF:
        return Repeat("Disabled")
    match = _REPEAT.fullmatch(value)
    if match is None:
        raise InvalidRepeat(f"{text!r} is not R{{count}}/P{{interval}}{{H|D|W|M}} (e.g. R5/P2D), nor null")
    count, interval, unit = int(match.group(1)), int(match.group(2)), match.group(3).upper()
    if not 1 <= count <= MAX_REPEAT_COUNT:
        raise InvalidRepeat(f"the count must be 1 to {MAX_REPEAT_COUNT}")
    if not 1 <= interval <= MAX_REPEAT_INTERVAL[unit]:
        raise InvalidRepeat(f"the interval must be 1 to {MAX_REPEAT_INTERVAL[unit]} for unit {unit}")
    return Repeat("Enabled", count, interval, unit)


def check_delay(time_type: str, amount: int | None) -> int:
    """The stored TriggerTime: 0 for Immediately, else 1 to the unit's maximum."""
    if time_type == IMMEDIATELY:
        return 0
    if amount is None:
        raise MissingTriggerTime()
    if not 1 <= amount <= MAX_DELAY[time_type]:
        raise InvalidValue("TriggerTime", f"TriggerTime for {time_type!r} must be 1 to {MAX_DELAY[time_type]}")
    return amount


def link_url(text: str) -> str:
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidTriggerValue(f"{text!r} is not an http or https link")
    return url


def campaign_ref(text: str) -> int:
    """A campaign ID as the trigger value names it."""
    value = text.strip()
    if not (value.isdecimal() and len(value) <= 9 and int(value) >= 1):
        raise InvalidTriggerValue(f"{text!r} is not a campaign ID")
    return int(value)


def field_ref(text: str) -> int:
    """`12` or `CustomField12` → 12."""
    match = _FIELD.fullmatch(text.strip())
    if match is None or int(match.group(1)) < 1:
        raise InvalidTriggerValue(f"{text!r} is not a custom field ID (12 or CustomField12)")
    return int(match.group(1))


def parse_date_schedule(text: str) -> DateSchedule:
    match = _DATE_SCHEDULE.fullmatch(text.strip())
    if match is None:
        raise InvalidTriggerValue(f"{text!r} is not a date schedule: \"\", \"Yearly\", \"-3\", \"+7\" or \"Yearly-3\"")
    offset = int(re.sub(r"\s", "", match.group(2) or "0"))
    if abs(offset) > MAX_DATE_OFFSET:
        raise InvalidTriggerValue(f"a date trigger is at most {MAX_DATE_OFFSET} days before or after the date")
    return DateSchedule(bool(match.group(1)), offset)
