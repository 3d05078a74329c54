"""The v2.0 writes of networks and ports: POST (one, or bulk), PUT, DELETE. Each handler reads the
body through write_input.py (Neutron's checks and wording), looks the resource up as the reads
do (collection.row_of), calls the shared writes (api/writes/, the same business rules as v1.1)
and renders the row with the resource's attribute table. Codes as Neutron's: create 201 (BUILD
while provisioning), update 200, delete 204; `Prefer: wait` and `Idempotency-Key` as on v1.1.
"""

import json
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response

from api.auth import Caller
from api.deps import CallerDep
from api.neutron import binding, bulk, collection
from api.neutron.definitions import NETWORK, PORT, Resource
from api.neutron.write_input import WriteInput, create_inputs, update_input
from api.problems import BadRequest, ResourceNotAvailable
from api.write_flow import Writer, WriterDep, Written, preference_applied, reread
from api.writes import networks as network_writes
from api.writes import port_qos
from api.writes import ports as port_writes
from netprov.resources import NetworkCreate, NetworkUpdate, PortCreate, PortUpdate
from store import networks as network_store
from store import ports as port_store

router = APIRouter(include_in_schema=False)


async def read_body(request: Request) -> Any:
    """The request's JSON; anything else (empty, malformed, nested past reason) is 400."""
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("Resource body required")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("Malformed JSON in request body") from None


async def create_request(request: Request, resource: Resource, caller: Caller) -> tuple[Any, list[WriteInput], bool]:
    """A POST's body, its checked inputs (one, or a bulk request's) and whether it was bulk."""
    body = await read_body(request)
    inputs, is_bulk = create_inputs(resource, body, caller)
    return body, inputs, is_bulk


def picked(values: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name in names}


def answer(resource: Resource, row: Any, status_code: int, writer: Writer) -> JSONResponse:
    """The resource as committed now (read like every list and show), or as `row` (the last write's
    row, or the claimed one) when it is gone already."""
    writer.session.commit()  # a fresh read: what the writes committed
    body = collection.body_by_id(writer.session, resource, row.id)
    if body is None:
        gone = SimpleNamespace(**{c: getattr(row, c) for c in resource.table.__table__.c.keys()})
        body = resource.body(SimpleNamespace(**vars(gone), **{c.key: None for c in resource.joined()}))
    response = JSONResponse({resource.member: body}, status_code=status_code)
    preference_applied(response, writer.prefs)
    return response


def final_row(resource: Resource, writer: Writer, written: Written, resource_id: str) -> Any:
    """The row to go on with: as the last write left it, or as claimed when it is gone already."""
    row = reread(writer.engine, resource.member, resource_id)
    return row if row is not None else (written.row or written.claimed)


def qos_fields(values: dict[str, Any]) -> dict[str, Any]:
    """`qos_policy_id` as the shared request models take it: given (null clears) or absent."""
    return {"qos_policy_id": values["qos_policy_id"]} if "qos_policy_id" in values else {}


# -- networks ------------------------------------------------------------------------------


@router.post("/v2.0/networks")
async def create_networks(request: Request, caller: CallerDep, writer: WriterDep,
                          idempotency_key: str | None = Header(default=None)):  # fmt: skip
    body, inputs, is_bulk = await create_request(request, NETWORK, caller)
    if is_bulk:
        return await bulk.create_networks(writer, caller, body, inputs, idempotency_key)
    values = inputs[0].values
    written = await network_writes.create_network(
        writer,
        tenant_id=values["tenant_id"],
        # Built, not validated: write_input checked the values with Neutron's rules (a name may be "").
        network=NetworkCreate.model_construct(name=values["name"], plugin=None, **qos_fields(values)),
        idempotency_key=idempotency_key,
        details=picked(values, network_store.DETAILS),
    )
    return answer(NETWORK, written.row or written.claimed, 201, writer)


