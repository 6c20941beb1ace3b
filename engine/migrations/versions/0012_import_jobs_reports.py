"""background import jobs and automated reports

Revision ID: 0012_import_jobs_reports
Revises: 0011_exports

Subscribers.Import jobs with their stored upload (engine/models/imports.py); automated reports and the
ledger of the periods they mailed (engine/models/reports.py). New tables only: no existing row changes.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
import engine.db

revision = "0012_import_jobs_reports"
down_revision = "0011_exports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('header', sa.Text(), nullable=False),
    sa.Column('upload_bytes', sa.BigInteger(), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('watermark', sa.BigInteger(), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('lease_holder', sa.String(length=64), nullable=False),
    sa.Column('lease_until', engine.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', engine.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['subscriber_lists.id'], name=op.f('fk_import_jobs_list_id_subscriber_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_import_jobs_owner_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_jobs_owner_user_id'), ['owner_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_jobs_list_id'), ['list_id'], unique=False)
        batch_op.create_index('ix_import_jobs_status_id', ['status', 'id'], unique=False)

    op.create_table('import_upload_chunks',
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), 'mysql', 'mariadb'), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['import_jobs.id'], name=op.f('fk_import_upload_chunks_job_id_import_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'seq', name=op.f('pk_import_upload_chunks')),
    )

    op.create_table('automated_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('filter_type', sa.String(length=8), nullable=False),
    sa.Column('filter_tags', sa.Text(), nullable=False),
    sa.Column('recipient_emails', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_run_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('next_run_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_automated_reports_owner_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_automated_reports')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('automated_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_automated_reports_owner_user_id'), ['owner_user_id'], unique=False)
        batch_op.create_index('ix_automated_reports_status_next', ['status', 'next_run_at'], unique=False)

    op.create_table('automated_report_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['automated_reports.id'], name=op.f('fk_automated_report_runs_report_id_automated_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_automated_report_runs')),
    sa.UniqueConstraint('report_id', 'period_start', 'period_end', name=op.f('uq_automated_report_runs_report_id_period_start_period_end')),
    sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table('automated_report_runs')
    with op.batch_alter_table('automated_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_automated_reports_status_next')
        batch_op.drop_index(batch_op.f('ix_automated_reports_owner_user_id'))
    op.drop_table('automated_reports')
    op.drop_table('import_upload_chunks')
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_import_jobs_status_id')
        batch_op.drop_index(batch_op.f('ix_import_jobs_list_id'))
        batch_op.drop_index(batch_op.f('ix_import_jobs_owner_user_id'))
    op.drop_table('import_jobs')
