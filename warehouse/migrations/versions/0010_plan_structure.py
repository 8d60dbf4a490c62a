"""the plan's structure (分野 / 項目 / 小項目) of each target, and the item marks of an evaluation

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kpi_plan_structure',
        sa.Column('unit_key', sa.String(length=64), sa.ForeignKey('reporting_units.key'), primary_key=True),
        sa.Column('fiscal_year', sa.Integer(), primary_key=True),
        sa.Column('kpi_id', sa.String(length=64), primary_key=True),
        sa.Column('group_ja', sa.Text(), nullable=False, comment='分野, the field of the plan, as printed'),
        sa.Column('item_no', sa.String(length=16), comment='the item number as printed (empty: not numbered)'),
        sa.Column('item_ja', sa.Text(), nullable=False, comment='項目, the numbered item, as printed'),
        sa.Column('sub_item_no', sa.String(length=16), comment='(1), ①: the sub-item number as printed'),
        sa.Column('sub_item_ja', sa.Text(), comment='小項目, as printed (NULL: the KPI sits at item level)'),
        sa.Column('position', sa.Integer(), comment='the order of the plan as printed: the row of its file'),
        sa.Column('note', sa.Text()),
        sa.Column('source_file_id', sa.Integer(), sa.ForeignKey('landed_files.id'), nullable=False),
        sa.Column('batch_id', sa.String(length=36), sa.ForeignKey('ingest_batches.id'), nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table('kpi_evaluations') as batch:
        batch.add_column(sa.Column('group_ja', sa.Text()))
        batch.add_column(sa.Column('item_no', sa.String(length=16)))
        batch.add_column(sa.Column('item_ja', sa.Text()))
        batch.add_column(sa.Column('sub_item_no', sa.String(length=16)))
        batch.add_column(sa.Column('sub_item_ja', sa.Text()))
        batch.add_column(sa.Column('item_mark', sa.String(length=2),
                                   comment="the mark printed for the smallest item or sub-item holding the KPI"))
        batch.add_column(sa.Column('position', sa.Integer()))
        batch.add_column(sa.Column('reason_ja', sa.Text(), comment='the reason in Japanese (reason: in English)'))


def downgrade() -> None:
    with op.batch_alter_table('kpi_evaluations') as batch:
        for column in ('reason_ja', 'position', 'item_mark', 'sub_item_ja', 'sub_item_no', 'item_ja', 'item_no', 'group_ja'):
            batch.drop_column(column)
    op.drop_table('kpi_plan_structure')
