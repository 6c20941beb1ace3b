"""journey mail by subscriber: the index behind Decisions and segments on journey opens and clicks

Revision ID: 0027_journey_criteria
Revises: 0022_journey_reports

A Decision "opened / clicked / bounced … action A" (engine/audience/journey_rules.py) asks, for every
subscriber row of a batch, whether a message of A to it shows the event: (subscriber_id, action_id) answers
that with one index probe per row instead of a scan of all of A's messages.
"""
from alembic import op

revision = "0027_journey_criteria"
down_revision = "0022_journey_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_journey_sends_subscriber", "journey_sends", ["subscriber_id", "action_id"])


def downgrade() -> None:
    op.drop_index("ix_journey_sends_subscriber", table_name="journey_sends")
