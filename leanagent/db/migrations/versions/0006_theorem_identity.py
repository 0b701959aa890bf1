"""Theorems know their copies in other repositories (`identity_id`), and proofs what their proposers read.

A theorem is its full name and normalised statement, whatever the repository: a LeanDojo trace
carries its dependencies' theorems, so one theorem can be stored under two repositories. Every copy
gets the same `identity_id` (leave-one-out hides them all) and the same split (leanagent/db/ingest.py).
Older rows are grouped here by full name and exact statement.

`proofs.source_splits`: the splits whose recorded steps the proposers could read when the proof was
found. Only proofs found from the train split alone become training data (db/proofs.py); older
proofs (NULL) do not, since nothing says what they saw.

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('theorems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_theorems_identity_id', ['identity_id'], unique=False)
    with op.batch_alter_table('proofs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_splits', sa.JSON(), nullable=True))
    op.execute("UPDATE theorems SET identity_id = (SELECT MIN(t2.id) FROM theorems t2 "
               "WHERE t2.full_name = theorems.full_name AND (t2.statement = theorems.statement "
               "OR (t2.statement IS NULL AND theorems.statement IS NULL)))")


def downgrade() -> None:
    with op.batch_alter_table('proofs', schema=None) as batch_op:
        batch_op.drop_column('source_splits')
    with op.batch_alter_table('theorems', schema=None) as batch_op:
        batch_op.drop_index('ix_theorems_identity_id')
        batch_op.drop_column('identity_id')
