"""campaign approval fingerprints

Revision ID: 0003_approval
Revises: 0002_monotonic_ids

What an administrator approved of an Untrusted account's campaign (engine/approval.py). Existing rows
get "" (never approved): an Untrusted owner's campaign approved before this revision is asked for
approval once more when the tick would next start it, or when it is edited.
"""
from alembic import op
import sqlalchemy as sa

from engine.migrate import batch_keeping_ids

revision = "0003_approval"
down_revision = "0002_monotonic_ids"
branch_labels = None
depends_on = None

COLUMNS = ("approved_content", "approved_setup")


def upgrade() -> None:
    # The server default fills the existing rows; the models keep their defaults in Python, so it goes again.
    with op.batch_alter_table("campaigns") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=64), nullable=False, server_default=""))
    with batch_keeping_ids("campaigns") as batch:
        for name in COLUMNS:
            batch.alter_column(name, existing_type=sa.String(length=64), existing_nullable=False,
                               server_default=None)


def downgrade() -> None:
    with batch_keeping_ids("campaigns") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
