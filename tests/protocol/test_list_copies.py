"""CustomFields.Copy and Segments.Copy (the generated PHP wrappers' commands): copies, re-runs, every code,
and stored state unchanged after each refusal."""
from __future__ import annotations

import json

from sqlalchemy import select

from engine.models import CustomField, Segment
from tests.builders import make_custom_field, make_list
from tests.helpers import codes, stored_state


def rules(field: str, value: str) -> str:
    return json.dumps([[{"type": "fields", "field_id": field, "operator": "is", "value": value}]])


def fields_of(engine, list_id: int) -> list[tuple]:
    with engine.uow() as uow:
        return [(f.name, f.field_type, f.is_required, f.options, f.merge_tag_alias) for f in uow.session.scalars(
            select(CustomField).where(CustomField.list_id == list_id).order_by(CustomField.id))]


def test_custom_fields_copy(engine, api, user, list_id):
    target = make_list(engine, user, "Target")
    make_custom_field(engine, user, list_id, "City", is_required=True, merge_tag_alias="town")
    make_custom_field(engine, user, list_id, "Plan", field_type="Drop down",
                      options=[{"label": "Gold", "value": "gold", "selected": True}])
    make_custom_field(engine, user, target, "city")   # the target has it already: left out
    answer = api("CustomFields.Copy", user.session, SourceListID=list_id, TargetListID=target)
    assert answer["Success"] is True and answer["TotalCopied"] == 1
    source_plan = [f for f in fields_of(engine, list_id) if f[0] == "Plan"][0]
    assert fields_of(engine, target)[1] == source_plan
    assert api("CustomFields.Copy", user.session, SourceListID=list_id, TargetListID=target)["TotalCopied"] == 0


def test_segments_copy(engine, api, user, list_id):
    target = make_list(engine, user, "Target")
    api("Segment.Create", user.session, SubscriberListID=list_id, SegmentName="Gmail", SegmentOperator="or",
        RulesJson=rules("EmailAddress", "x@gmail.com"))
    api("Segment.Create", user.session, SubscriberListID=list_id, SegmentName="Everyone", SegmentOperator="and")
    answer = api("Segments.Copy", user.session, SourceListID=list_id, TargetListID=target)
    assert answer["Success"] is True and answer["TotalCopied"] == 2
    with engine.uow() as uow:
        copied = [(s.name, s.rules_operator, s.rules_json) for s in uow.session.scalars(
            select(Segment).where(Segment.list_id == target).order_by(Segment.id))]
    assert [c[0] for c in copied] == ["Gmail", "Everyone"] and json.loads(copied[0][2])[0][0]["value"] == "x@gmail.com"


def test_copy_refusals_change_nothing(engine, api, user, other_user, list_id):
    target = make_list(engine, user, "Target")
    foreign = make_list(engine, other_user)
    field = make_custom_field(engine, user, list_id, "City")
    api("Segment.Create", user.session, SubscriberListID=list_id, SegmentName="Ghent", SegmentOperator="and",
        RulesJson=rules(f"CustomField{field}", "Ghent"))
    before = stored_state(engine)
    for command in ("CustomFields.Copy", "Segments.Copy"):
        call = lambda **p: codes(api(command, user.session, **p))  # noqa: E731
        assert call(TargetListID=target) == [1] and call(SourceListID=list_id) == [2]
        assert call(SourceListID=foreign, TargetListID=target) == [3]
        assert call(SourceListID=list_id, TargetListID=foreign) == [4]
        assert call(SourceListID="x", TargetListID=target) == [3]
    # The segment's rules name a field of the source list that the target does not have.
    assert codes(api("Segments.Copy", user.session, SourceListID=list_id, TargetListID=target)) == [5]
    assert stored_state(engine) == before
