"""s20: published values in bulk (one row per value of a snapshot, issue 20)

The rows of snapshots published before this revision are written by ``kpi-app init-db``
after the migrations (services.published_values.backfill: it needs the scoring engine for
the frozen % of target and band, which a migration should not import).

Revision ID: f3a9c1d27e64
Revises: f3a9c1d27e84
Create Date: 2026-12-01 19:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a9c1d27e64'
down_revision = 'f3a9c1d27e84'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('published_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('data_point', sa.String(length=40), nullable=False),
    sa.Column('item_order', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=80), nullable=True),
    sa.Column('data_year', sa.Integer(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('quality', sa.Integer(), nullable=True),
    sa.Column('reported', sa.Boolean(), nullable=False),
    sa.Column('not_reported_reason', sa.Text(), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=True),
    sa.Column('target', sa.Float(), nullable=True),
    sa.Column('direction', sa.String(length=20), nullable=True),
    sa.Column('percent_of_target', sa.Float(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_published_value_assessment_id_assessment')),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_published_value_city_id_city')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['snapshot.id'], name=op.f('fk_published_value_snapshot_id_snapshot')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_value')),
    sa.UniqueConstraint('snapshot_id', 'code', 'data_point', name=op.f('uq_published_value_snapshot_id'))
    )
    with op.batch_alter_table('published_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_published_value_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index('ix_published_value_city_year', ['city_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_value_snapshot_id'), ['snapshot_id'], unique=False)
        batch_op.create_index('ix_published_value_year_code', ['year', 'code'], unique=False)


def downgrade():
    with op.batch_alter_table('published_value', schema=None) as batch_op:
        batch_op.drop_index('ix_published_value_year_code')
        batch_op.drop_index(batch_op.f('ix_published_value_snapshot_id'))
        batch_op.drop_index('ix_published_value_city_year')
        batch_op.drop_index(batch_op.f('ix_published_value_assessment_id'))
    op.drop_table('published_value')
