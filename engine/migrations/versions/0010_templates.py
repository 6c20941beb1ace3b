"""email templates: the gallery templates table, and a user email template's declared ContentType

Revision ID: 0010_templates
Revises: 0009_journeys

A new table (engine/models/templates.py) and one nullable column on emails: existing emails keep
NULL, which means their content type is derived from their content as before.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

import engine.db
from engine.migrate import batch_keeping_ids

revision = "0010_templates"
down_revision = "0009_journeys"
branch_labels = None
depends_on = None

LONG_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table('email_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('html_content', LONG_TEXT, nullable=False),
    sa.Column('plain_content', LONG_TEXT, nullable=False),
    sa.Column('thumbnail_path', sa.String(length=1000), nullable=False),
    sa.Column('access_type', sa.String(length=8), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("access_type IN ('Public','Private')", name=op.f('ck_email_templates_access_type')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_email_templates_owner_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_templates')),
    sqlite_autoincrement=True,   # ids never reused (revision 0002)
    )
    with op.batch_alter_table('email_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_templates_owner_user_id'), ['owner_user_id'], unique=False)
    # Nullable, no default: SQLite adds it without rebuilding the table, and old rows read as "derived".
    op.add_column('emails', sa.Column('content_type', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with batch_keeping_ids('emails') as batch_op:   # SQLite rebuilds the table: keep AUTOINCREMENT
        batch_op.drop_column('content_type')
    op.drop_table('email_templates')
