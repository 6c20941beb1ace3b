"""subscriber tags and autoresponders

Revision ID: 0006_autoresponders_tags
Revises: 0005_installation_secret

Subscriber tags per list and their assignments to subscriber rows (engine/models/subscriber_tags.py);
autoresponders and their send ledger (engine/models/automation.py). New tables only: no existing row
changes.
"""
from alembic import op
import sqlalchemy as sa
import engine.db

revision = "0006_autoresponders_tags"
down_revision = "0005_installation_secret"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subscriber_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('name_digest', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['subscriber_lists.id'], name=op.f('fk_subscriber_tags_list_id_subscriber_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_subscriber_tags_owner_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriber_tags')),
    sa.UniqueConstraint('list_id', 'name_digest', name=op.f('uq_subscriber_tags_list_id_name_digest')),
    sqlite_autoincrement=True,   # ids never reused (revision 0002)
    )
    with op.batch_alter_table('subscriber_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriber_tags_owner_user_id'), ['owner_user_id'], unique=False)

    op.create_table('autoresponders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('email_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('trigger_type', sa.String(length=40), nullable=False),
    sa.Column('trigger_value', sa.String(length=1000), nullable=False),
    sa.Column('trigger_value2', sa.String(length=255), nullable=False),
    sa.Column('trigger_time_type', sa.String(length=16), nullable=False),
    sa.Column('trigger_time', sa.Integer(), nullable=False),
    sa.Column('repeat_status', sa.String(length=8), nullable=True),
    sa.Column('repeat_count', sa.Integer(), nullable=False),
    sa.Column('repeat_interval', sa.Integer(), nullable=False),
    sa.Column('repeat_unit', sa.String(length=1), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('enabled_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('total_sent', sa.Integer(), nullable=False),
    sa.Column('total_delivered', sa.Integer(), nullable=False),
    sa.Column('total_failed', sa.Integer(), nullable=False),
    sa.Column('total_opens', sa.Integer(), nullable=False),
    sa.Column('unique_opens', sa.Integer(), nullable=False),
    sa.Column('total_clicks', sa.Integer(), nullable=False),
    sa.Column('unique_clicks', sa.Integer(), nullable=False),
    sa.Column('total_conversions', sa.Integer(), nullable=False),
    sa.Column('unique_conversions', sa.Integer(), nullable=False),
    sa.Column('total_forwards', sa.Integer(), nullable=False),
    sa.Column('unique_forwards', sa.Integer(), nullable=False),
    sa.Column('total_views_on_browser', sa.Integer(), nullable=False),
    sa.Column('unique_views_on_browser', sa.Integer(), nullable=False),
    sa.Column('total_unsubscriptions', sa.Integer(), nullable=False),
    sa.Column('total_hard_bounces', sa.Integer(), nullable=False),
    sa.Column('total_soft_bounces', sa.Integer(), nullable=False),
    sa.Column('total_revenue', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint("repeat_unit IN ('','H','D','W','M')", name=op.f('ck_autoresponders_repeat_unit')),
    sa.CheckConstraint("status IN ('Enabled','Disabled')", name=op.f('ck_autoresponders_status')),
    sa.CheckConstraint("trigger_time_type IN ('Immediately','Seconds later','Minutes later','Hours later','Days later','Weeks later','Months later')", name=op.f('ck_autoresponders_trigger_time_type')),
    sa.CheckConstraint("trigger_type IN ('OnSubscription','OnSubscriberLinkClick','OnSubscriberCampaignOpen','OnSubscriberCampaignConversion','OnSubscriberForwardToFriend','OnSubscriberDate')", name=op.f('ck_autoresponders_trigger_type')),
    sa.ForeignKeyConstraint(['email_id'], ['emails.id'], name=op.f('fk_autoresponders_email_id_emails'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['list_id'], ['subscriber_lists.id'], name=op.f('fk_autoresponders_list_id_subscriber_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_autoresponders_owner_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_autoresponders_segment_id_segments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_autoresponders')),
    sqlite_autoincrement=True,   # ids never reused (revision 0002)
    )
    with op.batch_alter_table('autoresponders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_autoresponders_email_id'), ['email_id'], unique=False)
        batch_op.create_index('ix_autoresponders_list_trigger_status', ['list_id', 'trigger_type', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_autoresponders_owner_user_id'), ['owner_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_autoresponders_segment_id'), ['segment_id'], unique=False)

    op.create_table('subscriber_tag_assignments',
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('tagged_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_subscriber_tag_assignments_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['subscriber_tags.id'], name=op.f('fk_subscriber_tag_assignments_tag_id_subscriber_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscriber_id', 'tag_id', name=op.f('pk_subscriber_tag_assignments'))
    )
    with op.batch_alter_table('subscriber_tag_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriber_tag_assignments_tag_id'), ['tag_id'], unique=False)

    op.create_table('autoresponder_sends',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('autoresponder_id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('email_address', sa.String(length=255), nullable=False),
    sa.Column('occurrence', sa.String(length=40), nullable=False),
    sa.Column('email_id', sa.Integer(), nullable=True),
    sa.Column('due_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('lease_until', engine.db.UTCDateTime(), nullable=True),
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('sent_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('opens', sa.Integer(), nullable=False),
    sa.Column('first_opened_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('clicks', sa.Integer(), nullable=False),
    sa.Column('first_clicked_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('unsubscribed_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('bounce_type', sa.String(length=8), nullable=False),
    sa.Column('bounced_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("bounce_type IN ('','Soft','Hard')", name=op.f('ck_autoresponder_sends_bounce_type')),
    sa.CheckConstraint("state IN ('pending','claimed','sent','failed','unknown','skipped')", name=op.f('ck_autoresponder_sends_state')),
    sa.ForeignKeyConstraint(['autoresponder_id'], ['autoresponders.id'], name=op.f('fk_autoresponder_sends_autoresponder_id_autoresponders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_autoresponder_sends')),
    sa.UniqueConstraint('autoresponder_id', 'subscriber_id', 'occurrence', name=op.f('uq_autoresponder_sends_autoresponder_id_subscriber_id_occurrence')),
    sqlite_autoincrement=True,   # ids never reused (revision 0002)
    )
    with op.batch_alter_table('autoresponder_sends', schema=None) as batch_op:
        batch_op.create_index('ix_autoresponder_sends_responder_due', ['autoresponder_id', 'due_at'], unique=False)
        batch_op.create_index('ix_autoresponder_sends_state_due', ['state', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('autoresponder_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_autoresponder_sends_state_due')
        batch_op.drop_index('ix_autoresponder_sends_responder_due')

    op.drop_table('autoresponder_sends')
    with op.batch_alter_table('subscriber_tag_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriber_tag_assignments_tag_id'))

    op.drop_table('subscriber_tag_assignments')
    with op.batch_alter_table('autoresponders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_autoresponders_segment_id'))
        batch_op.drop_index(batch_op.f('ix_autoresponders_owner_user_id'))
        batch_op.drop_index('ix_autoresponders_list_trigger_status')
        batch_op.drop_index(batch_op.f('ix_autoresponders_email_id'))

    op.drop_table('autoresponders')
    with op.batch_alter_table('subscriber_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriber_tags_owner_user_id'))

    op.drop_table('subscriber_tags')
