"""Journey runner speed (issue 16): fewer index entries written per enrollment moved and per step logged

Revision ID: 0020_journey_hot_moves
Revises: 0019_page_commands

A move of an enrollment changes its indexed position (current action, due time), so it writes a new entry
to every index of the row; a logged step writes one to every index of journey_steps. Both sets shrink:
* journey_enrollments: the unique (journey_id, subscriber_id, run_no) becomes (subscriber_id, journey_id,
  run_no) — the same rows are unique — and so also answers the lookups by subscriber, whose index
  ix_journey_enrollments_subscriber goes (5 index entries per move become 4). PostgreSQL: fillfactor 80, so
  a move writes the row's next version on the same page; it applies to pages written from now on (a VACUUM
  FULL or CLUSTER applies it to the existing ones, at the operator's convenience).
* journey_steps: the unique (enrollment_id, action_id, step_seq) becomes the primary key; the surrogate id
  (and its sequence / counter) goes; the two indexes (action_id, created_at) and (journey_id, created_at)
  become one, (journey_id, action_id, created_at) (4 index entries per step become 2).
No row changes: every step keeps its (enrollment, action, step), already unique, and only the id column of
the step log, which nothing reads, is dropped.
"""
from alembic import op
import sqlalchemy as sa
import engine.db

revision = "0020_journey_hot_moves"
down_revision = "0019_page_commands"
branch_labels = None
depends_on = None

STEP_KEY = ["enrollment_id", "action_id", "step_seq"]


def _recreate() -> str:
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    # New unique first: on MariaDB the journey_id foreign key keeps an index starting with it throughout.
    with op.batch_alter_table("journey_enrollments", recreate=_recreate(),
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.create_unique_constraint("uq_journey_enrollments_subscriber_id_journey_id_run_no",
                                          ["subscriber_id", "journey_id", "run_no"])
        batch_op.drop_constraint("uq_journey_enrollments_journey_id_subscriber_id_run_no", type_="unique")
        batch_op.drop_index("ix_journey_enrollments_subscriber")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE journey_enrollments SET (fillfactor = 80)")

    with op.batch_alter_table("journey_steps", recreate=_recreate()) as batch_op:
        batch_op.drop_index("ix_journey_steps_action_at")
        batch_op.drop_index("ix_journey_steps_journey_at")
        batch_op.drop_constraint("uq_journey_steps_enrollment_id_action_id_step_seq", type_="unique")
        batch_op.drop_column("id")
    with op.batch_alter_table("journey_steps", recreate=_recreate()) as batch_op:
        batch_op.create_primary_key("pk_journey_steps", STEP_KEY)
        batch_op.create_index("ix_journey_steps_journey_action_at", ["journey_id", "action_id", "created_at"])


def downgrade() -> None:
    # The step log gets its surrogate id back: a new table numbered in key order, the rows copied over.
    op.create_table(
        "journey_steps_old",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("enrollment_id", sa.BigInteger(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("step_seq", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("created_at", engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journey_steps_old"),
        sqlite_autoincrement=True)
    columns = "enrollment_id, journey_id, action_id, step_seq, subscriber_id, outcome, created_at"
    op.execute(f"INSERT INTO journey_steps_old ({columns}) SELECT {columns} FROM journey_steps "
               "ORDER BY created_at, enrollment_id, step_seq")
    op.drop_table("journey_steps")
    op.rename_table("journey_steps_old", "journey_steps")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE journey_steps RENAME CONSTRAINT pk_journey_steps_old TO pk_journey_steps")
    with op.batch_alter_table("journey_steps", recreate=_recreate(),
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.create_unique_constraint("uq_journey_steps_enrollment_id_action_id_step_seq", STEP_KEY)
        batch_op.create_index("ix_journey_steps_action_at", ["action_id", "created_at"])
        batch_op.create_index("ix_journey_steps_journey_at", ["journey_id", "created_at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE journey_enrollments RESET (fillfactor)")
    with op.batch_alter_table("journey_enrollments", recreate=_recreate(),
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.create_index("ix_journey_enrollments_subscriber", ["subscriber_id", "state"])
        batch_op.create_unique_constraint("uq_journey_enrollments_journey_id_subscriber_id_run_no",
                                          ["journey_id", "subscriber_id", "run_no"])
        batch_op.drop_constraint("uq_journey_enrollments_subscriber_id_journey_id_run_no", type_="unique")
