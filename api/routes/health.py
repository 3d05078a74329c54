"""/healthz: no auth; each part's state."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel import Session

from api.deps import allow_query
from api.problems import ERROR_RESPONSES
from netprov.process_table import read_table
from netprov.resources import Health

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=Health,
    dependencies=[allow_query(public=True)],
    responses={503: {"model": Health, "description": "A part is down"}, 400: ERROR_RESPONSES[400]},
)
async def healthz(request: Request):
    state = request.app.state
    temporal = "ok" if await state.gateway.healthy() else "unreachable"
    try:
        with Session(state.engine) as session:
            session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means "down" here
        database = "unreachable"
    ok = temporal == "ok" and database == "ok"
    body = {"status": "ok" if ok else "degraded", "temporal": temporal, "database": database}
    processes = read_table(state.settings.data_dir)
    if processes is not None:  # only under the dev stack's supervisor
        body["processes"] = [p.model_dump() for p in processes]
    return JSONResponse(body, status_code=200 if ok else 503)
