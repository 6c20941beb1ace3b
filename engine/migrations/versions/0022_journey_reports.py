"""Journey reports: journey_sends.last_opened_at / last_clicked_at (the CSV export's LastOpenAt / LastClickAt)

Revision ID: 0022_journey_reports
Revises: 0020_journey_hot_moves

Two nullable columns: a message's latest tracked open and click, set by every open and click from now on
(engine/automation/journeys/tracking.py). Rows tracked before the upgrade keep NULL there; the export
reads their first_opened_at / first_clicked_at instead, the best the ledger knew. No existing row changes.
"""
from alembic import op
import sqlalchemy as sa
import engine.db

revision = "0022_journey_reports"
down_revision = "0020_journey_hot_moves"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('journey_sends', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_opened_at', engine.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_clicked_at', engine.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('journey_sends', schema=None) as batch_op:
        batch_op.drop_column('last_clicked_at')
        batch_op.drop_column('last_opened_at')
