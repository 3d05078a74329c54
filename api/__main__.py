"""`python -m api`: serve the REST API on NETPROV_API_HOST:NETPROV_API_PORT."""

import logging

import uvicorn

from api.app import create_app
from netprov.settings import get_settings


def run() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_level="warning",
                timeout_graceful_shutdown=30)


if __name__ == "__main__":
    run()
