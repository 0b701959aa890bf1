"""A stored split per theorem and a split policy per repository.

Revision ID: 0003
Revises: 0002

Before this revision every query recomputed the seeded hash split; now the
split is decided once, when a repository is stored (`hash`, the dataset's own
`dataset` membership, or `test` for an evaluation-only benchmark), and every
query reads it. Existing rows get exactly the hash split they had.
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('split_policy', sa.String(length=16), nullable=True))
    with op.batch_alter_table('theorems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('split', sa.String(length=8), nullable=True))
        batch_op.create_index('ix_theorems_split', ['split'], unique=False)
    # Backfill: the hash split every query computed before (same function, same default seed).
    from leanagent.db.splits import random_split

    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT t.id, r.name, t.file_path, t.full_name, t.start_line, t.start_col "
        "FROM theorems t JOIN repositories r ON r.id = t.repo_id")).all()
    params = [{"id": tid, "split": random_split((name, fp, fn, line, col))} for tid, name, fp, fn, line, col in rows]
    if params:
        conn.execute(sa.text("UPDATE theorems SET split = :split WHERE id = :id"), params)
    conn.execute(sa.text("UPDATE repositories SET split_policy = 'hash'"))


def downgrade() -> None:
    with op.batch_alter_table('theorems', schema=None) as batch_op:
        batch_op.drop_index('ix_theorems_split')
        batch_op.drop_column('split')
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.drop_column('split_policy')
