"""Name what each snapshot froze for scoring (issue 20)

Published scores read the latest snapshot of each assessment: at 1,000 cities its content
is 71 KB of JSON (4 ms to read and decode), of which scoring needs the values (also in
``published_value``) and a frozen context that nearly every snapshot shares.
``frozen_digest`` names that context, so scoring reads it once per process. The column
starts empty; ``kpi-app init-db`` fills it after the migrations (Python computes the
digest), and a snapshot without one is read whole, as before.

Revision ID: c8e2f4a6b1d7
Revises: b5d1e7a3c962
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c8e2f4a6b1d7'
down_revision = 'b5d1e7a3c962'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('snapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frozen_digest', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('snapshot', schema=None) as batch_op:
        batch_op.drop_column('frozen_digest')
