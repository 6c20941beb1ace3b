"""protocol.request.parse_parameters: PHP's $_REQUEST rules, without a server or a database.

Each case is something a legacy client really sends (legacy-clients.md §5).
"""
from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MultiDict

from protocol.limits import MAX_LIST_ITEMS, MAX_VALUES, TooManyValues
from protocol.params import IdList, LegacySchema, ParamError, load
from protocol.request import MAX_NESTING, BadJsonBody, count_pairs, parse_parameters
from protocol.schedule_params import CommaList


def form(*pairs, query=()):
    return parse_parameters(MultiDict(list(query)), MultiDict(list(pairs)), None)


def body(raw: bytes, query=()):
    return parse_parameters(MultiDict(list(query)), None, raw)


# --- names ----------------------------------------------------------------------------------
def test_names_are_lower_cased_values_are_not():
    assert form(("Command", "Campaign.Create"), ("CampaignName", "Summer SALE"), ("ApiKey", "AbC")) == \
        {"command": "Campaign.Create", "campaignname": "Summer SALE", "apikey": "AbC"}


def test_names_are_lower_cased_at_every_depth():
    assert form(("Fields[CustomField7]", "x"), ("ABTesting[Variations][0][EmailID]", "301")) == \
        {"fields": {"customfield7": "x"}, "abtesting": {"variations": [{"emailid": "301"}]}}


def test_json_names_are_lower_cased_at_every_depth_including_inside_lists():
    parsed = body(b'{"Command": "x", "ABTesting": {"Variations": [{"EmailID": 301, "Weight": "A"}]}}')
    assert parsed == {"command": "x", "abtesting": {"variations": [{"emailid": 301, "weight": "A"}]}}


def test_differently_cased_copies_of_a_name_are_one_parameter_and_the_last_wins():
    assert form(("CampaignName", "first"), ("campaignname", "second"), ("CAMPAIGNNAME", "third")) == \
        {"campaignname": "third"}


# --- duplicates and merging -----------------------------------------------------------------
def test_a_repeated_key_keeps_its_last_value():
    assert form(("Command", "User.Logout"), ("Command", "Campaign.Create")) == {"command": "Campaign.Create"}


def test_1a65s_glued_response_format_is_overridden_by_the_good_copy_after_it():
    # 1a65 GETs `?Command=X&ResponseFormat=JSONCommand=X&ResponseFormat=JSON&ApiKey=…`.
    query = MultiDict([("Command", "Campaign.Create"), ("ResponseFormat", "JSONCommand=Campaign.Create"),
                       ("ResponseFormat", "JSON"), ("ApiKey", "k")])
    assert parse_parameters(query, MultiDict(), None) == \
        {"command": "Campaign.Create", "responseformat": "JSON", "apikey": "k"}


def test_query_string_and_form_body_merge_and_the_body_wins():
    parsed = form(("CampaignID", "2"), ("CampaignName", "body"),
                  query=[("Command", "Campaign.Get"), ("CampaignID", "1"), ("SessionID", "s")])
    assert parsed == {"command": "Campaign.Get", "campaignid": "2", "campaignname": "body", "sessionid": "s"}


def test_query_string_and_json_body_merge_and_the_body_wins():
    parsed = body(b'{"campaignid": 2, "Command": "Campaign.Get"}',
                  query=[("Command", "Campaign.Create"), ("SessionID", "s"), ("CampaignID", "1")])
    assert parsed == {"command": "Campaign.Get", "campaignid": 2, "sessionid": "s"}


def test_the_body_wins_even_when_the_query_string_uses_another_casing():
    assert form(("campaignid", "2"), query=[("CAMPAIGNID", "1")]) == {"campaignid": "2"}


# --- PHP bracket arrays ---------------------------------------------------------------------
def test_named_brackets_build_a_map():
    assert form(("a[b]", "1"), ("a[c]", "2")) == {"a": {"b": "1", "c": "2"}}


def test_empty_brackets_build_a_list_in_order():
    assert form(("CustomField7[]", "x"), ("CustomField7[]", "y")) == {"customfield7": ["x", "y"]}


def test_empty_brackets_with_any_casing_of_the_name_append_to_one_list():
    assert form(("CustomField7[]", "x"), ("customfield7[]", "y")) == {"customfield7": ["x", "y"]}


