"""NHI initiative uptake (取組状況 N/M市町村) of a prefecture's municipalities, as the prefecture prints it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'initiative_uptake',
        sa.Column('unit_key', sa.String(length=64), sa.ForeignKey('reporting_units.key'), primary_key=True,
                  comment="the prefecture (JIS code), told by the file's name"),
        sa.Column('fiscal_year', sa.Integer(), primary_key=True),
        sa.Column('section_ja', sa.Text(), primary_key=True, comment='the nearest heading of the plan, as printed'),
        sa.Column('label_ja', sa.Text(), primary_key=True, comment='取組状況 or 目標設定状況, as printed'),
        sa.Column('adopted', sa.Integer(), nullable=False, comment='N of N/M市町村: municipalities that took it up'),
        sa.Column('total', sa.Integer(), nullable=False, comment='M of N/M市町村: municipalities it applies to'),
        sa.Column('pct_printed', sa.Float(precision=53), comment='the printed （P%）, at its printed precision'),
        sa.Column('note', sa.Text()),
        sa.Column('position', sa.Integer(), nullable=False,
                  comment='the row in its file: the order the prefecture prints'),
        sa.Column('source_file_id', sa.Integer(), sa.ForeignKey('landed_files.id'), nullable=False),
        sa.Column('batch_id', sa.String(length=36), sa.ForeignKey('ingest_batches.id'), nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('initiative_uptake')
