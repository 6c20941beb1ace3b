"""Custom fields through HTTP: CustomField.Create/Update, CustomFields.Get/Delete — every code, stored state."""
from __future__ import annotations

import json

import pytest

from engine.models import CustomField, SubscriberFieldValue
from protocol.commands import custom_fields as commands
from tests.builders import (
    CodeRecorder, assert_codes_reached, load_row, make_custom_field, make_list, make_subscriber,
)
from tests.helpers import stored_state


SEEN: dict = {}
NEVER_EMITTED = {}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


def create_field(api, user, list_id, **params) -> int:
    params = {"FieldName": "City", "FieldType": "Single line", **params}
    answer = api("CustomField.Create", user.session, SubscriberListID=list_id, **params)
    assert answer["Success"] is True, answer
    return answer["CustomFieldID"]


# --- CustomField.Create --------------------------------------------------------------------------
def test_create_stores_the_definition(api, user, engine, list_id):
    answer = api("CustomField.Create", user.session, SubscriberListID=list_id, FieldName="Age",
                 FieldType="Single line", ValidationMethod="Numbers", IsRequired="Yes", IsUnique="No",
                 Visibility="Public", MergeTagAlias="age", DefaultValue="18")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "CustomFieldID": answer["CustomFieldID"]}
    field = load_row(engine, CustomField, answer["CustomFieldID"])
    assert (field.list_id, field.owner_user_id, field.name, field.field_type, field.validation_method) == \
        (list_id, user.id, "Age", "Single line", "Numbers")
    assert (field.is_required, field.is_unique, field.visibility, field.merge_tag_alias, field.default_value) == \
        (True, False, "Public", "age", "18")


def test_create_a_choice_field_from_option_arrays(api, user, engine, list_id):
    field_id = create_field(api, user, list_id, FieldName="Colour", FieldType="Drop down",
                            **{"OptionLabel[]": ["Red", "Green"], "OptionValue[]": ["r", "g"],
                               "OptionSelected[]": ["g"]})
    field = load_row(engine, CustomField, field_id)
    assert json.loads(field.options) == [{"label": "Red", "value": "r", "selected": False},
                                         {"label": "Green", "value": "g", "selected": True}]
    assert field.default_value == "g"


def test_create_from_a_preset_and_from_a_data_type(api, user, engine, list_id):
    gender = api("CustomField.Create", user.session, SubscriberListID=list_id, PresetName="Gender")
    country = api("CustomField.Create", user.session, SubscriberListID=list_id, PresetName="country")
    number = api("CustomField.Create", user.session, SubscriberListID=list_id, FieldName="Score",
                 DataType="number")
    assert load_row(engine, CustomField, gender["CustomFieldID"]).field_type == "Multiple choice"
    countries = json.loads(load_row(engine, CustomField, country["CustomFieldID"]).options)
    assert any(o["value"] == "Germany" for o in countries)
    assert load_row(engine, CustomField, number["CustomFieldID"]).validation_method == "Numbers"


def test_create_a_global_field(api, user, engine, list_id):
    field_id = create_field(api, user, list_id, IsGlobal="Yes")
    assert load_row(engine, CustomField, field_id).list_id is None


@pytest.mark.parametrize("params, code", [
    ({"SubscriberListID": None}, 1),
    ({"FieldName": None}, 2),
    ({"FieldType": None}, 3),
    ({"ValidationMethod": "Custom"}, 4),
    ({"ValidationMethod": "Custom", "ValidationRule": "(unclosed"}, 4),
    ({"PresetName": "Zodiac sign", "FieldName": None, "FieldType": None}, 5),
    ({"FieldType": "Spinner"}, 7),
    ({"DataType": "blob"}, 7),
    ({"SubscriberListID": "999999"}, 8),
    ({"SubscriberListID": "abc"}, 8),
    ({"Visibility": "Everyone"}, 9),
    ({"IsRequired": "Sometimes"}, 10),
    ({"IsUnique": "Maybe"}, 11),
    ({"IsGlobal": "Partly"}, 12),
    ({"ValidationMethod": "Telepathy"}, 13),
    ({"FieldType": "Drop down"}, 16),
    ({"OptionLabel[]": ["a", "b"], "OptionValue[]": ["a"], "FieldType": "Drop down"}, 16),
    ({"FieldType": "Date field", "Years": "2030-1990"}, 17),
    ({"MergeTagAlias": "first name!"}, 1001),
    ({"MergeTagAlias": "EmailAddress"}, 1002),
])
def test_create_errors(api, user, engine, list_id, params, code):
    base = {"SubscriberListID": list_id, "FieldName": "City", "FieldType": "Single line"}
    base.update(params)
    answer = api("CustomField.Create", user.session, **{k: v for k, v in base.items() if v is not None})
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    with engine.uow() as uow:
        assert uow.session.query(CustomField).count() == 0


