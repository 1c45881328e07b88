"""drop the unused user_account.failed_logins and locked_until columns

Login throttling lives in the login_throttle table (per account and per address, see
services/users.py); these two columns of the initial schema were never read.

Revision ID: f1a2b3c4d5e6
Revises: e91d3a7c5b20
Create Date: 2026-12-01 19:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1a2b3c4d5e6'
down_revision = 'e91d3a7c5b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
