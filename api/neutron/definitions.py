"""Networks and ports as data: one attribute table each (neutron-lib's RESOURCE_ATTRIBUTE_MAP
for network, port and the extensions netprov serves: binding, data-plane-status, qos,
qos-port-network-policy, net-mtu, project-id, standard-attr-*), and the translator from the
shared store rows to the Neutron body, which is nothing but each visible attribute's `read`.

A new field is one row here. Attributes whose store column does not exist yet (the QoS helper
adds `qos_policy_id`, `qos_status`, ...) read null and filter as null until the column appears:
`optional`/`optional_read` look the column up by name, so adding it to store/tables.py is all the wiring.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import false, func, literal, null, or_, select, true
from sqlalchemy.sql import ColumnElement

from api.neutron import status as st
from api.neutron.attributes import (
    NOT_SPECIFIED,
    REQUIRED,
    Attribute,
    boolean,
    empty_list,
    integer,
    mac_address,
    one_of,
    or_none,
    string,
    unique_strings,
    uuid_or_none,
    uuid_value,
)
from api.neutron.tags import tag_filters
from api.problems import NetworkNotFound, NotFound, PortNotFound
from store.projection import effective_status
from store.tables import NetworkRow, PortRow

NAME_SIZE = DESCRIPTION_SIZE = DEVICE_SIZE = PROJECT_SIZE = 255
MTU = 1500
VNIC_NORMAL = "normal"


@dataclass(frozen=True)
class Resource:
    """One Neutron resource served from one store table."""

    member: str
    collection: str
    table: type
    attributes: tuple[Attribute, ...]
    not_found: Callable[[str], NotFound]
    # Labelled SQL expressions read with the table's columns (values from other tables).
    joined: Callable[[], tuple[ColumnElement, ...]] = lambda: ()
    # Where the collection is served, under /v2.0 ("qos/" for QoS policies).
    prefix: str = ""

    @property
    def path(self) -> str:
        return f"/v2.0/{self.prefix}{self.collection}"

    def attribute(self, name: str) -> Attribute | None:
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, Attribute]:
        return {a.name: a for a in self.attributes}

    def body(self, row: Any, fields: list[str] | None = None) -> dict[str, Any]:
        """The Neutron body of a store row; with `fields`, only those (unknown names are ignored,
        as Neutron does)."""
        wanted = set(fields) if fields else None
        return {a.name: a.read(row) for a in self.attributes if a.visible and (wanted is None or a.name in wanted)}


def timestamp(value: datetime) -> str:
    """Neutron's timestamps: UTC, whole seconds, `Z`."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def optional(table: type, name: str) -> Callable[[], ColumnElement]:
    return lambda: getattr(table, name) if name in table.__table__.c else null()


def optional_read(table: type, name: str) -> Callable[[Any], Any]:
    # Decided once: a getattr default on every row would cost an exception per missing key.
    return (lambda r: getattr(r, name)) if name in table.__table__.c else (lambda r: None)


def constant(value: Any) -> Callable[[list[Any]], ColumnElement]:
    """The filter of an attribute that has one value for every row (shared, subnets, mtu)."""
    return lambda values: true() if value in values else false()


def _no_match(_: list[Any]) -> ColumnElement:
    return false()


def qos_policy_id(table: type) -> Attribute:
    """The policy a network or port names (qos extension); null until the QoS column exists."""
    return Attribute("qos_policy_id", optional_read(table, "qos_policy_id"), allow_post=True, allow_put=True,
                     default=None, validate=uuid_or_none, is_filter=True, column=optional(table, "qos_policy_id"),
                     target="qos_policy_id")


def standard(table: type) -> tuple[Attribute, ...]:
    """Neutron's standard attributes, which every resource has: id, name, project, description,
    tags, revision, timestamps (`table` has those columns; tags and revision may be absent)."""

    tags = optional_read(table, "tags")

    def project(name: str) -> Attribute:
        return Attribute(name, lambda r: r.tenant_id, allow_post=True, default=NOT_SPECIFIED,
                         validate=string(PROJECT_SIZE), is_filter=True, is_sort_key=True,
                         column=lambda: table.tenant_id, target="tenant_id")

    return (
        Attribute("id", lambda r: r.id, validate=uuid_value, is_filter=True, is_sort_key=True, column=lambda: table.id),
        Attribute("name", lambda r: r.name, allow_post=True, allow_put=True, default="", validate=string(NAME_SIZE),
                  is_filter=True, is_sort_key=True, column=lambda: table.name, target="name"),
        project("project_id"),
        project("tenant_id"),
        Attribute("description", optional_read(table, "description"), allow_post=True, allow_put=True, default="",
                  validate=string(DESCRIPTION_SIZE), is_filter=True, column=optional(table, "description"),
                  target="description"),
        # Tags on POST (Neutron's tag-creation); changed later through /tags, not PUT.
        Attribute("tags", lambda r: sorted(tags(r) or []), allow_post=True, default=[], validate=unique_strings(255),
                  is_filter=True, filter_clause=tag_filters(table)["tags"], target="tags"),
        *(Attribute(name, lambda r: None, visible=False, is_filter=True, filter_clause=clause)
          for name, clause in tag_filters(table).items() if name != "tags"),
        Attribute("revision_number", optional_read(table, "revision_number"), is_filter=True, is_sort_key=True,
                  column=optional(table, "revision_number"), convert_filter=integer),
        Attribute("created_at", lambda r: timestamp(r.created_at), is_sort_key=True, column=lambda: table.created_at),
        Attribute("updated_at", lambda r: timestamp(r.updated_at), is_sort_key=True, column=lambda: table.updated_at),
    )


