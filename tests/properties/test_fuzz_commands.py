"""Every registered command, fed random parameters, answers with one of its own codes and writes nothing.

For each command in protocol.registry.COMMANDS (read when this module is collected, so a command
added tomorrow is fuzzed too), hypothesis draws parameter sets: the command's own parameter names
in random casing plus names nobody expects, with values that legacy clients, browsers and
attackers send (text, unicode, huge numbers, SQL, nested arrays, empties, real IDs of the caller's
and another user's objects). Each set is posted as a form and as JSON, with a valid session.

A second property sends what the request limits are for (README "Request limits"): ID lists of
10,000 to 150,000 entries as comma lists and arrays, bodies over 10 MB, nesting from 65 to 100,000
levels, to commands that take lists and to any command.

What must hold:
* HTTP 200, JSON, `Success` a boolean; or HTTP 413 with the documented 100007 (request too large);
* a failure carries only codes from the command's `errors` table or the dispatcher's documented
  ones (99998, 99999, 100000, 100003), never 100005: an internal error is a bug, and the
  failing input is printed;
* a failure leaves every table exactly as it was (row counts and a hash of every row);
* a user never changes another user's rows, whatever the answer;
* every request is answered within TIME_BOUND seconds (the issue's one timed assertion: no request
  may hold a server thread for more than a few seconds; generous for a loaded machine).

Bounded: at most 25 examples per command on SQLite and 5 on the server databases, fewer as the
command table grows (see BUDGET); SENDMILL_FUZZ_EXAMPLES=N forces N everywhere. The oversized
inputs get LIMIT_EXAMPLES in all. The REST surface has its own fuzz test (test_fuzz_rest.py).
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import io
import json
import os
import string
import time
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder

from engine.accounts.auth import Actor
from engine.db import Base
from engine.models import Campaign, Segment, SubscriberList, Tag
from protocol.command import ADMIN, ANY
from protocol.limits import MAX_BODY_BYTES, MAX_LIST_ITEMS, MAX_VALUES
from protocol.params import LegacyField
from protocol.registry import COMMANDS
from tests.conftest import wipe

DISPATCHER_CODES = {99998, 99999, 100000, 100003}
INTERNAL_ERROR = 100005
TOO_LARGE = 100007  # with HTTP 413: the body or the parameter count is over its limit
TIME_BOUND = 5.0    # seconds per request, from the built request to its answer
# Examples per command: 25 on SQLite and 5 on the servers while the table is small, then fewer, so the
# module stays around a minute per backend however many commands get registered.
# SENDMILL_FUZZ_EXAMPLES=200 forces a deeper run.
FORCED_EXAMPLES = os.environ.get("SENDMILL_FUZZ_EXAMPLES")
BUDGET = {"sqlite": (1500, 25, 5), "postgresql": (300, 5, 2), "mariadb": (300, 5, 2)}  # total, most, least
# Examples of oversized inputs, all commands together (each is one request; a few seconds in all).
LIMIT_EXAMPLES = {"sqlite": 80, "postgresql": 20, "mariadb": 20}


def examples_for(backend: str) -> int:
    if FORCED_EXAMPLES:
        return int(FORCED_EXAMPLES)
    total, most, least = BUDGET[backend]
    return max(least, min(most, total // len(COMMANDS)))


# Parameters the harness itself controls: fuzzing them would only test the harness.
RESERVED = {"command", "sessionid", "apikey", "adminapikey", "responseformat", "jsonpcallback"}

NASTY = [
    "' OR '1'='1", "1; DROP TABLE campaigns; --", "1 UNION SELECT password_hash FROM users", '" OR ""="',
    "%", "_", "%_%", "\\", "\\'", "0x41", "1e309", "NaN", "-0", "+1", " 7 ", "007", "1.5", "1,2,3", "1,,2,",
    "0", "-1", "*", "0,*", "9" * 19, "9" * 40, "true", "yes", "null", "undefined", "[]", "{}", '{"a": 1}',
    "[[1]]", '[{"field_id": "EmailAddress", "operator": "contains", "value": "a"}]',
    "2026-12-24", "2026-02-30", "0000-00-00", "9999-12-31 23:59:59", "24:00", "09:30", "23:59:60",
    "Europe/Berlin", "(GMT+03:00) Istanbul", "Mars/Olympus", "a@b.c", "not an email", "x@" + "y" * 300,
    "%Link:Unsubscribe%", "<script>alert(1)</script>", "\u0000", "a\u0000b", "\ufeff", "😀" * 10,
    "é" * 256, "x" * 256, "x" * 70_000, "\r\n", " ",
]

CSV_FILES = [
    b"EmailAddress\nann@example.com\nbob@example.com\n",
    b"email,name\r\n\"ann@example.com\",\"Ann, Jr.\"\r\nnot-an-email,x\r\n",
    "Email\nünï@exämple.com\n".encode("utf-8"), b"\xff\xfe\x00e\x00m", b"a,b\n" + b"x," * 500 + b"\n",
    b"=HYPERLINK(\"http://evil\")\n", b"",
]


@pytest.fixture(autouse=True)
def _no_dns(engine):
    """SenderAddress.Identify looks up DMARC records: answer from here, never from the network."""
    engine.settings = dataclasses.replace(engine.settings, extra={**engine.settings.extra,
                                                                  "txt_lookup": lambda name: []})


# --- the world each example runs in -------------------------------------------------------------------
@dataclass
class World:
    user_session: str
    admin_session: str
    user_id: int
    other_id: int


@dataclass
class Snapshot:
    counts: dict
    digest: str          # every row of every table
    foreign: str         # every row the other user owns
    ids: list[int]       # every positive integer in the database: IDs worth sending


def seed(engine) -> World:
    """Wipe, then an administrator, a user and a second user, each user owning one of everything."""
    wipe(engine.db)
    with engine.uow() as uow:
        uow.accounts.ensure_default_group()
        uow.accounts.create_admin("root", "admin-pass-1")
        accounts = [uow.accounts.create_user(username=name, password="user-pass-1", email=f"{name}@example.com")
                    for name in ("alice", "mallory")]
        for account in accounts:
            actor = Actor("user", account.id, "*")
            uow.campaigns.create(actor, f"{account.username} campaign")
            uow.emails.create(actor, f"{account.username} email")
            uow.tags.create(actor, f"{account.username} tag")
            uow.auth.create_api_key(actor, f"{account.username} key")
            subscriber_list = SubscriberList(owner_user_id=account.id, name=f"{account.username} list",
                                             created_at=uow.clock())
            uow.session.add(subscriber_list)
            uow.session.flush()
            uow.session.add(Segment(owner_user_id=account.id, list_id=subscriber_list.id,
                                    name=f"{account.username} segment", created_at=uow.clock()))
        user_session, _ = uow.auth.login_user("alice", "user-pass-1")
        admin_session, _ = uow.auth.login_admin("root", "admin-pass-1")
        uow.commit()
        return World(user_session, admin_session, accounts[0].id, accounts[1].id)


def snapshot(engine, world: World) -> Snapshot:
    counts, digest, foreign, ids = {}, hashlib.sha256(), hashlib.sha256(), set()
    # Raw DB-API cursor: taken after every request, so SQLAlchemy's per-statement cost would dominate.
    with engine.db.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        for table in Base.metadata.sorted_tables:
            columns = list(table.c.keys())
            cursor.execute(f"SELECT * FROM {table.name}")
            rows = cursor.fetchall()
            counts[table.name] = len(rows)
            digest.update(table.name.encode() + b"\0" + "\0".join(sorted(map(repr, rows))).encode(
                "utf-8", "surrogatepass"))
            owner = "owner_user_id" if "owner_user_id" in columns else "id" if table.name == "users" else None
            if owner is not None:
                position = [d[0] for d in cursor.description].index(owner)
                theirs = sorted(repr(r) for r in rows if r[position] == world.other_id)
                foreign.update(table.name.encode() + b"\0" + "\0".join(theirs).encode("utf-8", "surrogatepass"))
            ids.update(v for r in rows for v in r if type(v) is int and v > 0)
        cursor.close()
        conn.rollback()
    return Snapshot(counts, digest.hexdigest(), foreign.hexdigest(), sorted(ids))


# --- what gets sent ---------------------------------------------------------------------------------------
def wire_names(command) -> list[str]:
    if command.params is None:
        return []
    names = []
    for attr, f in command.params().fields.items():
        # The attribute carries the documented casing; data_key is already lower-cased.
        names.append(attr if attr.lower() == f.data_key else f.data_key)
    return sorted(n for n in set(names) if n.lower() not in RESERVED)


def choice_values(command) -> list[str]:
    values = set()
    if command.params is not None:
        for f in command.params().fields.values():
            values.update(getattr(f, "lookup", {}).values())
    return sorted(values)


def recase(name: str):
    return st.sampled_from([name, name.lower(), name.upper(), name.swapcase()])


@dataclass(frozen=True)
class IdRef:
    """The k-th ID of the current world, resolved when sent: IDs change every time the world is reseeded."""
    k: int
    as_text: bool


@dataclass(frozen=True)
class Upload:
    """A multipart file (Subscribers.Import's ImportFile and the like); JSON bodies carry its text."""
    content: bytes
    filename: str


@dataclass(frozen=True)
class Oversized:
    """An input at or beyond a request limit, built when sent (150,000 IDs per draw would dominate):
    `ids` a comma list, `id array` an array, `text` one long string, `nested` arrays in arrays,
    `nested text` the same as a JSON document inside a string (test_fuzz_rest.py adds `deep body`)."""
    kind: str
    size: int

    def build(self, ids: list[int]):
        if self.kind in ("ids", "id array"):
            entries = [ids[i % len(ids)] if i < 32 else 2**31 - 1 - i for i in range(self.size)]
            return ",".join(map(str, entries)) if self.kind == "ids" else entries
        if self.kind == "text":
            return "x" * self.size
        if self.kind == "nested":
            value: object = "1"
            for _ in range(self.size):
                value = [value]
            return value
        return "[" * self.size + "]" * self.size  # "nested text": a JSON document in a string


OVERSIZED = [Oversized("ids", MAX_LIST_ITEMS), Oversized("ids", MAX_LIST_ITEMS + 1), Oversized("ids", 150_000),
             Oversized("id array", MAX_LIST_ITEMS + 1), Oversized("id array", MAX_VALUES + 1),
             Oversized("text", MAX_BODY_BYTES + 1), Oversized("nested", 65), Oversized("nested", 300),
             Oversized("nested text", 1_000), Oversized("nested text", 100_000)]


def resolve(value, ids: list[int]):
    if isinstance(value, IdRef):
        chosen = ids[value.k % len(ids)]
        return str(chosen) if value.as_text else chosen
    if isinstance(value, Oversized):
        return value.build(ids)
    if isinstance(value, dict):
        return {k: resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ids) for v in value]
    return value


