"""monotonic ids on SQLite, and the nonce public links carry

Revision ID: 0002_monotonic_ids
Revises: 0001
Create Date: 2026-11-24

* SQLite: every table with an integer surrogate key is rebuilt with AUTOINCREMENT (engine/db.py
  never_reuse_ids), rows kept, and its counter starts above the highest id in use, so a deleted row's
  id is never handed out again. PostgreSQL sequences and MariaDB's InnoDB counters (persistent across
  restarts since 10.2.4) already never go back: nothing to do there.
* campaigns, subscribers and email_subscriptions get `public_nonce` (random, filled here for the rows
  that exist) and `legacy_links` (true for those rows only: links signed before nonces still open
  them; engine/models/link_targets.py).

Run through engine.migrate.upgrade, which turns SQLite's foreign keys off around it: rebuilding a
parent table with them on would cascade-delete its children.
"""
from alembic import op
import sqlalchemy as sa

revision = '0002_monotonic_ids'
down_revision = '0001'
branch_labels = None
depends_on = None

# The tables with an integer surrogate key at this revision (frozen: later tables are created with
# AUTOINCREMENT by their own revision).
SURROGATE_KEY_TABLES = (
    "admins", "user_groups", "users", "api_keys", "auth_sessions", "email_subscriptions", "emails",
    "outbox_events", "sender_emails", "tags", "test_sends", "webhook_endpoints", "campaigns",
    "subscriber_lists", "webhook_deliveries", "webhook_event_types", "campaign_recipients", "custom_fields",
    "segments", "send_instances", "subscribers", "suppressions", "deliveries", "subscriber_activity",
)
LINK_TARGETS = ("campaigns", "subscribers", "email_subscriptions")
# Ids that outlive their row: the ledger keeps a deleted subscriber's id (no foreign key). SQLite's counter
# starts above them too, so a subscriber deleted before this upgrade does not come back as someone else.
OUTLIVING_IDS = {"subscribers": (("deliveries", "subscriber_id"),)}
# 8 random hex digits, per row, in each dialect's own SQL (the value needs to differ between rows that
# could share an id, not to be secret: the links are signed).
RANDOM_NONCE = {
    "sqlite": "lower(hex(randomblob(4)))",
    "postgresql": "substr(md5(random()::text || clock_timestamp()::text), 1, 8)",
    "mysql": "substr(md5(concat(rand(), uuid())), 1, 8)",
    "mariadb": "substr(md5(concat(rand(), uuid())), 1, 8)",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in LINK_TARGETS:
        op.add_column(table, sa.Column('public_nonce', sa.String(length=8), nullable=True))
        op.add_column(table, sa.Column('legacy_links', sa.Boolean(), nullable=True))
        # Table names and expressions are this module's constants; nothing here comes from input.
        op.execute(sa.text(f"UPDATE {table} SET public_nonce = {RANDOM_NONCE[dialect]}, legacy_links = :yes")
                   .bindparams(yes=True))
    rebuilt = SURROGATE_KEY_TABLES if dialect == "sqlite" else LINK_TARGETS
    for table in rebuilt:
        with op.batch_alter_table(table, recreate="always" if dialect == "sqlite" else "auto",
                                  table_kwargs={"sqlite_autoincrement": True}) as batch_op:
            if table in LINK_TARGETS:
                batch_op.alter_column('public_nonce', existing_type=sa.String(length=8), nullable=False)
                batch_op.alter_column('legacy_links', existing_type=sa.Boolean(), nullable=False)
    if dialect == "sqlite":
        for table in SURROGATE_KEY_TABLES:
            _start_counter_above_ids_in_use(table)


def _start_counter_above_ids_in_use(table: str) -> None:
    """The copy into the rebuilt table already moved its counter to the highest id copied; this also
    covers the ids that outlive their rows, and says so rather than relying on it."""
    highest = " UNION ALL ".join([f"SELECT max(id) AS n FROM {table}"] + [
        f"SELECT max({column}) FROM {other}" for other, column in OUTLIVING_IDS.get(table, ())])
    floor = op.get_bind().execute(sa.text(f"SELECT coalesce(max(n), 0) FROM ({highest})")).scalar()
    op.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t AND seq < :floor").bindparams(
        t=table, floor=floor))
    op.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) SELECT :t, :floor WHERE :floor > 0 AND NOT "
                       "EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = :t)").bindparams(t=table, floor=floor))


def downgrade() -> None:
    # The nonces go; on SQLite the ids stay monotonic (a downgrade must not bring id reuse back).
    dialect = op.get_bind().dialect.name
    for table in LINK_TARGETS:
        with op.batch_alter_table(table, recreate="always" if dialect == "sqlite" else "auto",
                                  table_kwargs={"sqlite_autoincrement": True}) as batch_op:
            batch_op.drop_column('legacy_links')
            batch_op.drop_column('public_nonce')
