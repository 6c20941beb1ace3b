"""What a journey's trigger may be, and the ScheduledPull settings (journeys.md). Pure.

Every trigger Octeth documents is a valid *name*; the ones Sendmill cannot observe (no revenue
tracking, no conversion pixel, no website events) are refused as an invalid trigger, so a journey
never waits silently for an event that cannot happen (README "Journeys").
"""
from __future__ import annotations

import re
from typing import Any

from engine.errors import InvalidTriggerParameters

TRIGGERS = ("Manual", "ListSubscription", "ListUnsubscription", "EmailOpen", "EmailConversion", "EmailLinkClick",
            "Tag", "UnTag", "CustomFieldValueChanged", "RevenueHit", "JourneyCompleted", "ScheduledPull",
            "WebsiteEvent_pageView", "WebsiteEvent_identify", "WebsiteEvent_customEvent", "WebsiteEvent_conversion")
UNOBSERVABLE = ("EmailConversion", "RevenueHit", "WebsiteEvent_pageView", "WebsiteEvent_identify",
                "WebsiteEvent_customEvent", "WebsiteEvent_conversion")
SUPPORTED = tuple(t for t in TRIGGERS if t not in UNOBSERVABLE)
BY_KEY = {t.lower(): t for t in TRIGGERS}

PULL_DEFAULTS: dict[str, Any] = {
    "IntervalValue": 60, "IntervalUnit": "minutes", "SubscriberCountMode": "fixed", "SubscriberCountFixed": 10,
    "SubscriberCountMin": 1, "SubscriberCountMax": None, "TimeConstraintEnabled": False, "AllowedDays": None,
    "DontSendBefore": "00:00", "DontSendAfter": "23:59", "FrequencyCapEnabled": False, "FrequencyCapCount": 0,
    "FrequencyCapPeriod": 0, "FrequencyCapUnit": "days",
}
UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_PULL = 10_000  # subscribers per pull: one bounded INSERT … SELECT


def pull_settings(raw: Any) -> dict:
    """ScheduledPull's TriggerParameters: keys matched case-insensitively, defaults filled, canonical keys."""
    if raw in (None, ""):
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidTriggerParameters("TriggerParameters must be an object")
    given = {str(k).lower(): v for k, v in raw.items()}
    out = {}
    for key, default in PULL_DEFAULTS.items():
        value = given.get(key.lower(), default)
        out[key] = _pull_value(key, value)
    if out["SubscriberCountMax"] is None:
        out["SubscriberCountMax"] = out["SubscriberCountMin"]
    if out["SubscriberCountMax"] < out["SubscriberCountMin"]:
        raise InvalidTriggerParameters("SubscriberCountMax must not be below SubscriberCountMin")
    return out


def _pull_value(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in ("IntervalValue", "SubscriberCountFixed", "SubscriberCountMin", "SubscriberCountMax",
               "FrequencyCapCount", "FrequencyCapPeriod"):
        text = str(value).strip() if not isinstance(value, bool) else ""
        if not re.fullmatch(r"\d{1,9}", text):
            raise InvalidTriggerParameters(f"{key} must be a whole number of at least 0")
        number = int(text)
        if key.startswith("SubscriberCount") and number > MAX_PULL:
            raise InvalidTriggerParameters(f"{key} must be at most {MAX_PULL}")
        return number
    if key in ("TimeConstraintEnabled", "FrequencyCapEnabled"):
        return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")
    if key in ("IntervalUnit", "FrequencyCapUnit"):
        text = str(value).strip().lower()
        if text not in UNITS:
            raise InvalidTriggerParameters(f"{key} must be one of minutes, hours, days")
        return text
    if key == "SubscriberCountMode":
        text = str(value).strip().lower()
        if text not in ("fixed", "random"):
            raise InvalidTriggerParameters("SubscriberCountMode must be fixed or random")
        return text
    if key in ("DontSendBefore", "DontSendAfter"):
        text = str(value).strip()
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
            raise InvalidTriggerParameters(f"{key} must be HH:MM")
        return text
    if key == "AllowedDays":
        days = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
        picked = {str(d).strip().lower()[:3] for d in days if str(d).strip()}
        if not picked <= set(DAYS):
            raise InvalidTriggerParameters("AllowedDays must name days as mon … sun")
        return [d for d in DAYS if d in picked]
    return value


def pull_interval_seconds(settings: dict) -> int:
    """The pull interval, floored at 60 seconds as documented."""
    return max(60, settings["IntervalValue"] * UNITS[settings["IntervalUnit"]])
