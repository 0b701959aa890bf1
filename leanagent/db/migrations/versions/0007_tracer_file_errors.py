"""Repositories know which tracer produced their records; files that could not be traced keep why.

`repositories.tracer`: leandojo (a lean-dojo trace), repl (the Lean REPL tracer,
leanagent/sources/repl_trace.py), repl-sorries (sorry theorems confirmed by the REPL, no trace),
scan (the source scanner alone) or dataset (an imported LeanDojo-format dataset). Older rows of
imported datasets are marked `dataset`; the others stay NULL (not recorded).

`source_files.error`: the first error of a file the REPL tracer could not elaborate (or the REPL
died on); its other files are traced all the same.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracer', sa.String(length=16), nullable=True))
    with op.batch_alter_table('source_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
    op.execute("UPDATE repositories SET tracer = 'dataset' WHERE kind = 'traced'")


def downgrade() -> None:
    with op.batch_alter_table('source_files', schema=None) as batch_op:
        batch_op.drop_column('error')
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.drop_column('tracer')
