"""The FastAPI application: routers, problem handlers, limits, and the lifespan that connects
the database and the workflow engine and runs the outbox sweeper."""

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api.neutron.install import install as install_neutron
from api.auth import install_admin_token
from api.limits import BodyLimit
from api.metrics import RequestTelemetry
from api.metrics import router as metrics_router
from api.outbox import sweep_forever
from api.problems import install_problem_handlers
from api.routes import admin, batches, docs, events, health, networks, ports, qos_policies, tokens, ui
from api.tracing import instrument
from api.workflow_gateway import EngineUnavailable, WorkflowGateway
from netprov.resources import ProblemBody
from netprov.settings import Settings, get_settings
from plugins.registry import agent_plugins, plugin_names
from store.engine import engine_for
from store.projection import set_agentless_plugins

log = logging.getLogger("netprov.api")


def create_app(settings: Settings | None = None, client: Client | None = None, sweeper: bool = True) -> FastAPI:
    settings = settings or get_settings()
    engine = engine_for(settings.resolved_database_url, settings.auto_migrate)
    # The API writes port conditions too (a batch retry): the store must know the agent-free plugins.
    set_agentless_plugins(set(plugin_names()) - set(agent_plugins()))
    gateway = WorkflowGateway(settings, engine, client)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.admin_token:
            install_admin_token(engine, settings.admin_token)
        try:
            await gateway.client()
        except EngineUnavailable as error:
            log.warning("workflow engine unreachable at start (%s); writes answer 503 until it is back", error)
        task = asyncio.create_task(sweep_forever(engine, gateway)) if sweeper else None
        yield
        if task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="netprov",
        version="1.1",
        summary="Networks, ports and attachments provisioned by durable Temporal workflows.",
        lifespan=lifespan,
        docs_url=None,  # api/routes/docs.py serves them from local files
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.gateway = gateway
    install_problem_handlers(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestTelemetry)  # outermost but tracing's: counts every answer, 413s included
    instrument(app)
    app.include_router(metrics_router)
    for module in (health, tokens, networks, ports, qos_policies, batches, events, admin):
        app.include_router(module.router)
    install_neutron(app)  # the Neutron v2.0 view: routes, NeutronError bodies
    docs.install(app)
    ui.install(app)
    _document_problem_schema(app)
    return app


def _document_problem_schema(app: FastAPI) -> None:
    original = app.openapi

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = ProblemBody.model_json_schema()
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
