"""Every REST endpoint, fed random and oversized inputs, answers a declared status in time and writes
nothing when it fails: the REST half of the protocol fuzz test (test_fuzz_commands.py has the world,
the snapshots and the legacy half).

For each endpoint of protocol.rest.registry (read when this module is collected), hypothesis draws
a body shaped like the endpoint's schema (its field names, nested objects and lists, plus names
nobody expects), query values for its query schema and path values, from values clients and
attackers send: text, NUL characters, huge numbers, real IDs of the caller's and another user's
objects, and now and then an input at a request limit (a list of 10,001 entries, a body over 10 MB,
nesting 65 or 300 levels deep).

What must hold:
* a JSON answer, never HTTP 500; a failure has the modern error body and a status the endpoint
  declares, or 400/401/403/404, or 413 for a body over the limits;
* a failure leaves every table exactly as it was; a user never changes another user's rows;
* every request is answered within TIME_BOUND seconds.
"""
from __future__ import annotations

import json
import string
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import fields
from werkzeug.test import EnvironBuilder

from protocol.limits import MAX_BODY_BYTES, MAX_LIST_ITEMS
from protocol.rest.registry import all_endpoints
from tests.properties.test_fuzz_commands import (  # noqa: F401 - _no_dns: the autouse fixture, shared
    FORCED_EXAMPLES, NASTY, TIME_BOUND, IdRef, Oversized, _no_dns, resolve, seed, snapshot,
)

ENDPOINTS = {f"{e.method} {e.path}": e for e in all_endpoints()}
EXAMPLES = {"sqlite": 8, "postgresql": 3, "mariadb": 3}
ALWAYS_ALLOWED = {400, 401, 403, 404, 413}
REST_OVERSIZED = [Oversized("id array", MAX_LIST_ITEMS + 1), Oversized("text", MAX_BODY_BYTES + 1),
                  Oversized("nested", 65), Oversized("nested", 300), Oversized("nested text", 100_000),
                  Oversized("deep body", 1_000), Oversized("deep body", 100_000)]


def scalars():
    return st.one_of(
        st.text(max_size=30), st.text(max_size=12).map(lambda text: text + "\x00" + text),
        st.sampled_from(NASTY + ["a\x00b", "\x00", "ann@example.com", "ANN@Example.COM",
                                                       "2026-12-24T10:00:00Z", "SUBSCRIBED", "https://x.example/h"]),
        st.integers(min_value=-3, max_value=10), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
        st.builds(IdRef, st.integers(min_value=0, max_value=63), st.just(True)),
        st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False))


def junk():
    keys = st.text(alphabet=string.ascii_letters + "_\x00", min_size=1, max_size=8)
    return st.recursive(scalars(), lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)), max_leaves=5)


def field_value(field, depth: int):
    if isinstance(field, fields.Nested) and depth < 3:
        inner = field.nested if isinstance(field.nested, type) else type(field.nested)
        return st.one_of(schema_body(inner, depth + 1), junk())
    if isinstance(field, fields.List):
        return st.one_of(st.lists(field_value(field.inner, depth + 1), max_size=4), junk())
    return st.one_of(scalars(), junk())


def schema_body(schema_cls, depth: int = 0):
    """Objects shaped like `schema_cls`: a random subset of its fields, sometimes an unexpected name."""
    named = {f.data_key or name: field_value(f, depth) for name, f in schema_cls().fields.items()
             if not f.dump_only}
    extra = st.dictionaries(st.text(alphabet=string.ascii_letters, min_size=1, max_size=8), junk(), max_size=1)
    return st.builds(lambda known, other: {**other, **known},
                     st.fixed_dictionaries({}, optional=named), extra)


