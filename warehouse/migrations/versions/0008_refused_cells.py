"""the coverage grid's cells a refused batch would have filled (quarantined, not missing)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'refused_cells',
        sa.Column('batch_id', sa.String(36), sa.ForeignKey('ingest_batches.id'), primary_key=True),
        sa.Column('kind', sa.String(8), primary_key=True, comment='stats or kpi'),
        sa.Column('unit', sa.String(64), primary_key=True,
                  comment="romaji, national or a municipality's unit key"),
        sa.Column('fiscal_year', sa.Integer, primary_key=True),
        sa.Column('period', sa.String(8), primary_key=True, comment='2020-04 for a month; Q1-Q4 or FY'),
    )


def downgrade() -> None:
    op.drop_table('refused_cells')
