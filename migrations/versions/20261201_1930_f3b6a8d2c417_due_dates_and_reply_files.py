"""h15: assessment due dates, due reminders, evidence files brought by query replies

Revision ID: f3b6a8d2c417
Revises: f1a2b3c4d5e6
Create Date: 2026-12-01 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3b6a8d2c417'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assessment_due_dates',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('entry_due', sa.Date(), nullable=True),
    sa.Column('verification_due', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_assessment_due_dates_assessment_id_assessment')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_assessment_due_dates_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('assessment_id', name=op.f('pk_assessment_due_dates'))
    )
    op.create_table('due_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_due_reminder_assessment_id_assessment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_due_reminder')),
    sa.UniqueConstraint('assessment_id', 'kind', 'due_date', name=op.f('uq_due_reminder_assessment_id'))
    )
    with op.batch_alter_table('due_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_due_reminder_assessment_id'), ['assessment_id'], unique=False)

    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('query_message_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_evidence_query_message_id'), ['query_message_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_evidence_query_message_id_query_message'), 'query_message', ['query_message_id'], ['id'])


def downgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_evidence_query_message_id_query_message'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_evidence_query_message_id'))
        batch_op.drop_column('query_message_id')

    with op.batch_alter_table('due_reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_due_reminder_assessment_id'))

    op.drop_table('due_reminder')
    op.drop_table('assessment_due_dates')
