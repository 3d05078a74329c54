"""Database activities of the workflows: status projection and reads of other resources."""

from sqlalchemy.engine import Engine
from temporalio import activity

from netprov.naming import Activity
from netprov.workflow_io import NetworkSnapshot, Projection
from store import projection as store


class ProjectionActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name=Activity.DB_RECORD_STATUS)
    def record_status(self, projection: Projection) -> bool:
        return store.apply_projection(self.engine, projection)

    @activity.defn(name=Activity.DB_REMOVE_RESOURCE)
    def remove_resource(self, projection: Projection) -> None:
        store.remove_resource(self.engine, projection.resource_type, projection.resource_id)

    @activity.defn(name=Activity.DB_READ_NETWORK)
    def read_network(self, network_id: str) -> NetworkSnapshot:
        return store.network_snapshot(self.engine, network_id)

    @activity.defn(name=Activity.DB_READ_APPLIED_SEQ)
    def read_applied_seq(self, projection: Projection) -> int:
        return store.applied_seq(self.engine, projection.resource_type, projection.resource_id)

    @activity.defn(name=Activity.DB_COUNT_PORTS)
    def count_ports(self, network_id: str) -> int:
        return store.port_count(self.engine, network_id)
