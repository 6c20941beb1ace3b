"""The v5.9.4 pages' remaining commands: subscriber_lists.archived_at (List.Archive / List.Unarchive)

Revision ID: 0019_page_commands
Revises: 0018_wrapper_commands

One nullable column: every existing list stays active (NULL), no existing row changes.
"""
from alembic import op
import sqlalchemy as sa
import engine.db

revision = "0019_page_commands"
down_revision = "0018_wrapper_commands"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscriber_lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', engine.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscriber_lists', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
