"""Proofs keep a polished variant, what maintainers measure, and the reviewer's pick (issue 28).

`proofs.polished_tactics`: the shorter proof polishing kept (leanagent/prover/polish.py), NULL when it
kept nothing or did not run. `proofs.polish`: what polishing did (variants tried and kept, seconds,
whether its budget ran out, or why it was skipped). `proofs.measures`: what the whole-file re-check
measured, per variant: {"found": M, "polished": M}, M = {seconds, file_median_seconds, heartbeats,
lines, warnings, max_heartbeats}. `proofs.variant`: the reviewer's pick, `found` or `polished`; NULL
means the polished one when there is one.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('proofs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('polished_tactics', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('polish', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('measures', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('variant', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('proofs', schema=None) as batch_op:
        batch_op.drop_column('variant')
        batch_op.drop_column('measures')
        batch_op.drop_column('polish')
        batch_op.drop_column('polished_tactics')
