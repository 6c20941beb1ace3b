"""Shorthands that fill in a new field's definition: the v5.7.3 DataType names and the Oempro 4
presets (PresetName)."""
from __future__ import annotations

from engine.errors import InvalidPreset

# DataType (v5.7.3) → (FieldType, ValidationMethod, ValidationRule)
DATA_TYPES = {
    "text": ("Single line", "Disabled", ""), "longtext": ("Paragraph text", "Disabled", ""),
    "number": ("Single line", "Numbers", ""), "date": ("Date field", "Disabled", ""),
    "datetime": ("Single line", "Date", "Y-m-d H:i:s"), "timestamp": ("Single line", "Date", "Y-m-d H:i:s"),
    "time": ("Time field", "Disabled", ""), "single-select": ("Drop down", "Disabled", ""),
    "multi-select": ("Checkboxes", "Disabled", ""),
}

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_US_STATES = (
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware",
    "District of Columbia", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas",
    "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi",
    "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey", "New Mexico", "New York",
    "North Carolina", "North Dakota", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island",
    "South Carolina", "South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington",
    "West Virginia", "Wisconsin", "Wyoming",
)
_SCALE = ("Very satisfied", "Satisfied", "Neutral", "Dissatisfied", "Very dissatisfied")
# The Oempro 4 presets: PresetName → (field name, type, option labels).
PRESETS = {
    "gender": ("Gender", "Multiple choice", ("Male", "Female", "Other")),
    "age": ("Age", "Drop down", ("Under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 or older")),
    "employment": ("Employment", "Drop down", ("Employed full-time", "Employed part-time", "Self-employed",
                                               "Unemployed", "Student", "Retired")),
    "income": ("Income", "Drop down", ("Under $25,000", "$25,000 - $49,999", "$50,000 - $74,999",
                                       "$75,000 - $99,999", "$100,000 or more")),
    "education": ("Education", "Drop down", ("High school", "Some college", "Associate degree",
                                             "Bachelor's degree", "Master's degree", "Doctorate")),
    "days of the week": ("Days of the week", "Checkboxes", ("Monday", "Tuesday", "Wednesday", "Thursday",
                                                            "Friday", "Saturday", "Sunday")),
    "months of the year": ("Months of the year", "Checkboxes", _MONTHS),
    "u.s. states": ("U.S. state", "Drop down", _US_STATES),
    "continents": ("Continent", "Drop down", ("Africa", "Antarctica", "Asia", "Europe", "North America",
                                              "Oceania", "South America")),
    "satisfaction": ("Satisfaction", "Multiple choice", _SCALE),
    "importance": ("Importance", "Multiple choice", ("Very important", "Important", "Neutral",
                                                     "Not important", "Not at all important")),
    "agreement": ("Agreement", "Multiple choice", ("Strongly agree", "Agree", "Neutral", "Disagree",
                                                   "Strongly disagree")),
    "comparison": ("Comparison", "Multiple choice", ("Much better", "Somewhat better", "About the same",
                                                     "Somewhat worse", "Much worse")),
}


def preset(name: str) -> tuple[str, str, tuple[str, ...]]:
    key = name.strip().lower()
    if key == "country":
        import pytz  # a dependency already: its ISO 3166 country names make the Country preset

        return "Country", "Drop down", tuple(sorted(pytz.country_names.values()))
    if key not in PRESETS:
        raise InvalidPreset(f"unknown preset {name!r}; use one of Country, "
                                     + ", ".join(v[0] for v in PRESETS.values()))
    return PRESETS[key]
