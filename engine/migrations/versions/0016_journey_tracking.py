"""journey mail tracking counters; the account's list-trigger flag

Revision ID: 0016_journey_tracking
Revises: 0015_journey_speed

* journey_sends: opens, clicks, web views, opt-out, bounce and complaint of each journey message (the
  per-action statistics, engine/automation/journeys/stats.py). Existing rows: 0 / NULL (nothing was counted).
* users.list_triggers: whether the account has an Enabled autoresponder (OnSubscription) or journey
  (ListSubscription / ListUnsubscription) — set here from what is stored, so no trigger is skipped.
"""
from alembic import op
import sqlalchemy as sa

import engine.db
from engine.migrate import batch_keeping_ids

revision = "0016_journey_tracking"
down_revision = "0015_journey_speed"
branch_labels = None
depends_on = None

COUNTERS = ("opens", "clicks", "browser_views")
MOMENTS = ("first_opened_at", "first_clicked_at", "unsubscribed_at", "bounced_at", "complained_at")


def upgrade() -> None:
    with batch_keeping_ids("journey_sends") as batch_op:
        for name in COUNTERS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        for name in MOMENTS:
            batch_op.add_column(sa.Column(name, engine.db.UTCDateTime(), nullable=True))
    with batch_keeping_ids("users") as batch_op:
        batch_op.add_column(sa.Column("list_triggers", sa.Boolean(), nullable=False, server_default=sa.false()))
    users = sa.table("users", sa.column("id"), sa.column("list_triggers"))
    responders = sa.table("autoresponders", sa.column("owner_user_id"), sa.column("status"), sa.column("trigger_type"))
    journeys = sa.table("journeys", sa.column("owner_user_id"), sa.column("status"), sa.column("trigger"))
    op.execute(users.update().where(sa.or_(
        sa.exists().where(responders.c.owner_user_id == users.c.id, responders.c.status == "Enabled",
                          responders.c.trigger_type == "OnSubscription"),
        sa.exists().where(journeys.c.owner_user_id == users.c.id, journeys.c.status == "Enabled",
                          journeys.c.trigger.in_(("ListSubscription", "ListUnsubscription")))))
        .values(list_triggers=sa.true()))


def downgrade() -> None:
    with batch_keeping_ids("users") as batch_op:
        batch_op.drop_column("list_triggers")
    with batch_keeping_ids("journey_sends") as batch_op:
        for name in COUNTERS + MOMENTS:
            batch_op.drop_column(name)
