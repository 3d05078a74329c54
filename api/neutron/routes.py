"""The Neutron v2.0 routes: the version document at `/`, `/v2.0/`, extensions, and reading
networks, ports and QoS policies. Every handler is a thin call into the generic controller
(collection.py) with a resource definition; the writes are write_routes.py, tag_routes.py and
qos_routes.py, through the shared write flow."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import CallerDep, SessionDep
from api.neutron import collection, query
from api.neutron.definitions import NETWORK, PORT, Resource
from api.neutron.definitions_qos import QOS_POLICY
from api.neutron.extensions import extension, extensions
from api.problems import NotFound

# Not in /openapi.json: that document describes the v1.1 dialect (problem+json errors, which the
# fuzz and auth suites hold every listed route to); the v2.0 dialect's reference is Neutron's own.
router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/", summary="API versions (no token needed)")
async def versions(request: Request) -> dict[str, Any]:
    link = {"href": f"{_root(request)}/v2.0/", "rel": "self"}
    return {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [link]}]}


@router.get("/v2.0")
@router.get("/v2.0/", summary="Resources of the v2.0 API")
async def resources(request: Request, _: CallerDep) -> dict[str, Any]:
    return {
        "resources": [
            {"name": r.member, "collection": r.collection,
             "links": [{"href": f"{_root(request)}{r.path}", "rel": "self"}]}
            for r in (NETWORK, PORT, QOS_POLICY)
        ]
    }


@router.get("/v2.0/extensions")
async def list_extensions(_: CallerDep) -> dict[str, Any]:
    return {"extensions": extensions()}


@router.get("/v2.0/extensions/{alias}")
async def show_extension(alias: str, _: CallerDep) -> dict[str, Any]:
    found = extension(alias)
    if found is None:
        raise NotFound(f"Extension with alias {alias[:80]} does not exist")
    return {"extension": found}


def _list(resource: Resource):
    # Synchronous, as every read handler (api/db_threads.py): FastAPI runs it on its thread pool, so
    # reading and rendering a page (10,000 ports) never blocks the event loop.
    def handler(request: Request, session: SessionDep, caller: CallerDep) -> JSONResponse:
        params = list(request.query_params.multi_items())
        parsed = query.parse(resource, params)
        url = f"{_root(request)}{resource.path}"
        page = collection.list_page(session, resource, caller, parsed, url, params)
        session.commit()  # ends the read
        return JSONResponse(page)

    return handler


def _show(resource: Resource):
    def handler(item_id: str, request: Request, session: SessionDep, caller: CallerDep) -> JSONResponse:
        fields = query.fields_of(list(request.query_params.multi_items()))
        body = collection.show(session, resource, caller, item_id, fields)
        session.commit()
        return JSONResponse({resource.member: body})

    return handler


for _resource in (NETWORK, PORT, QOS_POLICY):
    router.add_api_route(_resource.path, _list(_resource), methods=["GET"], summary=f"List {_resource.collection}")
    router.add_api_route(f"{_resource.path}/{{item_id}}", _show(_resource), methods=["GET"],
                         summary=f"Show a {_resource.member}")
