"""Runs, checkpoints, lifelong evaluations, agent proofs, attempts and reviews.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('status', sa.Enum('pending', 'running', 'done', 'failed', name='run_status', native_enum=False, length=32), nullable=False),
    sa.Column('config', sa.JSON(), nullable=True),
    sa.Column('versions', sa.JSON(), nullable=True),
    sa.Column('report_path', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('repo_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['repo_id'], ['repositories.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkpoints_run_id'), ['run_id'], unique=False)
    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=32), nullable=False),
    sa.Column('trained_index', sa.Integer(), nullable=False),
    sa.Column('trained_repo_id', sa.Integer(), nullable=True),
    sa.Column('eval_repo_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['eval_repo_id'], ['repositories.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trained_repo_id'], ['repositories.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'metric', 'trained_index', 'eval_repo_id')
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluations_run_id'), ['run_id'], unique=False)
    op.create_table('run_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('status', sa.Enum('pending', 'running', 'done', 'failed', name='step_status', native_enum=False, length=32), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'key')
    )
    with op.batch_alter_table('run_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_steps_run_id'), ['run_id'], unique=False)
    op.create_table('proofs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theorem_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('model', sa.String(length=255), nullable=True),
    sa.Column('tactics', sa.JSON(), nullable=False),
    sa.Column('states', sa.JSON(), nullable=False),
    sa.Column('env', sa.String(length=16), nullable=False),
    sa.Column('expansions', sa.Integer(), nullable=False),
    sa.Column('time_model', sa.Float(), nullable=False),
    sa.Column('time_lean', sa.Float(), nullable=False),
    sa.Column('time_search', sa.Float(), nullable=False),
    sa.Column('review_status', sa.Enum('new', 'accepted', 'rejected', 'needs_changes', name='review_status', native_enum=False, length=32), nullable=False),
    sa.Column('file_digest', sa.String(length=64), nullable=True),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['theorem_id'], ['theorems.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('proofs', schema=None) as batch_op:
        batch_op.create_index('ix_proofs_review_status', ['review_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_proofs_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proofs_theorem_id'), ['theorem_id'], unique=False)
    op.create_table('proof_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theorem_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('proof_id', sa.Integer(), nullable=True),
    sa.Column('model', sa.String(length=255), nullable=True),
    sa.Column('budget', sa.String(length=255), nullable=True),
    sa.Column('env', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('expansions', sa.Integer(), nullable=False),
    sa.Column('time_model', sa.Float(), nullable=False),
    sa.Column('time_lean', sa.Float(), nullable=False),
    sa.Column('time_search', sa.Float(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['proof_id'], ['proofs.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['theorem_id'], ['theorems.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('proof_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_key', ['theorem_id', 'model', 'budget'], unique=False)
        batch_op.create_index(batch_op.f('ix_proof_attempts_run_id'), ['run_id'], unique=False)
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proof_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('new', 'accepted', 'rejected', 'needs_changes', name='review_decision', native_enum=False, length=32), nullable=False),
    sa.Column('reviewer', sa.String(length=255), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['proof_id'], ['proofs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_proof_id'), ['proof_id'], unique=False)


def downgrade() -> None:
    op.drop_table('reviews')
    op.drop_table('proof_attempts')
    op.drop_table('proofs')
    op.drop_table('run_steps')
    op.drop_table('evaluations')
    op.drop_table('checkpoints')
    op.drop_table('runs')
