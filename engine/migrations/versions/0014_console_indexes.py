"""Console speed: subscribers(list_id, lower(email_address), id) on SQLite and PostgreSQL

Revision ID: 0014_console_indexes
Revises: 0013_split_tests

The listing order of a list's subscribers (Subscribers.Get, the console) as an index, so a page of a
100,000-row list is an index walk rather than a sort of the whole list. MariaDB has no expression
indexes: nothing changes there. Only an index: no row changes.
"""
from alembic import op
import sqlalchemy as sa

revision = "0014_console_indexes"
down_revision = "0013_split_tests"
branch_labels = None
depends_on = None

INDEXED = ("sqlite", "postgresql")


def upgrade() -> None:
    if op.get_bind().dialect.name in INDEXED:
        op.create_index("ix_subscribers_list_email_lower", "subscribers",
                        ["list_id", sa.text("lower(email_address)"), "id"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name in INDEXED:
        op.drop_index("ix_subscribers_list_email_lower", table_name="subscribers")
