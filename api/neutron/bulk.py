"""Neutron's bulk create (`{"networks": [...]}`, `{"ports": [...]}`) as one netprov batch
(api/batch_write_flow.accept_batch with typed items): every item is checked before anything is
stored, all of them are stored in one transaction and provisioned by one batch workflow, and the
answer is 201 with every body, in request order (BUILD while the batch runs).

Ports in bulk take `binding:host_id` (the batch plugs the interface named by each port's id on
that host, after provisioning it: the Nova/OVS convention, as on a single create) and
`qos_policy_id`. Refused in bulk (400): a network's `qos_policy_id` (set it with an update).
"""

import uuid

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlmodel import Session

from api import idempotency
from api.auth import Caller
from api.batch_write_flow import IdempotentRequest, accept_batch
from api.neutron import collection
from api.neutron.definitions import NETWORK, PORT, Resource
from api.neutron.write_input import WriteInput
from api.problems import BadRequest, MacAddressInUse
from api.write_flow import Writer
from netprov.batch import ItemKind
from netprov.batch_requests import BatchAttachment, BatchNetwork, BatchPort, BatchSpec
from netprov.status import AdminState
from store import batches
from store import ports as port_store


async def create_networks(
    writer: Writer, caller: Caller, body: Any, inputs: list[WriteInput], idempotency_key: str | None
) -> JSONResponse:
    _refuse_unbatched(inputs, ("qos_policy_id",))
    projects = {i.values["tenant_id"] for i in inputs}
    # Built, not validated: write_input checked every value with Neutron's rules (a name may be "").
    items = [
        BatchNetwork.model_construct(ref=f"network-{index}", name=i.values["name"], plugin=None,
                                     description=i.values.get("description", ""), tags=i.values.get("tags", []))
        for index, i in enumerate(inputs)
    ]  # fmt: skip
    return await _run(writer, NETWORK, _one_project(projects), BatchSpec(networks=items), body, idempotency_key)


async def create_ports(
    writer: Writer, caller: Caller, body: Any, inputs: list[WriteInput], idempotency_key: str | None
) -> JSONResponse:
    networks = {}
    for i in inputs:
        network_id = i.values["network_id"]
        if network_id not in networks:
            networks[network_id] = collection.row_of(writer.session, NETWORK, caller, network_id)
        asked = i.values.get("tenant_id")
        if asked is not None and asked != networks[network_id].tenant_id:
            raise BadRequest(f"A port belongs to its network's project ({networks[network_id].tenant_id}).")
    _check_macs(writer.session, [i.values["mac_address"] for i in inputs if i.values.get("mac_address")])
    # Each port's ref is the id it gets (refs_are_ids): a bound port's interface id is its own id.
    ids = [str(uuid.uuid4()) for _ in inputs]
    try:
        items = [
            BatchPort(ref=ids[index], network=networks[i.values["network_id"]].id,
                      state=i.values.get("state", AdminState.ACTIVE.value), qos_policy_id=i.values.get("qos_policy_id"),
                      **{name: value for name, value in i.values.items() if name in port_store.DETAILS})
            for index, i in enumerate(inputs)
        ]  # fmt: skip
        bindings = [BatchAttachment(port=ids[index], id=ids[index], host=i.values["host"])
                    for index, i in enumerate(inputs) if i.values.get("host")]  # fmt: skip
    except ValidationError as error:  # write_input checked Neutron's rules; the batch's are the same
        raise BadRequest(f"Invalid input in bulk create: {str(error)[:300]}") from None
    tenant_id = _one_project({n.tenant_id for n in networks.values()})
    spec = BatchSpec(ports=items, attachments=bindings)
    return await _run(writer, PORT, tenant_id, spec, body, idempotency_key, refs_are_ids=True)


def _refuse_unbatched(inputs: list[WriteInput], targets: tuple[str, ...]) -> None:
    for target in targets:
        if any(i.values.get(target) for i in inputs):
            raise BadRequest(f"{target} is not supported in bulk create: set it with an update of each resource")


def _one_project(projects: set[str]) -> str:
    # A netprov batch belongs to one tenant.
    if len(projects) != 1:
        raise BadRequest("A bulk create makes resources of one project only")
    return next(iter(projects))


def _check_macs(session: Session, macs: list[str]) -> None:
    seen: set[str] = set()
    for mac in macs:
        if mac in seen:
            raise MacAddressInUse(f"The mac address {mac} is asked for twice in this bulk request.")
        seen.add(mac)
    taken = sorted(port_store.macs_taken(session, mac_addresses=macs))
    if taken:
        raise MacAddressInUse(f"The mac address {taken[0]} is in use.")


async def _run(writer: Writer, resource: Resource, tenant_id: str, spec: BatchSpec, body: Any,
               idempotency_key: str | None, refs_are_ids: bool = False) -> JSONResponse:  # fmt: skip
    idempotency.check_key(idempotency_key)
    idempotent = None
    if idempotency_key:
        digest = idempotency.request_hash(f"/v2.0/{resource.collection}", body)
        idempotent = IdempotentRequest(idempotency_key, digest)
    writer.session.commit()  # no connection held across the batch's awaits
    accepted = await accept_batch(writer.engine, writer.gateway, writer.settings, tenant_id=tenant_id, spec=spec,
                                  strict=writer.strict, idempotent=idempotent, refs_are_ids=refs_are_ids)  # fmt: skip
    kind = ItemKind.NETWORK if resource is NETWORK else ItemKind.PORT
    with Session(writer.engine) as session:
        ids = [item.resource_id for item in batches.batch_items(session, accepted.batch_id) if item.kind == kind]
        rows = {row.id: row for row in session.execute(
            collection.rows_of(resource).where(resource.table.id.in_(ids))
        )}  # fmt: skip
    # A resource deleted meanwhile has no body left to show: it is left out.
    return JSONResponse({resource.collection: [resource.body(rows[i]) for i in ids if i in rows]}, status_code=201)
