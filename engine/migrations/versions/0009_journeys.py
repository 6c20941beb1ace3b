"""journeys: journeys, their actions, enrollments, step log, SendEmail ledger and CSV export jobs

Revision ID: 0009_journeys
Revises: 0007_account_recovery

New tables only (engine/models/journeys.py): no existing row changes.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
import engine.db


revision = '0009_journeys'
down_revision = "0007_account_recovery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('journey_sends',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.BigInteger(), nullable=False),
    sa.Column('step_seq', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('email_address', sa.String(length=255), nullable=False),
    sa.Column('email_id', sa.Integer(), nullable=False),
    sa.Column('due_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('lease_until', engine.db.UTCDateTime(), nullable=True),
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('sent_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("state IN ('pending','claimed','sent','failed','unknown','skipped')", name=op.f('ck_journey_sends_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_sends')),
    sa.UniqueConstraint('enrollment_id', 'action_id', 'step_seq', name=op.f('uq_journey_sends_enrollment_id_action_id_step_seq')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('journey_sends', schema=None) as batch_op:
        batch_op.create_index('ix_journey_sends_action', ['action_id', 'created_at'], unique=False)
        batch_op.create_index('ix_journey_sends_state_due', ['state', 'due_at'], unique=False)

    op.create_table('journey_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('enrollment_id', sa.BigInteger(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('step_seq', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_steps')),
    sa.UniqueConstraint('enrollment_id', 'action_id', 'step_seq', name=op.f('uq_journey_steps_enrollment_id_action_id_step_seq')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('journey_steps', schema=None) as batch_op:
        batch_op.create_index('ix_journey_steps_action_at', ['action_id', 'created_at'], unique=False)
        batch_op.create_index('ix_journey_steps_journey_at', ['journey_id', 'created_at'], unique=False)

    op.create_table('journeys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('trigger_list_id', sa.Integer(), nullable=False),
    sa.Column('trigger_email_id', sa.Integer(), nullable=False),
    sa.Column('trigger_value', sa.String(length=255), nullable=False),
    sa.Column('trigger_parameters', sa.Text(), nullable=False),
    sa.Column('trigger_criteria', sa.Text(), nullable=False),
    sa.Column('run_criteria', sa.Text(), nullable=False),
    sa.Column('run_criteria_operator', sa.String(length=3), nullable=False),
    sa.Column('rate_limit_per_hour', sa.Integer(), nullable=False),
    sa.Column('rate_limit_per_day', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('enabled_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('last_pull_at', engine.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("run_criteria_operator IN ('and','or')", name=op.f('ck_journeys_run_criteria_operator')),
    sa.CheckConstraint("status IN ('Enabled','Disabled')", name=op.f('ck_journeys_status')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_journeys_owner_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journeys')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.create_index('ix_journeys_owner_trigger_status', ['owner_user_id', 'trigger', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_journeys_owner_user_id'), ['owner_user_id'], unique=False)

    op.create_table('journey_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('parent_action_id', sa.Integer(), nullable=False),
    sa.Column('branch', sa.String(length=8), nullable=False),
    sa.Column('order_no', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('next_action_id', sa.Integer(), nullable=False),
    sa.Column('true_action_id', sa.Integer(), nullable=False),
    sa.Column('false_action_id', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("branch IN ('','True','False','Yes','No')", name=op.f('ck_journey_actions_branch')),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_actions_journey_id_journeys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_actions')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('journey_actions', schema=None) as batch_op:
        batch_op.create_index('ix_journey_actions_journey_parent', ['journey_id', 'parent_action_id', 'branch', 'order_no'], unique=False)

    op.create_table('journey_enrollments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('run_no', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('current_action_id', sa.Integer(), nullable=False),
    sa.Column('due_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('step_seq', sa.Integer(), nullable=False),
    sa.Column('claim', sa.String(length=32), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', engine.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('active','completed','exited')", name=op.f('ck_journey_enrollments_state')),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_enrollments_journey_id_journeys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_enrollments')),
    sa.UniqueConstraint('journey_id', 'subscriber_id', 'run_no', name=op.f('uq_journey_enrollments_journey_id_subscriber_id_run_no')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('journey_enrollments', schema=None) as batch_op:
        batch_op.create_index('ix_journey_enrollments_action_due', ['current_action_id', 'state', 'due_at'], unique=False)
        batch_op.create_index('ix_journey_enrollments_claim', ['claim'], unique=False)
        batch_op.create_index('ix_journey_enrollments_journey_state', ['journey_id', 'state', 'created_at'], unique=False)
        batch_op.create_index('ix_journey_enrollments_subscriber', ['subscriber_id', 'state'], unique=False)

    op.create_table('journey_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('content', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('submitted_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('started_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('expires_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('download_size', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('Pending','Processing','Completed','Failed')", name=op.f('ck_journey_exports_status')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_journey_exports_owner_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_exports')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('journey_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journey_exports_owner_user_id'), ['owner_user_id'], unique=False)
        batch_op.create_index('ix_journey_exports_status', ['status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('journey_exports', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_exports_status')
        batch_op.drop_index(batch_op.f('ix_journey_exports_owner_user_id'))

    op.drop_table('journey_exports')

    with op.batch_alter_table('journey_enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_enrollments_subscriber')
        batch_op.drop_index('ix_journey_enrollments_journey_state')
        batch_op.drop_index('ix_journey_enrollments_claim')
        batch_op.drop_index('ix_journey_enrollments_action_due')

    op.drop_table('journey_enrollments')
    with op.batch_alter_table('journey_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_actions_journey_parent')

    op.drop_table('journey_actions')
    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journeys_owner_user_id'))
        batch_op.drop_index('ix_journeys_owner_trigger_status')

    op.drop_table('journeys')
    with op.batch_alter_table('journey_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_steps_journey_at')
        batch_op.drop_index('ix_journey_steps_action_at')

    op.drop_table('journey_steps')
    with op.batch_alter_table('journey_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_sends_state_due')
        batch_op.drop_index('ix_journey_sends_action')

    op.drop_table('journey_sends')
