"""export_jobs: Subscribers.Export and Campaigns.Export jobs

Revision ID: 0011_exports
Revises: 0010_templates
"""
from alembic import op
import sqlalchemy as sa

import engine.db

revision = "0011_exports"
down_revision = "0010_templates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('export_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('module', sa.String(length=32), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=True),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('submitted_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('expires_at', engine.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("module IN ('SubscriberExport','CampaignExport')", name=op.f('ck_export_jobs_module')),
    sa.ForeignKeyConstraint(['list_id'], ['subscriber_lists.id'], name=op.f('fk_export_jobs_list_id_subscriber_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_export_jobs_owner_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs')),
    sqlite_autoincrement=True,   # ids never reused (revision 0002)
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_export_jobs_owner_list', ['owner_user_id', 'list_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_export_jobs_owner_list')
    op.drop_table('export_jobs')
