"""Mark the published values of each assessment's latest snapshot (issue 20)

Pages and exports covering every city read the published values of the latest snapshots.
They found them through a semi-join to the latest snapshot of every assessment: 10,015
index probes per KPI at 1,000 cities x 10 years. ``is_latest`` and a partial index on
(code, data_point, year) find them directly; on PostgreSQL the index includes the columns
the KPI summaries read, so those are index-only scans. Rows of a snapshot a later republication
superseded are marked false here; publishing keeps the flag from then on.

Revision ID: b5d1e7a3c962
Revises: a7c3e9b1d245
Create Date: 2026-12-04 01:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5d1e7a3c962'
down_revision = 'a7c3e9b1d245'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('published_value', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('is_latest', sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    values = sa.table(
        'published_value', sa.column('is_latest', sa.Boolean), sa.column('snapshot_id', sa.Integer)
    )
    snapshots = sa.table('snapshot', sa.column('id', sa.Integer), sa.column('assessment_id', sa.Integer))
    latest = sa.select(sa.func.max(snapshots.c.id)).group_by(snapshots.c.assessment_id)
    op.execute(values.update().where(values.c.snapshot_id.not_in(latest)).values(is_latest=False))
    with op.batch_alter_table('published_value', schema=None) as batch_op:
        batch_op.create_index(
            'ix_published_value_latest_code',
            ['code', 'data_point', 'year'],
            unique=False,
            postgresql_include=['id', 'city_id', 'value', 'points', 'reported'],
            postgresql_where=sa.text('is_latest'),
            sqlite_where=sa.text('is_latest = 1'),
        )


def downgrade():
    with op.batch_alter_table('published_value', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_published_value_latest_code',
            postgresql_where=sa.text('is_latest'),
            sqlite_where=sa.text('is_latest = 1'),
        )
        batch_op.drop_column('is_latest')