def test_create_on_a_foreign_list_is_8(api, user, other_user, engine, list_id):
    before = stored_state(engine)
    answer = api("CustomField.Create", other_user.session, SubscriberListID=list_id, FieldName="X",
                 FieldType="Single line")
    assert answer["ErrorCode"] == [8]
    assert stored_state(engine) == before


def test_create_with_an_alias_already_used_is_1000(api, user, engine, list_id):
    create_field(api, user, list_id, MergeTagAlias="town")
    before = stored_state(engine)
    answer = api("CustomField.Create", user.session, SubscriberListID=list_id, FieldName="Other",
                 FieldType="Single line", MergeTagAlias="Town")
    assert answer["ErrorCode"] == [1000]
    assert stored_state(engine) == before


# --- CustomField.Update --------------------------------------------------------------------------
def test_update_is_partial_and_keeps_omitted_options(api, user, engine, list_id):
    field_id = create_field(api, user, list_id, FieldName="Colour", FieldType="Drop down",
                            **{"OptionValue[]": ["red", "green"]})
    answer = api("CustomField.Update", user.session, CustomFieldID=field_id, FieldName="Favourite colour",
                 FieldType="Drop down", IsRequired="Yes")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    field = load_row(engine, CustomField, field_id)
    assert (field.name, field.is_required) == ("Favourite colour", True)
    assert [o["value"] for o in json.loads(field.options)] == ["red", "green"]


def test_update_can_make_a_field_global_and_back(api, user, engine, list_id):
    field_id = create_field(api, user, list_id)
    api("CustomField.Update", user.session, CustomFieldID=field_id, FieldName="City", FieldType="Single line",
        IsGlobal="Yes")
    assert load_row(engine, CustomField, field_id).list_id is None
    api("CustomField.Update", user.session, CustomFieldID=field_id, FieldName="City", FieldType="Single line",
        IsGlobal="No", SubscriberListID=list_id)
    assert load_row(engine, CustomField, field_id).list_id == list_id


@pytest.mark.parametrize("params, code", [
    ({"CustomFieldID": None}, 1),
    ({"FieldName": None}, 2),
    ({"FieldType": None}, 3),
    ({"ValidationMethod": "Custom", "ValidationRule": "   "}, 4),
    ({"CustomFieldID": "999999"}, 6),
    ({"CustomFieldID": "abc"}, 6),
    ({"FieldType": "Spinner"}, 7),
    ({"ValidationMethod": "Telepathy"}, 8),
    ({"Visibility": "Everyone"}, 9),
    ({"IsRequired": "x"}, 10),
    ({"IsUnique": "x"}, 11),
    ({"IsGlobal": "x"}, 12),
    ({"SubscriberListID": "999999"}, 13),
    ({"FieldType": "Checkboxes"}, 16),
    ({"FieldType": "Date field", "Years": "19-20"}, 17),
    ({"MergeTagAlias": "bad/alias"}, 1001),
    ({"MergeTagAlias": "SubscriberID"}, 1002),
])
def test_update_errors(api, user, engine, list_id, params, code):
    field_id = create_field(api, user, list_id)
    base = {"CustomFieldID": field_id, "FieldName": "Town", "FieldType": "Single line"}
    base.update(params)
    before = stored_state(engine)
    answer = api("CustomField.Update", user.session, **{k: v for k, v in base.items() if v is not None})
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    assert load_row(engine, CustomField, field_id).name == "City" and stored_state(engine) == before


def test_update_cannot_move_a_field_to_another_list_14(api, user, engine, list_id):
    field_id = create_field(api, user, list_id)
    other = make_list(engine, user, "Other")
    before = stored_state(engine)
    answer = api("CustomField.Update", user.session, CustomFieldID=field_id, FieldName="City",
                 FieldType="Single line", SubscriberListID=other)
    assert answer["ErrorCode"] == [14]
    assert load_row(engine, CustomField, field_id).list_id == list_id and stored_state(engine) == before


def test_update_with_a_taken_alias_is_1000(api, user, engine, list_id):
    create_field(api, user, list_id, FieldName="A", MergeTagAlias="alias")
    field_id = create_field(api, user, list_id, FieldName="B")
    before = stored_state(engine)
    answer = api("CustomField.Update", user.session, CustomFieldID=field_id, FieldName="B",
                 FieldType="Single line", MergeTagAlias="ALIAS")
    assert answer["ErrorCode"] == [1000]
    assert stored_state(engine) == before


