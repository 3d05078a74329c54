"""qos policies: the qos_policies table, qos_policy_id on networks and ports, qos_status on ports

Existing networks and ports get no policy (null) and no QoS status (null: no policy applies).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'qos_policies',
        sa.Column('id', _TEXT(length=36), nullable=False),
        sa.Column('tenant_id', _TEXT(length=255), nullable=False),
        sa.Column('name', _TEXT(length=255), nullable=False),
        sa.Column('rules', sa.JSON(), nullable=False),
        sa.Column('status', _TEXT(length=16), nullable=False),
        sa.Column('status_reason', _TEXT(), nullable=True),
        sa.Column('description', _TEXT(length=255), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('revision_number', sa.Integer(), nullable=False),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('qos_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qos_policies_tenant_id'), ['tenant_id'], unique=False)
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qos_policy_id', _TEXT(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_networks_qos_policy_id'), ['qos_policy_id'], unique=False)
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qos_policy_id', _TEXT(length=36), nullable=True))
        batch_op.add_column(sa.Column('qos_status', _TEXT(length=16), nullable=True))
        batch_op.add_column(sa.Column('qos_status_reason', _TEXT(), nullable=True))
        batch_op.add_column(sa.Column('qos_seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('qos_progress', _TEXT(), nullable=True))
        batch_op.create_index(batch_op.f('ix_ports_qos_policy_id'), ['qos_policy_id'], unique=False)
    # The server default filled the existing rows; the code's default is the only one the schema check expects.
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.alter_column('qos_seq', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ports_qos_policy_id'))
        for column in ('qos_progress', 'qos_seq', 'qos_status_reason', 'qos_status', 'qos_policy_id'):
            batch_op.drop_column(column)
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_networks_qos_policy_id'))
        batch_op.drop_column('qos_policy_id')
    with op.batch_alter_table('qos_policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qos_policies_tenant_id'))
    op.drop_table('qos_policies')
