"""Parameter types the journey commands share: strict dates, date windows, the journey's settings."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from marshmallow import ValidationError

from protocol.params import Int, LegacyField, LegacySchema, ParamError, Raw, Text

# Sendmill's additions to Journey.Create / Journey.Update (README "Error codes Sendmill adds").
SETTINGS_ADDED = {
    23: "Invalid TriggerParameters (see ErrorText)",
    24: "Invalid Trigger_Criteria, Run_Criteria or Run_Criteria_Operator",
    25: "Invalid Name or Notes (Name at most 255 characters, Notes at most 10000)",
}
# Wire parameter → the engine's setting name (engine/automation/journeys/service.py SETTINGS).
SETTINGS = {"Name": "name", "Notes": "notes", "Trigger": "trigger", "Trigger_ListID": "trigger_list_id",
            "Trigger_EmailID": "trigger_email_id", "Trigger_Value": "trigger_value",
            "TriggerParameters": "trigger_parameters", "Trigger_Criteria": "trigger_criteria",
            "Run_Criteria": "run_criteria", "Run_Criteria_Operator": "run_criteria_operator",
            "Rate_Limit_Per_Hour": "rate_limit_per_hour", "Rate_Limit_Per_Day": "rate_limit_per_day"}


def settings_of(p: dict) -> dict:
    return {SETTINGS[key]: value for key, value in p.items() if key in SETTINGS}


class StrictDate(LegacyField):
    """YYYY-MM-DD, zero-padded, a real calendar day, no white space (journeys.md "Strict date validation")."""

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        text = self._scalar_text(value)
        try:
            day = datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            raise ValidationError("must be a date written YYYY-MM-DD") from None
        if day.strftime("%Y-%m-%d") != text:
            raise ValidationError("must be a date written YYYY-MM-DD")
        return day


def window(p: dict, today: date, start: str, end: str, order_code: int) -> tuple[date, date]:
    """The stats window: omitted bounds default to 30 days ago and today, then the order is checked."""
    first = p.get(start, today - timedelta(days=30))
    last = p.get(end, today)
    if first > last:
        raise ParamError(order_code, f"{start} must be before {end}")
    return first, last


class JourneySettings(LegacySchema):
    """Every setting optional; Journey.Create makes Name required."""

    Name = Text(max_length=255, code=25)
    Notes = Text(strip=False, max_length=10000, code=25)
    Trigger = Text(max_length=64, code=3)
    TriggerParameters = Raw(code=23)
    Trigger_ListID = Int(min_value=0, code=5)
    Trigger_EmailID = Int(min_value=0, code=8)
    Trigger_Value = Text(max_length=255, code=10)
    Trigger_Criteria = Raw(code=24)
    Run_Criteria = Raw(code=24)
    Run_Criteria_Operator = Text(max_length=8, code=24)
    Rate_Limit_Per_Hour = Int(min_value=0, code=18)
    Rate_Limit_Per_Day = Int(min_value=0, code=19)
