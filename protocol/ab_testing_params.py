"""Campaign.Update's `ABTesting[Variations][n][emailid|weight]` (campaigns.md, "A/B Testing Parameters").

The shape is checked here, with the codes of the v5.9.4 table (17, 18, 21–25); whether each email is the
caller's is the engine's question (code 19). An empty `ABTesting` array turns A/B testing off ([]).
"""
from __future__ import annotations

from engine.campaigns.variations import VariationSpec
from engine.validation import MAX_ID
from protocol.params import LegacyField, ParamError

MIN_VARIATIONS, MAX_VARIATIONS = 2, 5


def _entries(value) -> list | None:
    """A list, or a PHP map of entries (`[0]`, `[1]` … or a JSON object keyed by position)."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return None


def _whole(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip() if isinstance(value, (str, float)) else ""
    return int(text) if text.isdigit() and len(text) <= 10 else None


class ABTestingField(LegacyField):
    """`ABTesting[Variations][n][emailid]` and `[weight]`: 2–5 variations, each an email ID and a whole-number
    weight above 0 whose share is at least 1 %; an empty array turns A/B testing off."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[VariationSpec]:
        if value in ([], {}) or (isinstance(value, str) and not value.strip()):
            # Off. (A form's "ABTesting=" never gets here: empty parameters are dropped for every command;
            # its RelEmailID, which the spec sends with it, turns A/B testing off in the engine.)
            return []
        if not isinstance(value, dict):
            raise ParamError(17, "ABTesting must be an array with a Variations array")
        variations = _entries({str(k).lower(): v for k, v in value.items()}.get("variations"))
        if variations is None:
            raise ParamError(18, "ABTesting[Variations] must be an array")
        if len(variations) < MIN_VARIATIONS:
            raise ParamError(21, f"at least {MIN_VARIATIONS} variations are required")
        if len(variations) > MAX_VARIATIONS:
            raise ParamError(22, f"at most {MAX_VARIATIONS} variations are allowed")
        specs = []
        for n, entry in enumerate(variations):
            entry = {str(k).lower(): v for k, v in entry.items()} if isinstance(entry, dict) else {}
            if "emailid" not in entry or "weight" not in entry:
                raise ParamError(23, f"variation {n} needs emailid and weight")
            email_id, weight = _whole(entry["emailid"]), _whole(entry["weight"])
            if email_id is None or not 1 <= email_id <= MAX_ID or weight is None or not 1 <= weight <= 1_000_000:
                raise ParamError(24, f"variation {n}: emailid must be an email ID and weight a whole number above 0")
            if any(spec.email_id == email_id for spec in specs):
                raise ParamError(24, f"variation {n}: email {email_id} is already a variation")
            specs.append(VariationSpec(email_id, weight))
        total = sum(spec.weight for spec in specs)
        if any(spec.weight * 100 < total for spec in specs):   # a share below 1 %
            raise ParamError(25, "every variation must get at least 1% of the recipients")
        return specs