# The seed's reason for a status, on resources with pending operations (networks, ports).
STATUS_REASON = Attribute("netprov:status_reason", lambda r: effective_status(r)[1])


NETWORK = Resource(
    member="network",
    collection="networks",
    table=NetworkRow,
    not_found=lambda network_id: NetworkNotFound(f"Network {network_id} could not be found."),
    attributes=(
        *standard(NetworkRow),
        STATUS_REASON,
        Attribute("status", st.network_status, is_filter=True, is_sort_key=True, column=st.network_status_column),
        # netprov networks have no admin state: always up; refusing False is write_input's job.
        Attribute("admin_state_up", lambda r: True, allow_post=True, allow_put=True, default=True, validate=boolean,
                  is_filter=True, convert_filter=boolean, filter_clause=constant(True)),
        Attribute("shared", lambda r: False, allow_post=True, allow_put=True, default=False, validate=boolean,
                  is_filter=True, convert_filter=boolean, filter_clause=constant(False)),
        Attribute("subnets", lambda r: [], is_filter=True, filter_clause=_no_match),
        Attribute("mtu", lambda r: MTU, is_filter=True, convert_filter=integer, filter_clause=constant(MTU)),
        qos_policy_id(NetworkRow),
    ),
)


def _binding_host(row: PortRow) -> str:
    return row.attachment_host or ""


def _network_policy_column() -> ColumnElement:
    return select(NetworkRow.qos_policy_id).where(NetworkRow.id == PortRow.network_id).scalar_subquery()


PORT = Resource(
    member="port",
    joined=lambda: (_network_policy_column().label("qos_network_policy_id"),),
    collection="ports",
    table=PortRow,
    not_found=lambda port_id: PortNotFound(f"Port {port_id} could not be found."),
    attributes=(
        *standard(PortRow),
        STATUS_REASON,
        Attribute("network_id", lambda r: r.network_id, allow_post=True, default=REQUIRED, validate=uuid_value,
                  is_filter=True, is_sort_key=True, column=lambda: PortRow.network_id, target="network_id"),
        Attribute("admin_state_up", st.admin_state_up, allow_post=True, allow_put=True, default=True, validate=boolean,
                  is_filter=True, is_sort_key=True, column=st.admin_state_up_column,
                  convert_filter=lambda v: int(boolean(v)), target="admin_state_up"),
        Attribute("status", st.port_status, is_filter=True, is_sort_key=True, column=st.port_status_column),
        Attribute("mac_address", lambda r: r.mac_address, allow_post=True, validate=mac_address, is_filter=True,
                  is_sort_key=True, column=lambda: PortRow.mac_address,
                  convert_filter=lambda v: v.lower().replace("-", ":"), target="mac_address"),
        Attribute("fixed_ips", lambda r: [], allow_post=True, allow_put=True, default=[], validate=empty_list,
                  is_filter=True, filter_clause=_no_match),
        Attribute("device_id", lambda r: r.device_id, allow_post=True, allow_put=True, default="",
                  validate=string(DEVICE_SIZE), is_filter=True, is_sort_key=True, column=lambda: PortRow.device_id,
                  target="device_id"),
        Attribute("device_owner", lambda r: r.device_owner, allow_post=True, allow_put=True, default="",
                  validate=string(DEVICE_SIZE), is_filter=True, is_sort_key=True, column=lambda: PortRow.device_owner,
                  target="device_owner"),
        Attribute("binding:host_id", _binding_host, allow_post=True, allow_put=True, default="",
                  validate=or_none(string(NAME_SIZE)), is_filter=True,
                  column=lambda: func.coalesce(PortRow.attachment_host, literal("")), target="host"),
        Attribute("binding:vif_type", st.vif_type, is_filter=True, column=st.vif_type_column),
        Attribute("binding:vnic_type", lambda r: VNIC_NORMAL, allow_post=True, allow_put=True, default=VNIC_NORMAL,
                  validate=one_of(VNIC_NORMAL), is_filter=True, filter_clause=constant(VNIC_NORMAL)),
        qos_policy_id(PortRow),
        # The network's policy, which the port uses when it has none of its own (read-only).
        Attribute("qos_network_policy_id", lambda r: r.qos_network_policy_id, is_filter=True,
                  column=_network_policy_column),
        Attribute("data_plane_status", st.data_plane_status, is_filter=True, column=st.data_plane_status_column),
        Attribute("netprov:link_status", lambda r: r.link_status, is_filter=True, column=lambda: PortRow.link_status),
        Attribute("netprov:link_status_string", lambda r: r.link_status_string),
        Attribute("netprov:qos_status", optional_read(PortRow, "qos_status"), is_filter=True,
                  column=optional(PortRow, "qos_status")),
        Attribute("netprov:qos_status_reason", optional_read(PortRow, "qos_status_reason")),
    ),
)


def any_of(column: ColumnElement, values: list[Any]) -> ColumnElement:
    """`column` equal to one of `values` (a null value matches a null column)."""
    present = [v for v in values if v is not None]
    clauses = [column.in_(present)] if present else []
    if len(present) != len(values):
        clauses.append(column.is_(None))
    return or_(*clauses) if clauses else false()
