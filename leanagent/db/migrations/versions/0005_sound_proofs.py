"""Proofs record the statement they were found for and the axioms their theorem depends on.

`statement_digest`: the digest of the theorem's statement as the whole-file re-check found it in the
file by name (leanagent/lean/declarations.py); the patch and the review flags compare it with the
file as it is now. `axioms`: what `#print axioms` answered for the theorem after the file elaborated.

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('proofs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('statement_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('axioms', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('proofs', schema=None) as batch_op:
        batch_op.drop_column('axioms')
        batch_op.drop_column('statement_digest')