def test_nested_brackets_build_nested_maps_and_lists():
    parsed = form(("ABTesting[Variations][0][EmailID]", "301"), ("ABTesting[Variations][1][EmailID]", "302"),
                  ("ABTesting[TestSize]", "10"), ("a[b][c][]", "1"), ("a[b][c][]", "2"))
    assert parsed == {"abtesting": {"variations": [{"emailid": "301"}, {"emailid": "302"}], "testsize": "10"},
                      "a": {"b": {"c": ["1", "2"]}}}


def test_numeric_keys_0_to_n_become_a_list_sorted_by_index():
    assert form(("a[1]", "second"), ("a[0]", "first")) == {"a": ["first", "second"]}


def test_numeric_keys_with_gaps_stay_a_map():
    assert form(("a[0]", "x"), ("a[2]", "y")) == {"a": {"0": "x", "2": "y"}}


def test_a_later_scalar_replaces_an_earlier_array_and_vice_versa():
    assert form(("a[x]", "1"), ("a", "plain")) == {"a": "plain"}
    assert form(("a", "plain"), ("a[x]", "1")) == {"a": {"x": "1"}}


@pytest.mark.parametrize("key", ["a[b", "[a]", "a]"])
def test_malformed_brackets_are_a_plain_name(key):
    assert form((key, "1")) == {key: "1"}


# --- empty values ---------------------------------------------------------------------------
def test_empty_values_count_as_not_supplied():
    assert form(("CampaignID", ""), ("SessionID", ""), ("CampaignName", "x")) == {"campaignname": "x"}


def test_empty_values_are_dropped_inside_arrays_too():
    assert form(("Fields[CustomField1]", ""), ("Fields[CustomField2]", "v"), ("l[]", ""), ("l[]", "z")) == \
        {"fields": {"customfield2": "v"}, "l": ["z"]}


def test_an_empty_body_value_does_not_hide_the_query_string_copy():
    # PHP would let the empty body value win; dropping empties first keeps the caller's real value.
    assert form(("CampaignName", ""), query=[("CampaignName", "from query")]) in (
        {"campaignname": "from query"}, {})


def test_json_nulls_and_empty_strings_count_as_not_supplied_but_zero_and_false_do_not():
    assert body(b'{"a": null, "b": "", "c": 0, "d": false, "e": {"f": null, "g": 1}}') == \
        {"c": 0, "d": False, "e": {"g": 1}}


def test_whitespace_is_a_value_the_schema_decides_about():
    assert form(("CampaignName", "   ")) == {"campaignname": "   "}


# --- JSON bodies ----------------------------------------------------------------------------
def test_an_empty_json_body_means_no_body_parameters():
    assert body(b"  \n", query=[("Command", "x")]) == {"command": "x"}


@pytest.mark.parametrize("raw", [b"{", b"{'a': 1}", b"Command=Campaign.Create", b'{"a": 1,}', b"\xff\xfe"])
def test_invalid_json_is_refused(raw):
    with pytest.raises(BadJsonBody):
        body(raw)


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"Campaign.Create"', b"42", b"null"])
def test_a_json_body_that_is_not_an_object_is_refused(raw):
    with pytest.raises(BadJsonBody):
        body(raw)


def test_deeply_nested_json_is_refused_not_crashed():
    with pytest.raises(BadJsonBody):
        body(b"[" * 100_000 + b"]" * 100_000)


def test_a_repeated_json_key_keeps_its_last_value():
    assert body(b'{"Command": "User.Logout", "command": "Campaign.Create"}') == {"command": "Campaign.Create"}


# --- nesting limits (PHP's max_input_nesting_level) -------------------------------------------
def test_bracket_nesting_up_to_the_limit_is_parsed():
    parsed = form(("a" + "[b]" * (MAX_NESTING - 1), "deep"))
    node = parsed["a"]
    for _ in range(MAX_NESTING - 2):
        node = node["b"]
    assert node == {"b": "deep"}


def test_bracket_nesting_beyond_the_limit_is_dropped_like_php_does():
    assert form(("a" + "[b]" * 5000, "deep"), ("CampaignName", "kept")) == {"campaignname": "kept"}


def test_json_nesting_up_to_the_limit_is_parsed():
    raw = b'{"a": ' + b"[" * (MAX_NESTING - 1) + b"1" + b"]" * (MAX_NESTING - 1) + b"}"
    node, levels = body(raw)["a"], 0
    while isinstance(node, list):
        node, levels = node[0], levels + 1
    assert (levels, node) == (MAX_NESTING - 1, 1)


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 600, 5000])
def test_json_nesting_beyond_the_limit_is_refused_not_crashed(depth):
    with pytest.raises(BadJsonBody):
        body(b'{"a": ' + b"[" * depth + b"]" * depth + b"}")