def value_strategy(command):
    scalars = st.one_of(
        st.text(max_size=40),
        st.sampled_from(NASTY),
        st.integers(min_value=-3, max_value=10),
        st.integers(min_value=-(2 ** 80), max_value=2 ** 80),
        st.builds(IdRef, st.integers(min_value=0, max_value=63), st.booleans()),
        st.builds(Upload, st.one_of(st.binary(max_size=120), st.sampled_from(CSV_FILES)),
                  st.sampled_from(["list.csv", "list.txt", "", "../../etc/passwd"])),
        st.sampled_from(choice_values(command) or ["Draft"]),
        st.sampled_from(["", "true", "false", "1", "0", "yes", "no", "on", "off", "TRUE"]),
        st.booleans(),
        st.none(),
        st.floats(allow_nan=False, allow_infinity=False),
    )
    # Map keys as PHP sees them: names, list indexes, and numbers PHP does not treat as indexes.
    key = st.one_of(st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=10),
                    st.sampled_from(["0", "1", "2", "00", "01", "-1", "²", "", " ", "1e3"]))
    return st.recursive(scalars, lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(key, children, max_size=3)), max_leaves=6)


def params_strategy(command):
    names = wire_names(command)
    values = value_strategy(command)
    junk_names = st.text(alphabet=string.ascii_letters + string.digits + "_[]", min_size=1, max_size=12) \
        .filter(lambda n: n.lower().split("[")[0] not in RESERVED)
    known = st.lists(st.sampled_from(names).flatmap(recase), unique_by=str.lower, max_size=len(names)) \
        if names else st.just([])

    @st.composite
    def build(draw):
        params = {name: draw(values) for name in draw(known)}
        for name in draw(st.lists(junk_names, max_size=2)):
            params[name] = draw(values)
        return params

    return build()


