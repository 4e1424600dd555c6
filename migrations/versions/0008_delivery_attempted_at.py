"""delivery.attempted_at: a Telegram send whose fate a crash left unknown

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 20:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('attempted_at', core.models.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('attempted_at')
