"""a warned batch's sign-off (承認): the reviewer's answer, name, note and time, stored with the batch

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_batches') as batch:
        batch.add_column(sa.Column('sign_off', sa.String(length=16),
                                   comment="approved or rejected: a reviewer's answer to a warned batch"))
        batch.add_column(sa.Column('reviewer', sa.String(length=128)))
        batch.add_column(sa.Column('review_note', sa.Text()))
        batch.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table('ingest_batches') as batch:
        for column in ('reviewed_at', 'review_note', 'reviewer', 'sign_off'):
            batch.drop_column(column)
