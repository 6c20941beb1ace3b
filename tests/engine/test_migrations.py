"""Upgrading keeps the data: a database as the first release left it, rows in every table, upgraded to head.

The database is built at revision START with Alembic, filled through its own reflected tables (so the
fill stays valid whatever the models become), upgraded to head, and read back: every row and every
column START had is unchanged, the foreign keys are the same and still act, and the columns added since
are filled. It always starts from the first revision, so every later revision runs in it too; one that
changes stored values on purpose must say here which. On each of SQLite, PostgreSQL and MariaDB.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Boolean, MetaData, delete, func, inspect, select
from sqlalchemy.dialects.mysql import TINYINT
from sqlalchemy.exc import IntegrityError

import engine.models  # noqa: F401 - registers every table
from engine import bootstrap
from engine.config import Settings
from engine.db import Base, surrogate_key
from engine.migrate import upgrade
from engine.models.link_targets import LinkTarget
from engine.tracking.tokens import Kind
from tests.conftest import FakeClock
from tests.helpers import legacy_token
from tests.unit.test_schema import differences, scratch_db  # noqa: F401 - the fixture

START = "0001"
T0 = datetime(2026, 1, 2, 3, 4, 5)
LINK_TARGET_TABLES = sorted(mapper.local_table.name for mapper in Base.registry.mappers
                            if issubclass(mapper.class_, LinkTarget))


class Filler:
    """Inserts rows into the START schema: the given values, and for every other column a value of its
    type that differs from row to row (foreign keys and CHECKed columns must be given)."""

    def __init__(self, conn, tables: MetaData):
        self.conn, self.tables, self.n = conn, tables, 0

    def __call__(self, name: str, **given):
        table = self.tables.tables[name]
        self.n += 1
        values = dict(given)
        for column in table.columns:
            if column.name in values or (column.primary_key and surrogate_key(table)):
                continue
            if column.foreign_keys:
                assert column.nullable, f"{name}.{column.name} is a foreign key: give it"
                values[column.name] = None
            else:
                values[column.name] = self.value(column)
        result = self.conn.execute(table.insert().values(**values))
        return result.inserted_primary_key[0] if surrogate_key(table) else None

    def value(self, column):
        n, kind = self.n, column.type
        if isinstance(kind, Boolean) or (isinstance(kind, TINYINT) and kind.display_width == 1):
            return n % 2 == 1
        python = kind.python_type
        if python is str:
            return f"{column.name[:6]}-{n}"[:getattr(kind, "length", None) or 64]
        if python is datetime:
            return T0 + timedelta(minutes=n, microseconds=n)
        if python is date:
            return date(2026, 1, 1 + n % 28)
        if python is Decimal:
            return Decimal(n)
        return n


def fill(conn, tables: MetaData) -> dict:
    """Representative rows of every table: two accounts, lists, subscribers, a sent campaign and its ledger…"""
    row = Filler(conn, tables)
    group = row("user_groups")
    users = [row("users", group_id=group, account_status="Enabled", reputation_level="Trusted") for _ in "ab"]
    admin = row("admins")
    row("api_keys", user_id=users[0])
    row("auth_sessions", admin_id=admin)
    row("email_marketing_accounts", user_id=users[0], status="ACTIVE")
    row("sender_details", user_id=users[0])
    row("sender_emails", owner_user_id=users[0])
    email = row("emails", owner_user_id=users[0], mode="Editor")
    lists = [row("subscriber_lists", owner_user_id=user, opt_in_mode="Double", opt_out_scope="This list",
                 opt_in_confirmation_email_id=email if user == users[0] else None) for user in users]
    row("subscriber_lists", owner_user_id=users[0], opt_in_mode="Single", opt_out_scope="All lists",
        opt_out_subscribe_to_list_id=lists[0])
    field = row("custom_fields", owner_user_id=users[0], list_id=lists[0])
    subscribers = [row("subscribers", list_id=lists[0], subscription_status=status, bounce_type="Not Bounced")
                   for status in ("Subscribed", "Unsubscribed", "Opt-In Pending")]
    row("subscriber_field_values", subscriber_id=subscribers[0], field_id=field)
    row("segments", list_id=lists[0], owner_user_id=users[0])
    row("suppressions", owner_user_id=users[0], list_id=lists[0], source="User")
    campaign = row("campaigns", owner_user_id=users[0], email_id=email, status="Sent", schedule_type="Immediate")
    row("campaigns", owner_user_id=users[1], status="Draft", schedule_type="Not Scheduled")
    row("campaign_tags", campaign_id=campaign, tag_id=row("tags", owner_user_id=users[0]))
    row("campaign_recipients", campaign_id=campaign, list_id=lists[0])
    instance = row("send_instances", campaign_id=campaign, state="done")
    for subscriber in subscribers:
        row("deliveries", instance_id=instance, subscriber_id=subscriber, state="sent")
    row("subscriber_activity", subscriber_id=subscribers[0], campaign_id=campaign, kind="open")
    row("email_subscriptions", owner_user_id=users[0], subscription_status="SUBSCRIBED",
        deliverability_status="VALID")
    endpoint = row("webhook_endpoints", owner_user_id=users[0])
    row("webhook_event_types", endpoint_id=endpoint)
    row("webhook_deliveries", event_id=row("outbox_events", owner_user_id=users[0]), endpoint_id=endpoint,
        state="delivered")
    row("test_sends", owner_user_id=users[0])
    for name in ("scheduler_leases", "throttle_states", "rate_limit_counters"):
        row(name)
    # The newest subscriber, deleted: the ledger keeps its id, which must never come back.
    gone = row("subscribers", list_id=lists[1], subscription_status="Subscribed", bounce_type="Not Bounced")
    row("deliveries", instance_id=instance, subscriber_id=gone, state="sent")
    conn.execute(delete(tables.tables["subscribers"]).where(tables.tables["subscribers"].c.id == gone))
    return {"users": users, "lists": lists, "subscribers": subscribers, "campaign": campaign,
            "instance": instance, "gone": gone}


# Foreign keys that revisions after the first add to tables the first revision has.
FOREIGN_KEYS_ADDED = {
    "webhook_endpoints": {("fk_webhook_endpoints_list_id_subscriber_lists", ("list_id",), "subscriber_lists", ("id",),
                           "CASCADE")},   # 0018_wrapper_commands: list integrations
}


def snapshot(db, tables: MetaData) -> dict[str, list[tuple]]:
    with db.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(select(*table.columns).order_by(*table.primary_key.columns))]
                for name, table in tables.tables.items() if name != "alembic_version"}


def foreign_keys(db, names) -> dict[str, set]:
    inspector = inspect(db)
    return {name: {(fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                    tuple(fk["referred_columns"]), (fk.get("options") or {}).get("ondelete"))
                   for fk in inspector.get_foreign_keys(name)} for name in names}


@pytest.fixture
def at_start(scratch_db):  # noqa: F811 - the imported fixture
    """The scratch database at START, filled: (db, START's tables, the ids of the rows, the snapshot)."""
    upgrade(scratch_db, START)
    tables = MetaData()
    tables.reflect(scratch_db)
    with scratch_db.begin() as conn:
        ids = fill(conn, tables)
    return scratch_db, tables, ids, snapshot(scratch_db, tables)


def test_upgrading_from_the_first_revision_keeps_every_row_and_fills_the_new_columns(at_start):
    db, tables, ids, before = at_start
    assert all(before.values()), [name for name, rows in before.items() if not rows]   # every table has rows
    references = foreign_keys(db, before)

    upgrade(db)

    assert snapshot(db, tables) == before
    # 0017_tick_scale drops the ledger's key to its instance on purpose (engine/campaigns/ledgers.py);
    # every other old reference is kept, and the added ones are the expected ones.
    dropped = ("fk_deliveries_instance_id_send_instances", ("instance_id",), "send_instances", ("id",), "CASCADE")
    assert dropped in references["deliveries"]
    references["deliveries"].remove(dropped)
    after = foreign_keys(db, before)
    assert all(references[name] <= after[name] for name in references)   # every old reference is kept
    assert {name: after[name] - references[name] for name in after if after[name] - references[name]} == \
        FOREIGN_KEYS_ADDED
    assert differences(db) == []
    with db.connect() as conn:
        for name in LINK_TARGET_TABLES:
            table = Base.metadata.tables[name]
            rows = conn.execute(select(table.c.public_nonce, table.c.legacy_links)).all()
            assert len({nonce for nonce, _ in rows}) == len(rows) == len(before[name])
            assert all(re.fullmatch(r"[0-9a-f]{8}", nonce) and legacy for nonce, legacy in rows), rows


def test_after_the_upgrade_ids_only_go_up_and_foreign_keys_still_cascade(at_start):
    db, _tables, ids, _before = at_start
    upgrade(db)
    subscribers = Base.metadata.tables["subscribers"]

    def add_subscriber(n: int) -> int:
        with db.begin() as conn:
            return conn.execute(subscribers.insert().values(
                list_id=ids["lists"][1], email_address=f"new{n}@example.com",
                email_normalized=f"new{n}@example.com")).inserted_primary_key[0]

    first = add_subscriber(1)
    assert first > ids["gone"]       # not even the id of a subscriber deleted before the upgrade
    with db.begin() as conn:
        conn.execute(delete(subscribers).where(subscribers.c.id == first))
    assert add_subscriber(2) > first
    if db.dialect.name == "sqlite":
        with db.connect() as conn:
            ddl = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
        keyed = [t.name for t in Base.metadata.sorted_tables if surrogate_key(t)]
        assert [name for name in keyed if "AUTOINCREMENT" not in ddl[name]] == []
    # The rebuilt tables still cascade (SQLite's foreign keys are back on); the ledger, which has no key to its
    # instance since 0017_tick_scale, is deleted by the engine's user deletion itself.
    sendmill = bootstrap(Settings(database_url=str(db.url), secret_key="test-secret",
                                  base_url="http://sendmill.test"), db=db, clock=FakeClock())
    with sendmill.uow() as uow:
        uow.accounts.delete_users([ids["users"][0]])
        uow.commit()
    with db.connect() as conn:
        left = conn.execute(select(subscribers.c.list_id, func.count()).group_by(subscribers.c.list_id)).all()
        assert left == [(ids["lists"][1], 1)]
        assert conn.execute(select(func.count()).select_from(Base.metadata.tables["deliveries"])).scalar() == 0


def test_links_mailed_before_the_upgrade_still_open_the_rows_they_were_made_for(at_start, _shared_app):
    """Version 1 links (no nonce) of rows the upgrade found keep working; new links of those rows carry
    their nonce; a version 1 link never opens a row made after the upgrade."""
    from protocol.app import create_app, use_engine

    db, _tables, ids, _before = at_start
    upgrade(db)
    sendmill = bootstrap(Settings(database_url=str(db.url), secret_key="test-secret",
                                  base_url="http://sendmill.test"), db=db, clock=FakeClock())
    if "app" not in _shared_app:
        _shared_app["app"] = create_app(sendmill)
    app = _shared_app["app"]
    use_engine(app, sendmill)
    client, signer = app.test_client(), sendmill.settings.signer()
    alice, instance = ids["subscribers"][0], ids["instance"]
    old = "/t/u/" + legacy_token(signer, Kind.UNSUBSCRIBE, instance_id=instance, subscriber_id=alice)
    with db.connect() as conn:
        campaigns = Base.metadata.tables["campaigns"]
        nonce = conn.execute(select(campaigns.c.public_nonce).where(campaigns.c.id == ids["campaign"])).scalar()
    new = signer.url("", Kind.UNSUBSCRIBE, instance_id=instance, subscriber_id=alice, nonce=nonce)

    assert client.get(old).status_code == 200 and client.get(new).status_code == 200
    subscribers = Base.metadata.tables["subscribers"]
    with db.begin() as conn:   # a subscriber made after the upgrade, on the same list as alice
        newcomer = conn.execute(subscribers.insert().values(
            list_id=ids["lists"][0], email_address="new@example.com",
            email_normalized="new@example.com")).inserted_primary_key[0]
    stale = "/t/u/" + legacy_token(signer, Kind.UNSUBSCRIBE, instance_id=instance, subscriber_id=newcomer)
    assert client.get(stale).status_code == 404


def test_a_later_revision_that_rebuilds_a_table_keeps_its_counter(at_start):
    """A revision after 0002 that must rebuild a table on SQLite (0003 alters campaigns' columns) keeps
    AUTOINCREMENT and the counter: the id of a newest campaign deleted in between never comes back."""
    db, _tables, ids, _before = at_start
    upgrade(db, "0002_monotonic_ids")
    at_0002 = MetaData()
    at_0002.reflect(db, only=["campaigns"])
    campaigns = at_0002.tables["campaigns"]
    with db.begin() as conn:
        newest = Filler(conn, at_0002)("campaigns", owner_user_id=ids["users"][0], status="Draft",
                                       schedule_type="Not Scheduled")
        conn.execute(delete(campaigns).where(campaigns.c.id == newest))
    upgrade(db)
    at_head = MetaData()
    at_head.reflect(db, only=["campaigns"])
    with db.begin() as conn:
        after = Filler(conn, at_head)("campaigns", owner_user_id=ids["users"][0], status="Draft",
                                      schedule_type="Not Scheduled")
    assert after > newest


def test_0016_sets_the_list_trigger_flag_from_what_is_stored(scratch_db):  # noqa: F811
    """users.list_triggers is true exactly for accounts with an Enabled OnSubscription autoresponder or an
    Enabled ListSubscription / ListUnsubscription journey when the revision runs; journey_sends get 0 counters."""
    upgrade(scratch_db, "0014_console_indexes")
    tables = MetaData()
    tables.reflect(scratch_db)
    with scratch_db.begin() as conn:
        row = Filler(conn, tables)
        group = row("user_groups")
        users = [row("users", group_id=group, account_status="Enabled", reputation_level="Trusted") for _ in range(4)]
        lists = [row("subscriber_lists", owner_user_id=u, opt_in_mode="Single", opt_out_scope="This list")
                 for u in users]
        row("autoresponders", owner_user_id=users[0], list_id=lists[0], status="Enabled",
            trigger_type="OnSubscription", trigger_time_type="Immediately", repeat_status="Disabled", repeat_unit="")
        row("autoresponders", owner_user_id=users[1], list_id=lists[1], status="Disabled",
            trigger_type="OnSubscription", trigger_time_type="Immediately", repeat_status="Disabled", repeat_unit="")
        row("journeys", owner_user_id=users[2], status="Enabled", trigger="ListUnsubscription", run_criteria_operator="and")
        row("journeys", owner_user_id=users[3], status="Enabled", trigger="Tag", run_criteria_operator="and")
        send = row("journey_sends", state="sent")
    upgrade(scratch_db)
    with scratch_db.connect() as conn:
        flags = dict(conn.execute(select(Base.metadata.tables["users"].c.id,
                                         Base.metadata.tables["users"].c.list_triggers)).all())
        sends = Base.metadata.tables["journey_sends"]
        counters = conn.execute(select(sends.c.opens, sends.c.clicks, sends.c.bounced_at)
                                .where(sends.c.id == send)).one()
    assert [bool(flags[u]) for u in users] == [True, False, True, False]
    assert tuple(counters) == (0, 0, None)


def test_0020_keeps_every_enrollment_and_step_and_their_uniqueness(scratch_db):  # noqa: F811
    """0020 reorders the enrollments' unique key and makes the step log's (enrollment, action, step) its
    primary key (dropping its surrogate id): every row and every other column stays, and both keys still
    refuse a duplicate."""
    upgrade(scratch_db, "0019_page_commands")
    tables = MetaData()
    tables.reflect(scratch_db, only=["users", "user_groups", "journeys", "journey_enrollments", "journey_steps"])
    with scratch_db.begin() as conn:
        row = Filler(conn, tables)
        group = row("user_groups")
        user = row("users", group_id=group, account_status="Enabled", reputation_level="Trusted")
        journey = row("journeys", owner_user_id=user, status="Enabled", run_criteria_operator="and")
        enrollments = [row("journey_enrollments", journey_id=journey, state=state, subscriber_id=7, run_no=run)
                       for run, state in ((1, "completed"), (2, "active"))]
        for enrollment in enrollments:
            for seq in (0, 1):
                row("journey_steps", enrollment_id=enrollment, action_id=40 + seq, step_seq=seq)
    kept = ["enrollment_id", "journey_id", "action_id", "step_seq", "subscriber_id", "outcome", "created_at"]
    steps_before = snapshot_of(scratch_db, tables.tables["journey_steps"], kept)
    enrollments_before = snapshot_of(scratch_db, tables.tables["journey_enrollments"])
    upgrade(scratch_db)
    at_head = MetaData()
    at_head.reflect(scratch_db, only=["journey_enrollments", "journey_steps"])
    steps, journey_enrollments = (at_head.tables[name] for name in ("journey_steps", "journey_enrollments"))
    assert snapshot_of(scratch_db, steps, kept) == steps_before and len(steps_before) == 4
    assert snapshot_of(scratch_db, journey_enrollments) == enrollments_before
    assert "id" not in steps.c
    duplicate_step = dict(zip(kept, steps_before[0]))
    duplicate_run = {c: v for c, v in zip([c.name for c in journey_enrollments.columns], enrollments_before[1])
                     if c != "id"}
    for table, values in ((steps, duplicate_step), (journey_enrollments, duplicate_run)):
        with pytest.raises(IntegrityError), scratch_db.begin() as conn:
            conn.execute(table.insert().values(**values))
    assert snapshot_of(scratch_db, steps, kept) == steps_before
    assert snapshot_of(scratch_db, journey_enrollments) == enrollments_before


def snapshot_of(db, table, names: list[str] | None = None) -> list[tuple]:
    columns = [table.c[name] for name in names] if names else list(table.columns)
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*columns).order_by(*columns))]
