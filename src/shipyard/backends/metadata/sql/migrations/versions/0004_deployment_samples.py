"""deployment samples: one row per model-server heartbeat, for charts over time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 22:55:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deployment_samples',
    sa.Column('deployment_id', sa.String(length=32), nullable=False),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('requests', sa.BigInteger(), nullable=False),
    sa.Column('errors', sa.BigInteger(), nullable=False),
    sa.Column('p50_ms', sa.Float(), nullable=True),
    sa.Column('p95_ms', sa.Float(), nullable=True),
    sa.Column('p99_ms', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('deployment_id', 'at', name=op.f('pk_deployment_samples'))
    )
    with op.batch_alter_table('deployment_samples', schema=None) as batch_op:
        batch_op.create_index('ix_deployment_samples_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deployment_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_deployment_samples_at')

    op.drop_table('deployment_samples')