def form_pairs(name: str, value, out: list) -> list:
    """A value as a PHP client would post it: nested maps and lists in bracket syntax."""
    if isinstance(value, dict):
        for k, v in value.items():
            form_pairs(f"{name}[{k}]", v, out)
    elif isinstance(value, list):
        for v in value:
            form_pairs(f"{name}[]", v, out)
    elif value is None:
        out.append((name, ""))
    elif isinstance(value, bool):
        out.append((name, "1" if value else "0"))
    elif isinstance(value, Upload):
        out.append((name, (io.BytesIO(value.content), value.filename)))
    else:
        out.append((name, str(value)))
    return out


def as_json_text(value):
    if isinstance(value, Upload):
        return value.content.decode("utf-8", "replace")
    raise TypeError(type(value).__name__)


# --- the property -------------------------------------------------------------------------------------------
def shown(params) -> str:
    """The failing input, readable: long values cut to their start and their length."""
    def cut(value):
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cut(v) for v in value[:5]] + ([f"... {len(value)} items"] if len(value) > 5 else [])
        if isinstance(value, str) and len(value) > 200:
            return f"{value[:60]}... ({len(value)} characters)"
        return value
    return f"{cut(params)!r:.2000}"


def send(client, command, session: str, params: dict, encoding: str):
    """One request as a PHP client (form, bracket arrays) or a JSON client would post it, and how long the
    server took: the request is built before the clock starts (encoding 10 MB is the test's cost)."""
    if encoding == "form":
        pairs = [("Command", command.name), ("SessionID", session)]
        for key, value in params.items():
            form_pairs(key, value, pairs)
        builder = EnvironBuilder("/api.php", method="POST", data=MultiDict(pairs))
    else:
        body = {"Command": command.name, "SessionID": session, **params}
        builder = EnvironBuilder("/api.php", method="POST", data=json.dumps(body, default=as_json_text),
                                 content_type="application/json")
    request = builder.get_request()
    started = time.monotonic()
    response = client.open(request)
    return response, time.monotonic() - started


