"""benchmark sets imported by coordinators (h2, issue 13)

Frozen publication data needs no column: it lives in ``snapshot.content["frozen"]``, which
the content hash covers. Snapshots published before it are frozen by
``kpi-app freeze-snapshots`` (docs/scoring.md, "Frozen publications and benchmark sets").

Revision ID: b7c2d4e8f901
Revises: 2a8f31756570
Create Date: 2026-12-01 15:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c2d4e8f901'
down_revision = '2a8f31756570'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('benchmark_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.String(length=80), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('name', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source_file', sa.String(length=255), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['imported_by_id'], ['user_account.id'], name=op.f('fk_benchmark_set_imported_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_set')),
    sa.UniqueConstraint('set_id', 'version', name=op.f('uq_benchmark_set_set_id'))
    )
    with op.batch_alter_table('benchmark_set', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benchmark_set_set_id'), ['set_id'], unique=False)


def downgrade():
    with op.batch_alter_table('benchmark_set', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benchmark_set_set_id'))

    op.drop_table('benchmark_set')