@router.put("/v2.0/networks/{network_id}")
async def update_network(network_id: str, request: Request, caller: CallerDep, writer: WriterDep):
    network = collection.row_of(writer.session, NETWORK, caller, network_id)
    values = update_input(NETWORK, await read_body(request)).values
    details = picked(values, network_store.DETAILS)
    if not values:
        return answer(NETWORK, network, 200, writer)  # nothing asked (admin_state_up true, shared false)
    update = NetworkUpdate.model_construct(**picked(values, frozenset({"name"})), **qos_fields(values))
    policy = port_qos.named_policy(writer, network.tenant_id, values.get("qos_policy_id"))
    network_writes.update_network(writer, network=network, update=update, details=details)
    if "qos_policy_id" in values:
        fresh = collection.row_of(writer.session, NETWORK, caller, network.id)
        await port_qos.set_network_policy(writer, network=fresh, policy=policy)
    return answer(NETWORK, network, 200, writer)


@router.delete("/v2.0/networks/{network_id}", status_code=204)
async def delete_network(network_id: str, caller: CallerDep, writer: WriterDep) -> Response:
    network = collection.row_of(writer.session, NETWORK, caller, network_id)
    await network_writes.delete_network(writer, network=network, in_use=network_writes.InUse.ANY_PORT)
    return Response(status_code=204)


# -- ports ---------------------------------------------------------------------------------


@router.post("/v2.0/ports")
async def create_ports(request: Request, caller: CallerDep, writer: WriterDep,
                       idempotency_key: str | None = Header(default=None)):  # fmt: skip
    body, inputs, is_bulk = await create_request(request, PORT, caller)
    if is_bulk:
        return await bulk.create_ports(writer, caller, body, inputs, idempotency_key)
    values = inputs[0].values
    network = port_network(writer, caller, inputs[0])
    if values.get("host") and writer.strict:
        # The attach would meet a port still provisioning: refused before anything is made, not half-done.
        raise ResourceNotAvailable("Strict handling binds a port once it is provisioned: create it unbound, then "
                                   "set binding:host_id.")
    written = await port_writes.create_port(
        writer,
        network=network,
        port=PortCreate(state=values["state"], **qos_fields(values)),
        idempotency_key=idempotency_key,
        details=picked(values, port_store.DETAILS),
    )
    row = written.row or written.claimed
    if not written.replay:  # a replay's binding was the earlier request's to make
        if values.get("host"):
            written = await binding.bind(writer, port=row, host=values["host"])
            row = final_row(PORT, writer, written, row.id)
    return answer(PORT, row, 201, writer)


def port_network(writer: Writer, caller: Caller, asked: WriteInput):
    """The network a new port goes on (404 NetworkNotFound as Neutron); the port's project is its
    network's, so naming another project is 400."""
    network = collection.row_of(writer.session, NETWORK, caller, asked.values["network_id"])
    project = asked.values.get("tenant_id")
    if project is not None and project != network.tenant_id:
        raise BadRequest(f"A port belongs to its network's project ({network.tenant_id}), not to {project[:80]}.")
    return network


@router.put("/v2.0/ports/{port_id}")
async def update_port(port_id: str, request: Request, caller: CallerDep, writer: WriterDep):
    port = collection.row_of(writer.session, PORT, caller, port_id)
    values = update_input(PORT, await read_body(request)).values
    details = picked(values, port_store.UPDATABLE - {"state"})
    asked = picked(values, frozenset({"state"})) | qos_fields(values)
    if asked or details:
        update = PortUpdate(**asked) if asked else None
        written = await port_writes.update_port(writer, port=port, update=update, details=details)
        port = final_row(PORT, writer, written, port.id)
    if "host" in values:
        written = await binding.bind(writer, port=port, host=values["host"])
        port = final_row(PORT, writer, written, port.id)
    return answer(PORT, port, 200, writer)


@router.delete("/v2.0/ports/{port_id}", status_code=204)
async def delete_port(port_id: str, caller: CallerDep, writer: WriterDep) -> Response:
    port = collection.row_of(writer.session, PORT, caller, port_id)
    await port_writes.delete_port(writer, port=port, unplug=True)
    return Response(status_code=204)
