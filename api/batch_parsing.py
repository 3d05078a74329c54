"""The body of `POST /v1.1/tenants/{t}/batches` read into typed items. The handler parses it
itself (not FastAPI) so that a schema error names the item, as the planning's errors do:
`ports[3] (ref p3).state: Input should be a valid string`."""

import json
from typing import Any

from fastapi import Request
from pydantic import ValidationError

from api.batch_planning import MAX_ERRORS, refusal
from api.problems import BadRequest, InvalidBody, UnsupportedMediaType
from netprov.batch_requests import BatchCreateRequest, BatchSpec

ITEM_LISTS = ("networks", "ports", "attachments")


async def json_body(request: Request) -> Any:
    """The JSON body, read as FastAPI reads bodies: no Content-Type or a JSON one; otherwise 415."""
    content_type = request.headers.get("content-type")
    if content_type:
        kind = content_type.split(";", 1)[0].strip().lower()
        if not (kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))):
            raise UnsupportedMediaType("Send the request body as JSON, with Content-Type: application/json.")
    body = await request.body()
    if not body:
        raise InvalidBody("The request body is empty; send {\"batch\": {...}}.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON.") from None


def parse_batch(raw: Any) -> BatchSpec:
    """The batch of a decoded body; InvalidBody (422) naming each bad item (up to MAX_ERRORS)."""
    try:
        return BatchCreateRequest.model_validate(raw).batch
    except ValidationError as error:
        problems = [f"{_name_location(raw, e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in error.errors()[:MAX_ERRORS]]
        raise refusal(problems) from None


def _name_location(raw: Any, loc: tuple) -> str:
    """("batch", "ports", 3, "state") -> "ports[3] (ref p3).state"."""
    parts = [p for p in loc if p != "batch"]
    if len(parts) >= 2 and parts[0] in ITEM_LISTS and isinstance(parts[1], int):
        name = _item_name(raw, parts[0], parts[1])
        rest = ".".join(str(p) for p in parts[2:])
        return f"{name}.{rest}" if rest else name
    return ".".join(str(p) for p in parts) or "batch"


def _item_name(raw: Any, kind: str, index: int) -> str:
    try:
        item = raw["batch"][kind][index]
    except (KeyError, IndexError, TypeError):
        return f"{kind}[{index}]"
    if isinstance(item, dict):
        if isinstance(item.get("ref"), str):
            return f"{kind}[{index}] (ref {item['ref'][:80]})"
        if kind == "attachments" and isinstance(item.get("port"), str):
            return f"{kind}[{index}] (port {item['port'][:80]})"
    return f"{kind}[{index}]"
