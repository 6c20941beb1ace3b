"""installation secrets: the link-signing key kept in the database

Revision ID: 0005_installation_secret
Revises: 0004_sender_policy
"""
from alembic import op
import sqlalchemy as sa
import engine.db

revision = "0005_installation_secret"
down_revision = "0004_sender_policy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `sendmill init-db` fills it after upgrading (imports the key file of earlier versions, or generates one).
    op.create_table(
        "installation_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_installation_secrets")),
    )


def downgrade() -> None:
    op.drop_table("installation_secrets")
