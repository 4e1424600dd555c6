"""purchase.fingerprint: dropped, no purchase ever had one (it was always empty)

On SQLite the column is dropped and added in place (ALTER TABLE, SQLite 3.35 or newer)
rather than by copying the table: refunds and ledger entries point at purchases, and with
foreign keys on, SQLite refuses to drop the old copy of a table that rows point at.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('purchase', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('fingerprint')


def downgrade() -> None:
    # Every purchase gets back the empty fingerprint they all had.
    with op.batch_alter_table('purchase', schema=None, recreate='never') as batch_op:
        batch_op.add_column(
            sa.Column(
                'fingerprint',
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default='',
            )
        )
    if op.get_bind().dialect.name != 'sqlite':
        # 0001 gave the column no default. SQLite keeps this one: removing it would copy
        # the table, which foreign keys forbid (see above), and it is never used.
        op.alter_column('purchase', 'fingerprint', server_default=None)
