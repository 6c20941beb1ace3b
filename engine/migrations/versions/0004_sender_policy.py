"""user groups: AllowedSenderDomains (the From domains a group's accounts may send as)

Revision ID: 0004_sender_policy
Revises: 0003_approval
"""
from alembic import op
import sqlalchemy as sa

from engine.migrate import batch_keeping_ids

revision = "0004_sender_policy"
down_revision = "0003_approval"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing groups get "" (no domain beyond verified sender emails): the safe default of the From policy.
    with op.batch_alter_table("user_groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allowed_sender_domains", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with batch_keeping_ids("user_groups") as batch_op:
        batch_op.drop_column("allowed_sender_domains")