@pytest.mark.parametrize("key", ["00", "01", "²", "١", "-1", "+1", " 1", "1e0", "9" * 30])
def test_only_canonical_integers_are_list_indexes(key):
    # PHP keeps "00" or "01" as string keys; int() of a non-ASCII digit would even raise.
    assert form((f"a[{key}]", "x")) == {"a": {key: "x"}}


def test_indexes_0_to_n_in_any_order_are_a_list_but_a_gap_or_duplicate_is_not():
    assert form(("a[2]", "c"), ("a[0]", "a"), ("a[1]", "b")) == {"a": ["a", "b", "c"]}
    assert form(("a[1]", "b"), ("a[2]", "c")) == {"a": {"1": "b", "2": "c"}}
    assert form(("a[0]", "x"), ("a[00]", "y")) == {"a": {"0": "x", "00": "y"}}


def test_nul_characters_are_dropped_from_names_and_values_everywhere():
    assert form(("Campaign\x00Name", "a\x00b"), ("l[]", "\x00"), ("m[k\x00]", "v\x00")) == \
        {"campaignname": "ab", "l": [], "m": {"k": "v"}}
    assert body(b'{"a": "x\\u0000y", "b": ["\\u0000"], "c": {"d\\u0000": "\\u0000z"}}') == \
        {"a": "xy", "b": [], "c": {"d": "z"}}


# --- how much one request may carry (protocol.limits) -----------------------------------------
def test_a_request_carries_at_most_max_values_pairs():
    pairs = [(f"p{i}", "1") for i in range(MAX_VALUES)]
    assert len(form(*pairs[:-1], query=[("Command", "Campaigns.Get")])) == MAX_VALUES
    with pytest.raises(TooManyValues):
        form(*pairs, query=[("Command", "Campaigns.Get")])
    with pytest.raises(TooManyValues):
        form(*[("ListID[]", str(i)) for i in range(MAX_VALUES + 1)])


def test_pairs_are_counted_on_the_raw_bytes():
    assert (count_pairs(b""), count_pairs(b"a=1"), count_pairs(b"a=1&b=2&c"), count_pairs(b"&&")) == (0, 1, 3, 3)


def test_a_json_body_carries_at_most_max_values_keys_and_items():
    assert len(body(json.dumps({"ListID": list(range(MAX_VALUES - 1))}).encode())["listid"]) == MAX_VALUES - 1
    with pytest.raises(TooManyValues):
        body(json.dumps({"ListID": list(range(MAX_VALUES))}).encode())
    with pytest.raises(TooManyValues):
        body(json.dumps({"a": [[1] * 100] * (MAX_VALUES // 100)}).encode())


class Ids(LegacySchema):
    IDs = IdList(required=True, code=1, invalid_code=2)
    Few = IdList(max_items=3, code=3, invalid_code=4)


def load_ids(**data):
    return load(Ids(), {k.lower(): v for k, v in data.items()}, [1, 2, 3, 4])


def test_an_id_list_drops_repeats_and_keeps_the_order_given():
    assert load_ids(IDs="7,3,7, 5,,3")["IDs"] == [7, 3, 5]
    assert load_ids(IDs=["9", 2, "9"])["IDs"] == [9, 2]
    assert load_ids(IDs={"0": "4", "1": "4"})["IDs"] == [4]


@pytest.mark.parametrize("shape", ["comma list", "array"])
def test_an_id_list_takes_max_list_items_entries_and_no_more(shape):
    def sent(n):
        ids = [str(i) for i in range(1, n + 1)]
        return ",".join(ids) if shape == "comma list" else ids

    assert len(load_ids(IDs=sent(MAX_LIST_ITEMS))["IDs"]) == MAX_LIST_ITEMS
    with pytest.raises(ParamError) as refused:
        load_ids(IDs=sent(MAX_LIST_ITEMS + 1))
    assert refused.value.code == 2 and f"more than {MAX_LIST_ITEMS} entries" in refused.value.message
    with pytest.raises(ParamError) as refused:
        load_ids(IDs="1", Few=sent(4))
    assert refused.value.code == 4


class Hours(LegacySchema):
    Hours = CommaList(0, 23, wildcard_zero=False, code=1)


def test_a_schedule_comma_list_is_stored_without_repeats_or_leading_zeros():
    # 100 repeats used to be stored as given and overflowed the 128-character column (100005).
    assert load(Hours(), {"hours": "8," * 100 + "08, 012,*,*"}, [1])["Hours"] == "8,12,*"
