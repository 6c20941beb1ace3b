"""List integrations (webhook_endpoints.list_id) and public campaign archives (tags.public_nonce)

Revision ID: 0018_wrapper_commands
Revises: 0017_tick_scale

ListIntegration.AddURL registers a webhook endpoint scoped to one list (its subscription or unsubscription
events only). The column is nullable: every existing endpoint stays an ordinary webhook. Campaigns.Archive.GetURL
signs a tag's random nonce into its public archive link; existing tags get "" and a nonce with their first link.
"""
from alembic import op
import sqlalchemy as sa

revision = "0018_wrapper_commands"
down_revision = "0017_tick_scale"
branch_labels = None
depends_on = None

# A table SQLite rebuilds keeps AUTOINCREMENT: ids are never handed out twice (revision 0002).
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None, table_kwargs=NEVER_REUSE_IDS) as batch_op:
        batch_op.add_column(sa.Column("list_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_webhook_endpoints_list_id"), ["list_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_webhook_endpoints_list_id_subscriber_lists"), "subscriber_lists",
                                    ["list_id"], ["id"], ondelete="CASCADE")
    with op.batch_alter_table("tags", schema=None, table_kwargs=NEVER_REUSE_IDS) as batch_op:
        batch_op.add_column(sa.Column("public_nonce", sa.String(length=8), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("tags", schema=None, table_kwargs=NEVER_REUSE_IDS) as batch_op:
        batch_op.drop_column("public_nonce")
    with op.batch_alter_table("webhook_endpoints", schema=None, table_kwargs=NEVER_REUSE_IDS) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_webhook_endpoints_list_id_subscriber_lists"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_webhook_endpoints_list_id"))
        batch_op.drop_column("list_id")
