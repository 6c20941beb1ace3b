"""users: two-factor login (TOTP secret, enabled flag, last accepted time step)

Revision ID: 0007_account_recovery
Revises: 0006_autoresponders_tags

Existing users get no secret and two-factor login off: nothing changes for them until they set it up.
"""
from alembic import op
import sqlalchemy as sa

from engine.migrate import batch_keeping_ids

revision = "0007_account_recovery"
down_revision = "0006_autoresponders_tags"
branch_labels = None
depends_on = None

COLUMNS = (
    ("tfa_secret", sa.String(length=64), ""),
    ("tfa_enabled", sa.Boolean(), sa.false()),
    ("tfa_last_step", sa.BigInteger(), "0"),
)


def upgrade() -> None:
    # The server default fills the existing rows; the model keeps its defaults in Python, so it goes again.
    with op.batch_alter_table("users") as batch:
        for name, type_, default in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=False, server_default=default))
    with batch_keeping_ids("users") as batch:
        for name, type_, _ in COLUMNS:
            batch.alter_column(name, existing_type=type_, existing_nullable=False, server_default=None)


def downgrade() -> None:
    with batch_keeping_ids("users") as batch:
        for name, _, _ in reversed(COLUMNS):
            batch.drop_column(name)