def error_codes(answer: dict) -> list:
    codes = answer.get("ErrorCode")
    if isinstance(codes, dict):
        return list(codes.values())
    return codes if isinstance(codes, list) else [codes]


def check(command, encoding, params, response, before: Snapshot, after: Snapshot, as_user: bool,
          elapsed: float) -> bool:
    where = f"{command.name} as {encoding} with {shown(params)}"
    assert elapsed <= TIME_BOUND, f"{elapsed:.1f} s (more than {TIME_BOUND} s) for {where}"
    assert response.status_code in (200, 413), f"HTTP {response.status_code} for {where}"
    assert response.mimetype == "application/json", f"{response.mimetype} for {where}"
    answer = json.loads(response.get_data(as_text=True))
    assert isinstance(answer.get("Success"), bool), f"no boolean Success for {where}: {answer}"
    if response.status_code == 413:
        assert answer["ErrorCode"] == TOO_LARGE and not answer["Success"], f"413 without 100007 for {where}"
        assert (after.counts, after.digest) == (before.counts, before.digest), f"a refused {where} wrote"
        return False
    if as_user:
        assert after.foreign == before.foreign, f"another user's rows changed by {where}: {answer}"
    if answer["Success"]:
        return True
    codes = error_codes(answer)
    assert INTERNAL_ERROR not in codes, f"internal error (a bug) for {where}: {answer}"
    allowed = set(command.errors) | DISPATCHER_CODES
    # The v5.9.4 autoresponder and report pages name missing parameters instead of numbering them.
    names = set(command.error_keys.values()) if command.error_shape in ("named", "scalar") else set()
    assert codes and all((type(c) is int and c in allowed) or c in names for c in codes), \
        f"undocumented code {codes} for {where}: {answer} (table: {sorted(command.errors)})"
    assert (after.counts, after.digest) == (before.counts, before.digest), \
        f"a failed {where} changed the database: {before.counts} -> {after.counts} ({answer})"
    return False


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_random_parameters_never_crash_or_half_write(name, engine, app, backend):
    command = COMMANDS[name]
    client = app.test_client()
    world = seed(engine)
    state = {"world": world, "snapshot": snapshot(engine, world)}
    examples = examples_for(backend)

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(drawn=params_strategy(command), as_admin=st.booleans())
    def run(drawn, as_admin):
        for encoding in ("form", "json"):
            world, before = state["world"], state["snapshot"]
            params = resolve(drawn, before.ids)
            use_admin = command.auth == ADMIN or (command.auth == ANY and as_admin)
            session = world.admin_session if use_admin else world.user_session
            response, elapsed = send(client, command, session, params, encoding)
            after = snapshot(engine, world)
            succeeded = check(command, encoding, params, response, before, after, not use_admin, elapsed)
            if succeeded and after.digest != before.digest:
                # Every example starts from the same world, so a failure replays (and shrinks) exactly:
                # a write that succeeded is undone by seeding afresh.
                world = state["world"] = seed(engine)
                after = snapshot(engine, world)
            state["snapshot"] = after

    run()


