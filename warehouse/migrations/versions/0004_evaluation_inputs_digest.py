"""evaluation runs remember a digest of their inputs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evaluation_runs') as batch:
        batch.add_column(sa.Column(
            'inputs_digest', sa.String(length=64),
            comment='sha256 of what the run read (targets, actuals, units, rules); an equal digest means nothing changed',
        ))
        batch.create_index('ix_evaluation_runs_reuse', ['fiscal_year', 'inputs_digest'])


def downgrade() -> None:
    with op.batch_alter_table('evaluation_runs') as batch:
        batch.drop_index('ix_evaluation_runs_reuse')
        batch.drop_column('inputs_digest')
