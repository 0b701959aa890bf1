"""Core tables: repositories, files, premises, theorems, tactic steps.

Revision ID: 0001
Revises: None
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('premises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('start_line', sa.Integer(), nullable=True),
    sa.Column('start_col', sa.Integer(), nullable=True),
    sa.Column('end_line', sa.Integer(), nullable=True),
    sa.Column('end_col', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('full_name', 'path')
    )
    op.create_table('repositories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('path', sa.Text(), nullable=True),
    sa.Column('commit', sa.String(length=64), nullable=True),
    sa.Column('lean_version', sa.String(length=64), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('curriculum_position', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('source_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('module', sa.Text(), nullable=True),
    sa.Column('imports', sa.JSON(), nullable=True),
    sa.Column('content', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('repo_id', 'path')
    )
    with op.batch_alter_table('source_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_files_repo_id'), ['repo_id'], unique=False)
    op.create_table('theorems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repo_id', sa.Integer(), nullable=False),
    sa.Column('file_path', sa.Text(), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('start_line', sa.Integer(), nullable=False),
    sa.Column('start_col', sa.Integer(), nullable=False),
    sa.Column('end_line', sa.Integer(), nullable=False),
    sa.Column('end_col', sa.Integer(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=True),
    sa.Column('proof_text', sa.Text(), nullable=True),
    sa.Column('num_steps', sa.Integer(), nullable=False),
    sa.Column('difficulty', sa.Float(), nullable=True),
    sa.Column('status', sa.Enum('proven', 'sorry', 'proved_by_agent', name='theorem_status', native_enum=False, length=32), nullable=False),
    sa.Column('sorry_mode', sa.String(length=16), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('commit', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('repo_id', 'file_path', 'full_name', 'start_line', 'start_col', name='uq_theorem_identity')
    )
    with op.batch_alter_table('theorems', schema=None) as batch_op:
        batch_op.create_index('ix_theorems_full_name', ['full_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_theorems_repo_id'), ['repo_id'], unique=False)
        batch_op.create_index('ix_theorems_status', ['status'], unique=False)
    op.create_table('tactic_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theorem_id', sa.Integer(), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('tactic', sa.Text(), nullable=False),
    sa.Column('annotated_tactic', sa.Text(), nullable=True),
    sa.Column('state_before', sa.Text(), nullable=False),
    sa.Column('state_after', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['theorem_id'], ['theorems.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('theorem_id', 'idx')
    )
    op.create_table('step_premises',
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('premise_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['premise_id'], ['premises.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['tactic_steps.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('step_id', 'position')
    )
    with op.batch_alter_table('step_premises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_step_premises_premise_id'), ['premise_id'], unique=False)


def downgrade() -> None:
    op.drop_table('step_premises')
    op.drop_table('tactic_steps')
    op.drop_table('theorems')
    op.drop_table('source_files')
    op.drop_table('repositories')
    op.drop_table('premises')
