"""GET /ui/: the live topology page (api/ui/: plain HTML and JavaScript modules, no build step).

The page signs in with a tenant's token (kept in the tab's sessionStorage, or given as
`/ui/#tenant=T&token=SECRET`: a fragment never reaches the server or its log), reads the networks and
ports through the REST API and follows the tenant's live events. The files themselves need no token.
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

UI_DIR = Path(__file__).resolve().parent.parent / "ui"
UI_PATH = "/ui"


def install(app: FastAPI) -> None:
    @app.get(UI_PATH, include_in_schema=False)
    def ui_root() -> RedirectResponse:
        return RedirectResponse(f"{UI_PATH}/", status_code=308)

    app.mount(UI_PATH, StaticFiles(directory=UI_DIR, html=True), name="ui")