def test_the_fuzzer_reaches_every_kind_of_answer(engine, app):
    """Guard against a harness that only ever produces 99998: the seeded sessions really work."""
    world = seed(engine)
    client = app.test_client()
    ids = snapshot(engine, world).ids
    ok = client.post("/api.php", data={"Command": "Campaigns.Get", "SessionID": world.user_session}).get_json()
    assert ok["Success"] is True and len(ok["Campaigns"]) == 1
    with engine.uow() as uow:
        own = uow.session.scalar(select(Campaign.id).where(Campaign.owner_user_id == world.user_id))
        foreign = uow.session.scalar(select(Campaign.id).where(Campaign.owner_user_id == world.other_id))
        assert uow.session.scalar(select(Tag.id).where(Tag.owner_user_id == world.user_id)) in ids
    assert {own, foreign} <= set(ids)
    admin = client.post("/api.php", data={"Command": "Admin.Logout", "SessionID": world.admin_session}).get_json()
    assert admin["Success"] is True


# --- the request limits: long lists, large bodies, deep nesting -------------------------------------------
def takes_list(field) -> bool:
    """Whether a parameter is read as a list (its type splits comma lists and arrays)."""
    return isinstance(field, LegacyField) and "_list_items" in inspect.getsource(type(field)._deserialize)


def list_names(command) -> list[str]:
    if command.params is None:
        return []
    return sorted(attr for attr, f in command.params().fields.items() if takes_list(f) and attr.lower() not in RESERVED)


LIST_COMMANDS = sorted(name for name, command in COMMANDS.items() if list_names(command))


def test_oversized_inputs_are_answered_in_time_with_a_documented_code(engine, app, backend):
    client = app.test_client()
    state = {"world": seed(engine)}
    state["snapshot"] = snapshot(engine, state["world"])

    examples = int(FORCED_EXAMPLES) if FORCED_EXAMPLES else LIMIT_EXAMPLES[backend]

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(name=st.one_of(st.sampled_from(LIST_COMMANDS), st.sampled_from(sorted(COMMANDS))),
           big=st.sampled_from(OVERSIZED), encoding=st.sampled_from(["form", "json"]), data=st.data())
    def run(name, big, encoding, data):
        command = COMMANDS[name]
        target = data.draw(st.sampled_from(list_names(command) or wire_names(command) or ["Anything"]))
        world, before = state["world"], state["snapshot"]
        params = {target: resolve(big, before.ids)}
        session = world.admin_session if command.auth == ADMIN else world.user_session
        response, elapsed = send(client, command, session, params, encoding)
        after = snapshot(engine, world)
        if check(command, encoding, params, response, before, after, command.auth != ADMIN, elapsed) \
                and after.digest != before.digest:
            world = state["world"] = seed(engine)
            after = snapshot(engine, world)
        state["snapshot"] = after

    run()


def test_every_list_parameter_is_reached_by_the_oversized_inputs():
    """Guard against a detection that finds nothing: the fuzz above would then miss every list."""
    assert {"subscriber.subscribe", "subscribers.delete", "campaigns.delete", "campaign.update"} <= set(LIST_COMMANDS)
