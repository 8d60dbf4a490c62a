"""quarantined rows name the sheet of a workbook (a row number alone is ambiguous in a workbook of
several sheets)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 14:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quarantined_rows') as batch:
        batch.add_column(sa.Column('sheet_name', sa.Text(), comment='the sheet of a workbook; NULL for a CSV'))


def downgrade() -> None:
    with op.batch_alter_table('quarantined_rows') as batch:
        batch.drop_column('sheet_name')
