"""l21: local KPIs (definitions, per-city policy, values, frozen copies at publication)

Revision ID: f3a9c1d27e84
Revises: f3b6a8d2c417
Create Date: 2026-12-01 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a9c1d27e84'
down_revision = 'f3b6a8d2c417'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('local_kpi',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('name', sa.JSON(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('unit', sa.String(length=80), nullable=False),
    sa.Column('value_type', sa.String(length=20), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('numerator', sa.Text(), nullable=True),
    sa.Column('denominator', sa.Text(), nullable=True),
    sa.Column('multiplier', sa.Float(), nullable=True),
    sa.Column('data_points', sa.JSON(), nullable=False),
    sa.Column('sdg_refs', sa.JSON(), nullable=False),
    sa.Column('benchmark_target', sa.Float(), nullable=True),
    sa.Column('benchmark_source', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_local_kpi_city_id_city')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_local_kpi_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_local_kpi')),
    sa.UniqueConstraint('city_id', 'code', name=op.f('uq_local_kpi_city_id'))
    )
    with op.batch_alter_table('local_kpi', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_local_kpi_city_id'), ['city_id'], unique=False)

    op.create_table('local_kpi_policy',
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('editors_may_define', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_local_kpi_policy_city_id_city')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_local_kpi_policy_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('city_id', name=op.f('pk_local_kpi_policy'))
    )

    op.create_table('local_kpi_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('local_kpi_id', sa.Integer(), nullable=False),
    sa.Column('data_point', sa.String(length=40), nullable=False),
    sa.Column('numerator', sa.Float(), nullable=True),
    sa.Column('denominator', sa.Float(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('reported', sa.Boolean(), nullable=False),
    sa.Column('not_reported_reason', sa.Text(), nullable=True),
    sa.Column('data_year', sa.Integer(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('source_url', sa.String(length=500), nullable=True),
    sa.Column('quality', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=True),
    sa.Column('verification_code', sa.String(length=40), nullable=True),
    sa.Column('verification_note', sa.Text(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_local_kpi_value_assessment_id_assessment')),
    sa.ForeignKeyConstraint(['local_kpi_id'], ['local_kpi.id'], name=op.f('fk_local_kpi_value_local_kpi_id_local_kpi')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_local_kpi_value_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_local_kpi_value')),
    sa.UniqueConstraint('assessment_id', 'local_kpi_id', 'data_point', name=op.f('uq_local_kpi_value_assessment_id'))
    )
    with op.batch_alter_table('local_kpi_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_local_kpi_value_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_local_kpi_value_local_kpi_id'), ['local_kpi_id'], unique=False)

    op.create_table('local_kpi_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_local_kpi_snapshot_assessment_id_assessment')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['snapshot.id'], name=op.f('fk_local_kpi_snapshot_snapshot_id_snapshot')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_local_kpi_snapshot')),
    sa.UniqueConstraint('snapshot_id', name=op.f('uq_local_kpi_snapshot_snapshot_id'))
    )
    with op.batch_alter_table('local_kpi_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_local_kpi_snapshot_assessment_id'), ['assessment_id'], unique=False)


def downgrade():
    with op.batch_alter_table('local_kpi_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_local_kpi_snapshot_assessment_id'))
    op.drop_table('local_kpi_snapshot')
    with op.batch_alter_table('local_kpi_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_local_kpi_value_local_kpi_id'))
        batch_op.drop_index(batch_op.f('ix_local_kpi_value_assessment_id'))
    op.drop_table('local_kpi_value')
    op.drop_table('local_kpi_policy')
    with op.batch_alter_table('local_kpi', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_local_kpi_city_id'))
    op.drop_table('local_kpi')
