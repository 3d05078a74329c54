"""standard-attr-tag's sub-resource `/v2.0/{networks,ports}/{id}/tags`, as Neutron serves it:
GET (the list), PUT `{"tags": [...]}` (replace all; 200 with the list), PUT `/tags/{tag}` (add
one; 201), GET `/tags/{tag}` (204, or 404 TagNotFound), DELETE `/tags/{tag}` (204, or 404),
DELETE `/tags` (204). Tags touch no device: each change is one shared write of the row's
`tags` column (api/writes/), applied at once; `revision_number` grows with it."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import CallerDep
from api.neutron import collection
from api.neutron.attributes import checked, string, unique_strings
from api.neutron.definitions import NETWORK, PORT, Resource
from api.neutron.definitions_qos import QOS_POLICY
from api.neutron.write_routes import read_body
from api.problems import BadRequest, TagNotFound
from api.write_flow import Writer, WriterDep
from api.writes import networks as network_writes
from api.writes import ports as port_writes
from api.writes import qos_policies as policy_writes
from netprov.qos_resources import QosPolicyUpdate

TAG_SIZE = 255
router = APIRouter(include_in_schema=False)


async def _save(writer: Writer, resource: Resource, row: Any, tags: list[str]) -> None:
    if resource is NETWORK:
        network_writes.update_network(writer, network=row, details={"tags": tags})
    elif resource is PORT:
        await port_writes.update_port(writer, port=row, details={"tags": tags})
    else:
        await policy_writes.update_policy(writer, policy=row, update=QosPolicyUpdate(), tags=tags)


def _routes(resource: Resource) -> None:
    base = f"{resource.path}/{{item_id}}/tags"

    def list_tags(item_id: str, caller: CallerDep, writer: WriterDep) -> dict[str, Any]:
        return {"tags": sorted(collection.row_of(writer.session, resource, caller, item_id).tags)}

    async def replace_tags(item_id: str, request: Request, caller: CallerDep, writer: WriterDep) -> dict[str, Any]:
        row = collection.row_of(writer.session, resource, caller, item_id)
        body = await read_body(request)
        if not isinstance(body, dict) or set(body) != {"tags"}:
            raise BadRequest("Invalid tags body: send {\"tags\": [...]}")
        tags = checked("tags", unique_strings(TAG_SIZE), body["tags"])
        await _save(writer, resource, row, tags)
        return {"tags": sorted(tags)}

    async def add_tag(item_id: str, tag: str, caller: CallerDep, writer: WriterDep) -> Response:
        row = collection.row_of(writer.session, resource, caller, item_id)
        checked("tag", string(TAG_SIZE), tag)
        if tag not in row.tags:
            await _save(writer, resource, row, [*row.tags, tag])
        return Response(status_code=201)

    def check_tag(item_id: str, tag: str, caller: CallerDep, writer: WriterDep) -> Response:
        row = collection.row_of(writer.session, resource, caller, item_id)
        if tag not in row.tags:
            raise TagNotFound(f"Tag {tag[:80]} could not be found.")
        return Response(status_code=204)

    async def remove_tag(item_id: str, tag: str, caller: CallerDep, writer: WriterDep) -> Response:
        row = collection.row_of(writer.session, resource, caller, item_id)
        if tag not in row.tags:
            raise TagNotFound(f"Tag {tag[:80]} could not be found.")
        await _save(writer, resource, row, [t for t in row.tags if t != tag])
        return Response(status_code=204)

    async def remove_all(item_id: str, caller: CallerDep, writer: WriterDep) -> Response:
        row = collection.row_of(writer.session, resource, caller, item_id)
        if row.tags:
            await _save(writer, resource, row, [])
        return Response(status_code=204)

    router.add_api_route(base, list_tags, methods=["GET"])
    router.add_api_route(base, replace_tags, methods=["PUT"])
    router.add_api_route(base, remove_all, methods=["DELETE"], status_code=204)
    router.add_api_route(f"{base}/{{tag}}", check_tag, methods=["GET"], status_code=204)
    router.add_api_route(f"{base}/{{tag}}", add_tag, methods=["PUT"], status_code=201)
    router.add_api_route(f"{base}/{{tag}}", remove_tag, methods=["DELETE"], status_code=204)


for _resource in (NETWORK, PORT, QOS_POLICY):
    _routes(_resource)
