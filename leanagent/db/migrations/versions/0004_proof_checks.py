"""Proofs record their whole-file re-check, the commit they were found on, and what upstream says.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('proofs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('check_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('checked_by', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('check_message', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('found_commit', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('upstream', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('proofs', schema=None) as batch_op:
        batch_op.drop_column('upstream')
        batch_op.drop_column('found_commit')
        batch_op.drop_column('check_message')
        batch_op.drop_column('checked_by')
        batch_op.drop_column('check_status')
