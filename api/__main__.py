"""`python -m api`: serve the REST API on NETPROV_API_HOST:NETPROV_API_PORT.

SIGTERM (or Ctrl-C) stops accepting connections and lets the requests in flight finish, for up to
GRACEFUL_SHUTDOWN_SECONDS, then exits 0. A request still running after that (a long `Prefer: wait`)
loses its answer, never its write: what was accepted is in the outbox.
"""

import signal
import sys

import uvicorn

from api.app import create_app
from netprov.logging_setup import configure_logging
from netprov.settings import get_settings
from netprov.tracing import configure_tracing

GRACEFUL_SHUTDOWN_SECONDS = 30
# Longer than a client keeps an idle connection (httpx: 5 s): the client closes it first, so no request is
# sent on a connection the server is closing. At uvicorn's default (5 s, the same as httpx's) the open-loop
# bench's overload on PostgreSQL, where answers took seconds, lost 3-11 requests to that race (ReadError).
KEEP_ALIVE_SECONDS = 75
# uvloop and httptools rather than asyncio's loop and h11 (pure Python): measured on one stack, 8 clients,
# API CPU per request GET 5.2-6.2 ms against 7.0-7.7 ms, POST port 12.6-16.0 ms against 16.6-16.9 ms. The
# worker stays on asyncio's loop: uvloop did not lower its CPU per port (17.6-19.5 ms either way).
EVENT_LOOP = "uvloop"
HTTP_PARSER = "httptools"


def run() -> None:
    # uvicorn re-raises SIGTERM once its graceful shutdown is over, to end the process "by the
    # signal"; that shutdown was the clean stop asked for: exit 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    settings = get_settings()
    configure_logging("api", settings)
    configure_tracing("api")
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,  # our handlers (netprov.logging_setup), not uvicorn's
        log_level=settings.log_level.lower(),
        access_log=False,  # api/metrics.py logs each request, with its context
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        loop=EVENT_LOOP,
        http=HTTP_PARSER,
    )


if __name__ == "__main__":
    run()
