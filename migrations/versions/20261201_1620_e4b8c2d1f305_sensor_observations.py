"""sensor observations received from a context broker (h12, issue 17 item 7)

Revision ID: e4b8c2d1f305
Revises: c5e2f7a91d04
Create Date: 2026-12-01 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4b8c2d1f305'
down_revision = 'c5e2f7a91d04'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sensor_observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.String(length=255), nullable=False),
    sa.Column('entity_type', sa.String(length=64), nullable=False),
    sa.Column('station', sa.String(length=255), nullable=False),
    sa.Column('parameter', sa.String(length=20), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('subscription_id', sa.String(length=255), nullable=False),
    sa.Column('notification_id', sa.String(length=255), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_sensor_observation_city_id_city')),
    sa.ForeignKeyConstraint(['received_by_id'], ['user_account.id'], name=op.f('fk_sensor_observation_received_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensor_observation')),
    sa.UniqueConstraint('city_id', 'entity_id', 'parameter', 'observed_at', name=op.f('uq_sensor_observation_city_id'))
    )
    with op.batch_alter_table('sensor_observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sensor_observation_city_id'), ['city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sensor_observation_observed_at'), ['observed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('sensor_observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sensor_observation_observed_at'))
        batch_op.drop_index(batch_op.f('ix_sensor_observation_city_id'))

    op.drop_table('sensor_observation')
