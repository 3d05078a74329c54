"""The world of one workflow test: settings, database, fake plugin, a worker's task queue, and
how to insert rows and start workflows as the API would."""

import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from api.workflow_gateway import plugin_plan
from netprov.naming import network_workflow_id, port_workflow_id
from netprov.operations import OpKind, Operation
from netprov.settings import Settings
from netprov.status import PROVISIONING
from netprov.workflow_io import NetworkWorkflowInput, PortWorkflowInput
from plugins.fake import FakePlugin
from plugins.registry import plugin_class
from store.tables import NetworkRow, PortRow


@dataclass
class Rig:
    """One test's world: its settings, database, fake plugin, and a worker on its own task queue."""

    env: WorkflowEnvironment
    settings: Settings
    engine: Engine
    task_queue: str

    @property
    def fake(self) -> FakePlugin:
        return plugin_class("fake")(self.settings)

    def insert_network(self, name: str, accepted_seq: int = 1, applied_seq: int = 0) -> str:
        network_id = str(uuid.uuid4())
        with Session(self.engine) as session:
            session.add(
                NetworkRow(
                    id=network_id, tenant_id="t1", name=name, plugin="fake", status=PROVISIONING,
                    accepted_seq=accepted_seq, applied_seq=applied_seq,
                )
            )
            session.commit()
        return network_id

    def insert_port(self, network_id: str, accepted_seq: int = 1, applied_seq: int = 0, state: str = "DOWN") -> str:
        port_id = str(uuid.uuid4())
        with Session(self.engine) as session:
            session.add(
                PortRow(
                    id=port_id, tenant_id="t1", network_id=network_id, state=state, status=PROVISIONING,
                    accepted_seq=accepted_seq, applied_seq=applied_seq,
                )
            )
            session.commit()
        return port_id

    def row(self, table, resource_id: str):
        with Session(self.engine) as session:
            row = session.get(table, resource_id)
            if row is not None:
                session.expunge(row)
            return row

    async def start_network(self, network_id: str, name: str, first: Operation, **fields) -> WorkflowHandle:
        arg = NetworkWorkflowInput(
            network_id=network_id, tenant_id="t1", name=name, plan=plugin_plan(self.settings, "fake"),
            search_attributes=False, **fields,
        )
        return await self._start("NetworkWorkflow", network_workflow_id(network_id), arg, first)

    async def start_port(self, port_id: str, network_id: str, network_name: str, first: Operation, **fields) -> WorkflowHandle:
        arg = PortWorkflowInput(
            port_id=port_id, tenant_id="t1", network_id=network_id, network_name=network_name,
            plan=plugin_plan(self.settings, "fake"), search_attributes=False, **fields,
        )
        return await self._start("PortWorkflow", port_workflow_id(port_id), arg, first)

    async def _start(self, workflow: str, workflow_id: str, arg, first: Operation) -> WorkflowHandle:
        return await self.env.client.start_workflow(
            workflow, arg, id=workflow_id, task_queue=self.task_queue, start_signal="enqueue", start_signal_args=[first]
        )


def op(seq: int, kind: OpKind, **fields) -> Operation:
    return Operation(op_id=str(uuid.uuid4()), seq=seq, kind=kind, **fields)
