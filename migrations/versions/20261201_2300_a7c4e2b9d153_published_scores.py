"""s20: published scores (one row per group score of a snapshot, issue 20)

The rows of snapshots published before this revision are written by ``kpi-app init-db``
after the migrations (services.published_scores.backfill: it needs the scoring engine,
which a migration should not import).

Revision ID: a7c4e2b9d153
Revises: f3a9c1d27e64
Create Date: 2026-12-01 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c4e2b9d153'
down_revision = 'f3a9c1d27e64'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('published_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('group_id', sa.String(length=40), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('band', sa.Integer(), nullable=True),
    sa.Column('band_label', sa.String(length=40), nullable=True),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('max_points', sa.Float(), nullable=True),
    sa.Column('scored_items', sa.Integer(), nullable=False),
    sa.Column('total_items', sa.Integer(), nullable=False),
    sa.Column('coverage', sa.Float(), nullable=True),
    sa.Column('coverage_core', sa.Float(), nullable=True),
    sa.Column('coverage_advanced', sa.Float(), nullable=True),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_published_score_assessment_id_assessment')),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_published_score_city_id_city')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['snapshot.id'], name=op.f('fk_published_score_snapshot_id_snapshot')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_score')),
    sa.UniqueConstraint('snapshot_id', 'level', 'group_id', name=op.f('uq_published_score_snapshot_id'))
    )
    with op.batch_alter_table('published_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_published_score_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index('ix_published_score_level_city', ['level', 'city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_score_snapshot_id'), ['snapshot_id'], unique=False)


def downgrade():
    with op.batch_alter_table('published_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_published_score_snapshot_id'))
        batch_op.drop_index('ix_published_score_level_city')
        batch_op.drop_index(batch_op.f('ix_published_score_assessment_id'))
    op.drop_table('published_score')
