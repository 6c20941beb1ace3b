"""Journey runner speed: the runner's two indexes on journey_enrollments narrowed to what it reads

Revision ID: 0015_journey_speed
Revises: 0014_console_indexes

* ix_journey_enrollments_action_due becomes (current_action_id, due_at, id) on every database: the hot
  path's batches walk it in (due_at, id) order after a cursor; state leaves it (a run that is not active
  sits at action 0, which the runner never asks for), one column less to write per move;
* ix_journey_enrollments_claim becomes partial on claim IS NOT NULL on PostgreSQL and SQLite: a move of an
  unclaimed row (every move on PostgreSQL's hot path) writes no entry to it.
Only indexes: no row changes. Tokens the old hot path left on moved rows stay; they name no live batch.
"""
from alembic import op
import sqlalchemy as sa

revision = "0015_journey_speed"
down_revision = "0014_console_indexes"
branch_labels = None
depends_on = None

PARTIAL = ("sqlite", "postgresql")


def upgrade() -> None:
    op.drop_index("ix_journey_enrollments_action_due", table_name="journey_enrollments")
    op.create_index("ix_journey_enrollments_action_due", "journey_enrollments", ["current_action_id", "due_at", "id"])
    if op.get_bind().dialect.name in PARTIAL:
        op.drop_index("ix_journey_enrollments_claim", table_name="journey_enrollments")
        op.create_index("ix_journey_enrollments_claim", "journey_enrollments", ["claim"],
                        postgresql_where=sa.text("claim IS NOT NULL"), sqlite_where=sa.text("claim IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_journey_enrollments_action_due", table_name="journey_enrollments")
    op.create_index("ix_journey_enrollments_action_due", "journey_enrollments",
                    ["current_action_id", "state", "due_at"])
    if op.get_bind().dialect.name in PARTIAL:
        op.drop_index("ix_journey_enrollments_claim", table_name="journey_enrollments")
        op.create_index("ix_journey_enrollments_claim", "journey_enrollments", ["claim"])
