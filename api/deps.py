"""What handlers declare they need: database session, caller, workflow gateway, settings."""

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel import Session

from api.auth import Caller, authenticate
from api.problems import BadRequest
from api.workflow_gateway import WorkflowGateway
from netprov.settings import Settings

MAX_WAIT_SECONDS = 60


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """The request's session. Objects stay readable after a commit (no reload), so that a handler
    holds no pooled connection while it awaits the workflow engine. Synchronous, so FastAPI opens
    and closes it on its thread pool: the close returns the connection to the pool, which resets
    it (a round trip to PostgreSQL), off the event loop."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


async def get_gateway(request: Request) -> WorkflowGateway:
    return request.app.state.gateway


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
GatewayDep = Annotated[WorkflowGateway, Depends(get_gateway)]


def get_caller(session: SessionDep, x_auth_token: Annotated[str | None, Header()] = None) -> Caller:
    """The caller the token names, looked up on FastAPI's thread pool (a synchronous dependency):
    on PostgreSQL a round trip the event loop must not wait for while the database waits for a CPU."""
    caller = authenticate(session, x_auth_token)
    session.commit()  # ends the read: the connection goes back to the pool
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


async def tenant_caller(tenant_id: str, caller: CallerDep) -> Caller:
    """The caller, allowed on /tenants/{tenant_id}."""
    if len(tenant_id) > 255:
        raise BadRequest("tenant_id is longer than 255 characters.")
    if "\x00" in tenant_id:
        raise BadRequest("tenant_id cannot contain a NUL character.")
    caller.require_tenant(tenant_id)
    return caller


TenantCallerDep = Annotated[Caller, Depends(tenant_caller)]


def check_uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadRequest(f"{what} {value[:80]!r} is not a UUID.") from None


@dataclass(frozen=True)
class Preferences:
    """RFC 7240 `Prefer`: `wait=N` and `handling=strict|lenient`. A wait counts from `received_at`
    (monotonic clock), when the request was read, not from when the write was handed over."""

    wait: int | None = None
    strict: bool | None = None
    received_at: float = field(default_factory=time.monotonic)


_PREF = re.compile(r"^\s*([a-zA-Z-]+)\s*(?:=\s*\"?([^\";]*)\"?)?")
_SECONDS = re.compile(r"[0-9]+")


async def get_preferences(prefer: Annotated[list[str] | None, Header()] = None) -> Preferences:
    wait, strict = None, None
    for header in prefer or []:
        for item in header.split(","):
            match = _PREF.match(item)
            if not match:
                continue
            name, value = match.group(1).lower(), (match.group(2) or "").strip()
            if name == "wait":
                if not _SECONDS.fullmatch(value):
                    raise BadRequest(f"Prefer: wait={value[:40]!r} is not a whole number of seconds.")
                # Longer than 3 digits is over the cap anyway (and int() of a huge string is slow).
                digits = value.lstrip("0") or "0"
                wait = MAX_WAIT_SECONDS if len(digits) > 3 else min(int(digits), MAX_WAIT_SECONDS)
            elif name == "handling" and value.lower() in ("strict", "lenient"):
                strict = value.lower() == "strict"
    return Preferences(wait=wait, strict=strict)


PreferencesDep = Annotated[Preferences, Depends(get_preferences)]


def allow_query(*names: str, public: bool = False):
    """A dependency refusing query parameters other than `names`. Route dependencies run before
    the handler's own, so unless the route is `public` the token (and the tenant of the path) is
    checked first: a request without a valid token is 401, whatever else is wrong with it."""

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params.keys()) - set(names))
        if not unknown:
            return
        if not public:
            with Session(request.app.state.engine) as session:
                caller = authenticate(session, request.headers.get("x-auth-token"))
            if "tenant_id" in request.path_params:
                caller.require_tenant(request.path_params["tenant_id"])
        allowed = ", ".join(names) or "none"
        raise BadRequest(f"Unknown query parameter(s): {', '.join(unknown)[:200]} (allowed: {allowed}).")

    return Depends(check)


def strict_handling(prefs: Preferences, settings: Settings) -> bool:
    """Reject mode: the server setting, overridden per request by `Prefer: handling=...`."""
    return prefs.strict if prefs.strict is not None else settings.strict
