"""Wiring the v2.0 view into the application."""

from fastapi import FastAPI

from api.neutron import errors, qos_routes, routes, tag_routes, write_routes


def install(app: FastAPI) -> None:
    """Serve the v2.0 view on `app`: its routes and its error bodies."""
    app.include_router(routes.router)
    app.include_router(write_routes.router)
    app.include_router(tag_routes.router)
    app.include_router(qos_routes.router)
    errors.install(app)
