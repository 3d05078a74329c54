"""batch purpose: a tenant's topology, or a QoS fan-out netprov applies as a batch

Existing batches are topologies.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', _TEXT(length=16), nullable=False, server_default='topology'))
    # The server default filled the existing rows; the code's default is the only one the schema check expects.
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.alter_column('purpose', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_column('purpose')