def test_update_of_a_foreign_field_is_6(api, user, other_user, engine, list_id):
    field_id = create_field(api, user, list_id)
    before = stored_state(engine)
    answer = api("CustomField.Update", other_user.session, CustomFieldID=field_id, FieldName="X",
                 FieldType="Single line")
    assert answer["ErrorCode"] == [6]
    assert load_row(engine, CustomField, field_id).name == "City" and stored_state(engine) == before


# --- CustomFields.Get ----------------------------------------------------------------------------
def test_get_returns_the_fields_the_legacy_readers_use(api, user, engine, list_id):
    city = create_field(api, user, list_id, FieldName="City", DefaultValue="Paris")
    colour = create_field(api, user, list_id, FieldName="Colour", FieldType="Multiple choice",
                          **{"OptionLabel[]": ["Red", "Dark green"], "OptionValue[]": ["Red", "green"],
                             "OptionSelected[]": ["0"]})
    create_field(api, user, list_id, FieldName="Everywhere", IsGlobal="Yes")
    answer = api("Customfields.Get", user.session, SubscriberListID=list_id, OrderField="CustomFieldID",
                 OrderType="ASC")
    assert answer["Success"] is True and answer["TotalFieldCount"] == answer["TotalCustomFields"] == 2
    rows = answer["CustomFields"]
    assert [r["CustomFieldID"] for r in rows] == [str(city), str(colour)]
    assert rows[0]["FieldName"] == "City" and rows[0]["FieldType"] == "Single line"
    assert rows[0]["FieldDefaultValue"] == "Paris" and rows[0]["RelListID"] == str(list_id)
    assert rows[1]["FieldOptions"] == "[[*]]Red,[[]]Dark green||green"
    assert rows[1]["IsRequired"] == "No" and rows[1]["IsGlobal"] == "No"


def test_get_with_global_fields_and_name_order(api, user, list_id):
    create_field(api, user, list_id, FieldName="b-local")
    create_field(api, user, list_id, FieldName="A-global", IsGlobal="Yes")
    answer = api("CustomFields.Get", user.session, SubscriberListID=list_id, ReturnGlobalCustomFields="true")
    assert [r["FieldName"] for r in answer["CustomFields"]] == ["A-global", "b-local"]
    assert answer["CustomFields"][0]["IsGlobal"] == "Yes" and answer["CustomFields"][0]["RelListID"] == "0"


def test_get_of_a_list_without_fields_is_an_empty_array(api, user, list_id):
    answer = api("CustomFields.Get", user.session, SubscriberListID=list_id)
    assert answer["CustomFields"] == [] and answer["TotalFieldCount"] == 0


def test_get_without_a_list_is_scalar_1(api, user):
    answer = api("CustomFields.Get", user.session)
    assert answer["Success"] is False and answer["ErrorCode"] == 1


def test_get_of_a_foreign_list_is_scalar_2(api, user, other_user, list_id):
    create_field(api, user, list_id)
    answer = api("CustomFields.Get", other_user.session, SubscriberListID=list_id)
    assert answer["ErrorCode"] == 2 and "CustomFields" not in answer


# --- CustomFields.Delete -------------------------------------------------------------------------
def test_delete_removes_fields_and_their_values(api, user, engine, list_id):
    keep = make_custom_field(engine, user, list_id, "Keep")
    gone = make_custom_field(engine, user, list_id, "Gone")
    make_subscriber(engine, list_id, "a@example.com", values={keep: "1", gone: "2"})
    answer = api("CustomFields.Delete", user.session, CustomFields=str(gone))
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    with engine.uow() as uow:
        assert [f.id for f in uow.session.query(CustomField)] == [keep]
        assert [v.field_id for v in uow.session.query(SubscriberFieldValue)] == [keep]


@pytest.mark.parametrize("value", [None, "x,y"])
def test_delete_without_ids_is_keyed_customfields_1(api, user, engine, list_id, value):
    field_id = make_custom_field(engine, user, list_id)
    params = {} if value is None else {"CustomFields": value.replace("x", str(field_id))}
    before = stored_state(engine)
    assert api("CustomFields.Delete", user.session, **params)["ErrorCode"] == {"customfields": 1}
    assert stored_state(engine) == before


def test_delete_of_a_foreign_field_is_1_and_deletes_nothing(api, user, other_user, engine, list_id):
    field_id = make_custom_field(engine, user, list_id)
    make_subscriber(engine, list_id, "a@example.com", values={field_id: "kept"})
    before = stored_state(engine)
    assert api("CustomFields.Delete", other_user.session, CustomFields=field_id)["ErrorCode"] == {"customfields": 1}
    assert load_row(engine, CustomField, field_id) is not None and stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, NEVER_EMITTED)
