"""A/B testing: campaign variations, split tests, split-test decisions; deliveries.email_id

Revision ID: 0013_split_tests
Revises: 0012_import_jobs_reports

New tables, and one nullable column on the ledger (NULL = the campaign's own email, which is what
every existing row was sent with): no existing row changes.
"""
from alembic import op
import sqlalchemy as sa
import engine.db

revision = "0013_split_tests"
down_revision = "0012_import_jobs_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign_variations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('email_id', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('weight > 0', name=op.f('ck_campaign_variations_weight')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_variations_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['email_id'], ['emails.id'], name=op.f('fk_campaign_variations_email_id_emails'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_variations')),
    sa.UniqueConstraint('campaign_id', 'email_id', name=op.f('uq_campaign_variations_campaign_id_email_id')),
    sa.UniqueConstraint('campaign_id', 'position', name=op.f('uq_campaign_variations_campaign_id_position')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('campaign_variations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_variations_email_id'), ['email_id'], unique=False)

    op.create_table('split_tests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('test_size', sa.Integer(), nullable=False),
    sa.Column('test_duration', sa.Integer(), nullable=False),
    sa.Column('winner_criterion', sa.String(length=32), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("winner_criterion IN ('Highest Open Rate','Most Unique Clicks')", name=op.f('ck_split_tests_winner_criterion')),
    sa.CheckConstraint('test_size BETWEEN 1 AND 100', name=op.f('ck_split_tests_test_size')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_split_tests_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_split_tests')),
    sa.UniqueConstraint('campaign_id', name=op.f('uq_split_tests_campaign_id')),
    sqlite_autoincrement=True,
    )

    op.create_table('split_test_decisions',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('winner_criterion', sa.String(length=32), nullable=False),
    sa.Column('test_ends_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('winner_email_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', engine.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_split_test_decisions_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['instance_id'], ['send_instances.id'], name=op.f('fk_split_test_decisions_instance_id_send_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_split_test_decisions')),
    )
    with op.batch_alter_table('split_test_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_split_test_decisions_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_split_test_decisions_test_ends_at'), ['test_ends_at'], unique=False)

    # A plain ADD COLUMN (nullable, no default) on every backend: the ledger is not rebuilt.
    op.add_column('deliveries', sa.Column('email_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('email_id')
    op.drop_table('split_test_decisions')
    op.drop_table('split_tests')
    op.drop_table('campaign_variations')
