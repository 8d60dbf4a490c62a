"""what the freshness flow has announced overdue (so that it announces each unit and period once) and
when it arrived late

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 19:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'overdue_announcements',
        sa.Column('kind', sa.String(8), primary_key=True, comment='stats or kpi'),
        sa.Column('unit', sa.String(64), primary_key=True,
                  comment="romaji, national or a municipality's unit key"),
        sa.Column('fiscal_year', sa.Integer, primary_key=True),
        sa.Column('period', sa.String(8), primary_key=True, comment='2020-04 for a month; Q1-Q4 or FY'),
        sa.Column('due', sa.Date, nullable=False),
        sa.Column('announced_at', sa.DateTime(timezone=True), nullable=False,
                  comment='when branchkpi.data.overdue was emitted'),
        sa.Column('arrived_at', sa.DateTime(timezone=True), comment='when branchkpi.data.arrived-late was emitted'),
        sa.Column('flow_run_id', sa.String(36), comment='the freshness run that announced it'),
    )


def downgrade() -> None:
    op.drop_table('overdue_announcements')
