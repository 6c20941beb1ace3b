"""Autoresponder trigger, delay and Repeat settings (engine/automation/triggers.py), without a database."""
from __future__ import annotations

import pytest

from engine.automation import triggers as T
from engine.automation.errors import InvalidRepeat, InvalidTriggerType, InvalidTriggerValue, MissingTriggerTime
from engine.errors import InvalidValue


@pytest.mark.parametrize("text, expected", [
    ("R5/P2D", T.Repeat("Enabled", 5, 2, "D")), ("r1/p12h", T.Repeat("Enabled", 1, 12, "H")),
    (" R100/P120M ", T.Repeat("Enabled", 100, 120, "M")), ("R3/P2W", T.Repeat("Enabled", 3, 2, "W")),
    ("null", T.Repeat("Disabled")), ("None", T.Repeat("Disabled")), ("DISABLED", T.Repeat("Disabled")),
])
def test_repeat_patterns(text, expected):
    assert T.parse_repeat(text) == expected
    assert expected.pattern == ("" if expected.status == "Disabled" else text.strip().upper())


@pytest.mark.parametrize("text", ["R5P2D", "R/P1D", "R0/P1D", "R101/P1D", "R2/P0D", "R2/P121M", "R2/P1Y", "R2/P١D",
                                  "R2/PT1H", ""])
def test_bad_repeat_patterns(text):
    with pytest.raises(InvalidRepeat):
        T.parse_repeat(text)


def test_delays_are_bounded_per_unit():
    assert T.check_delay("Immediately", None) == 0 and T.check_delay("Immediately", 99) == 0
    assert T.check_delay("Months later", 120) == 120 and T.check_delay("Seconds later", 1) == 1
    with pytest.raises(MissingTriggerTime):
        T.check_delay("Days later", None)
    for time_type, amount in (("Days later", 0), ("Days later", 3651), ("Weeks later", -1), ("Months later", 121)):
        with pytest.raises(InvalidValue):
            T.check_delay(time_type, amount)


@pytest.mark.parametrize("text, yearly, offset, canonical", [
    ("", False, 0, ""), ("Yearly", True, 0, "Yearly"), ("yearly-3", True, -3, "Yearly-3"),
    (" YEARLY + 1 ", True, 1, "Yearly+1"), ("-365", False, -365, "-365"), ("7", False, 7, "+7"), ("+0", False, 0, ""),
])
def test_date_schedules(text, yearly, offset, canonical):
    schedule = T.parse_date_schedule(text)
    assert (schedule.yearly, schedule.offset_days, schedule.text) == (yearly, offset, canonical)


@pytest.mark.parametrize("text", ["monthly", "Yearly-366", "3 days", "yearly yearly", "--3"])
def test_bad_date_schedules(text):
    with pytest.raises(InvalidTriggerValue):
        T.parse_date_schedule(text)


def test_trigger_value_forms():
    assert T.link_url(" https://shop.example/a?b=1 ") == "https://shop.example/a?b=1"
    assert (T.campaign_ref("12"), T.field_ref("CustomField12"), T.field_ref("customfield:7"), T.field_ref("3")) == \
        (12, 12, 7, 3)
    for bad in ("javascript:alert(1)", "ftp://x.example/", "https://", "https://a b.example/"):
        with pytest.raises(InvalidTriggerValue):
            T.link_url(bad)
    for bad in ("0", "x", "12a", "²"):
        with pytest.raises(InvalidTriggerValue):
            T.campaign_ref(bad)
        with pytest.raises(InvalidTriggerValue):
            T.field_ref(bad)


@pytest.mark.parametrize("trigger", sorted(T.UNOBSERVABLE))
def test_unobservable_triggers_are_refused(trigger):
    with pytest.raises(InvalidTriggerType):
        T.check_trigger_type(trigger)
    T.check_trigger_type("OnSubscription")
