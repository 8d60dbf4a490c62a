"""ingest batches remember which process ran them, so a batch left running by a dead process can be
recognised and marked abandoned by the next run

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_batches') as batch:
        batch.add_column(sa.Column(
            'runner', sa.String(length=255),
            comment='host:pid of the process that opened the batch',
        ))
        batch.alter_column(
            'status', existing_type=sa.String(length=16), existing_nullable=False,
            comment='running, loaded, warned, failed, unchanged, abandoned',
            existing_comment='running, loaded, warned, failed, unchanged',
        )


def downgrade() -> None:
    with op.batch_alter_table('ingest_batches') as batch:
        batch.alter_column(
            'status', existing_type=sa.String(length=16), existing_nullable=False,
            comment='running, loaded, warned, failed, unchanged',
            existing_comment='running, loaded, warned, failed, unchanged, abandoned',
        )
        batch.drop_column('runner')