def inputs(endpoint):
    """(body, query, path) for one request; an oversized value replaces one of them now and then."""
    body = schema_body(endpoint.body) if endpoint.body else st.just(None)
    query_fields = endpoint.query_params().fields.values() if endpoint.query_params else []
    query = st.fixed_dictionaries({}, optional={f.data_key or f.name: st.one_of(scalars(), st.lists(scalars(),
                                                                                                  max_size=3))
                                               for f in query_fields})
    names = [part[1:-1] for part in endpoint.path.split("/") if part.startswith("{")]
    path = st.fixed_dictionaries({n: st.one_of(st.builds(IdRef, st.integers(0, 63), st.just(True)),
                                               st.sampled_from(["0", "-1", "abc", "9" * 30, "1\x00", " 1"]))
                                  for n in names})
    big = st.one_of(st.none(), st.none(), st.none(), st.sampled_from(REST_OVERSIZED))
    return st.tuples(body, query, path, big)


def as_text(value) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else "" if value is None else str(value)


def build_request(endpoint, body, query, path, session: str):
    """The request, built before the clock starts: encoding a 10 MB body is the test's cost, not the server's."""
    url = endpoint.path
    for name, value in path.items():
        url = url.replace("{" + name + "}", quote(str(value), safe=""))
    pairs = [(k, as_text(v)) for k, values in query.items()
             for v in (values if isinstance(values, list) else [values])]
    kwargs = {"method": endpoint.method, "headers": {"Authorization": f"Bearer {session}"}, "query_string": pairs}
    if body is not None:
        kwargs.update(data=body if isinstance(body, str) else json.dumps(body), content_type="application/json")
    return EnvironBuilder(url, **kwargs).get_request()


@pytest.mark.parametrize("key", sorted(ENDPOINTS))
def test_rest_endpoints_answer_random_and_oversized_inputs_in_time(key, engine, app, backend):
    endpoint = ENDPOINTS[key]
    client = app.test_client()
    state = {"world": seed(engine)}
    state["snapshot"] = snapshot(engine, state["world"])
    allowed = ALWAYS_ALLOWED | {status for status, _code in endpoint.errors.values()}

    @settings(max_examples=int(FORCED_EXAMPLES) if FORCED_EXAMPLES else EXAMPLES[backend], deadline=None,
              database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                    HealthCheck.data_too_large])
    @given(drawn=inputs(endpoint))
    def run(drawn):
        world, before = state["world"], state["snapshot"]
        body, query, path, big = resolve(list(drawn[:3]), before.ids) + [drawn[3]]
        if big is not None and big.kind == "deep body":
            # Built as text: json.dumps itself cannot nest this deep.
            body = '{"x": ' + "[" * big.size + "]" * big.size + "}"
        elif big is not None and body is not None:
            big = resolve(big, before.ids)
            body = {**body, **{next(iter(body), "padding"): big}}
        elif big is not None:
            big = resolve(big, before.ids)
            query = {**query, **{next(iter(query), "padding"): big if isinstance(big, list) else str(big)[:6000]}}
        request = build_request(endpoint, body, query, path, world.user_session)
        started = time.monotonic()
        response = client.open(request)
        elapsed = time.monotonic() - started
        after = snapshot(engine, world)
        where = f"{key} with body={str(body)[:1500]} query={str(query)[:500]} path={path}"
        assert elapsed <= TIME_BOUND, f"{elapsed:.1f} s (more than {TIME_BOUND} s) for {where}"
        assert response.mimetype == "application/json", f"{response.status_code} {response.mimetype} for {where}"
        answer = response.get_json()
        assert after.foreign == before.foreign, f"another user's rows changed by {where}: {answer}"
        if response.status_code < 400:
            assert response.status_code == endpoint.status, f"{response.status_code} for {where}: {answer}"
            if after.digest != before.digest:
                world = state["world"] = seed(engine)
                after = snapshot(engine, world)
            state["snapshot"] = after
            return
        assert response.status_code in allowed, f"undeclared {response.status_code} for {where}: {answer}"
        assert answer["message"] and ("applicationError" in answer["details"] or
                                      "validationError" in answer["details"]), f"{answer} for {where}"
        assert (after.counts, after.digest) == (before.counts, before.digest), \
            f"a failed {where} changed the database ({answer})"

    run()
