"""Room for sealed TOTP secrets (services.sealed): totp_secret VARCHAR(64) -> VARCHAR(255)

The secrets themselves are sealed by `kpi-app init-db` after the upgrade (it needs the
server's key, which a migration does not see).

Revision ID: a7c3e9b1d245
Revises: a7c4e2b9d153
Create Date: 2026-12-01 23:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9b1d245'
down_revision = 'a7c4e2b9d153'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account') as batch_op:
        batch_op.alter_column(
            'totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=255)
        )


def downgrade():
    with op.batch_alter_table('user_account') as batch_op:
        batch_op.alter_column(
            'totp_secret', existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
