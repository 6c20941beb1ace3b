"""Tick at scale: deliveries.instance_id loses its foreign key

Revision ID: 0017_tick_scale
Revises: 0016_journey_tracking

PostgreSQL checks a foreign key row by row; on the million-row ledger a tick writes in one INSERT … SELECT
that check was ~40% of the write (bench/tick.py). The ledger is written in the transaction that creates its
instance, and deleting campaigns or users deletes their ledgers first (engine/campaigns/ledgers.py), which
is what the key's ON DELETE CASCADE did. No row changes; the downgrade puts the key back (deleting the
ledger rows whose instance is gone first, which the key would have deleted).
"""
from alembic import op
import sqlalchemy as sa

revision = "0017_tick_scale"
down_revision = "0016_journey_tracking"
branch_labels = None
depends_on = None

KEY = "fk_deliveries_instance_id_send_instances"


def _batch():
    # SQLite alters a table by rebuilding it; deliveries keeps its AUTOINCREMENT (0002_monotonic_ids).
    sqlite = op.get_bind().dialect.name == "sqlite"
    return op.batch_alter_table("deliveries", recreate="always" if sqlite else "auto",
                                table_kwargs={"sqlite_autoincrement": True})


def upgrade() -> None:
    with _batch() as batch_op:
        batch_op.drop_constraint(KEY, type_="foreignkey")


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM deliveries WHERE NOT EXISTS "
                       "(SELECT 1 FROM send_instances WHERE send_instances.id = deliveries.instance_id)"))
    with _batch() as batch_op:
        batch_op.create_foreign_key(KEY, "send_instances", ["instance_id"], ["id"], ondelete="CASCADE")
