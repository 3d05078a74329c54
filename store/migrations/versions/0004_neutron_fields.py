"""neutron fields: the standard attributes the Neutron v2.0 view shows (api/neutron)

Networks gain description, tags, revision_number; ports gain name, description, a unique
mac_address, device_id, device_owner, tags, revision_number. Existing rows get "" / [] / 1 and
each existing port a fresh MAC (store/mac_addresses.py), before the column turns NOT NULL UNIQUE.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:36:52.877114
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.mac_addresses import random_mac_address

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString(length=255)


def upgrade() -> None:
    # Server defaults fill the rows that exist; they are dropped again below, because the code's
    # defaults (store/tables.py) are the only ones the schema check expects.
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', _TEXT, nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('revision_number', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', _TEXT, nullable=False, server_default=''))
        batch_op.add_column(sa.Column('description', _TEXT, nullable=False, server_default=''))
        batch_op.add_column(sa.Column('mac_address', sa.String(length=17), nullable=True))
        batch_op.add_column(sa.Column('device_id', _TEXT, nullable=False, server_default=''))
        batch_op.add_column(sa.Column('device_owner', _TEXT, nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('revision_number', sa.Integer(), nullable=False, server_default='1'))

    connection = op.get_bind()
    ports = sa.table('ports', sa.column('id', sa.String), sa.column('mac_address', sa.String))
    ids = [row.id for row in connection.execute(sa.select(ports.c.id))]
    macs: set[str] = set()
    while len(macs) < len(ids):
        macs.add(random_mac_address())
    if ids:
        connection.execute(
            ports.update().where(ports.c.id == sa.bindparam('b_id')).values(mac_address=sa.bindparam('b_mac')),
            [{'b_id': i, 'b_mac': m} for i, m in zip(ids, sorted(macs), strict=True)],
        )

    with op.batch_alter_table('networks', schema=None) as batch_op:
        for column in ('description', 'tags', 'revision_number'):
            batch_op.alter_column(column, server_default=None)
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.alter_column('mac_address', existing_type=sa.String(length=17), nullable=False)
        for column in ('name', 'description', 'device_id', 'device_owner', 'tags', 'revision_number'):
            batch_op.alter_column(column, server_default=None)
        batch_op.create_unique_constraint('uq_ports_mac_address', ['mac_address'])


def downgrade() -> None:
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.drop_constraint('uq_ports_mac_address', type_='unique')
        for column in ('revision_number', 'tags', 'device_owner', 'device_id', 'mac_address', 'description', 'name'):
            batch_op.drop_column(column)
    with op.batch_alter_table('networks', schema=None) as batch_op:
        for column in ('revision_number', 'tags', 'description'):
            batch_op.drop_column(column)
