"""The problem table: every `code` the API answers, its HTTP status and title, defined once.

The server's exceptions (api/problems.py), the client's exceptions (netprov_client/errors.py) and the
documented error responses of /openapi.json are all built from PROBLEMS; adding a code is one row.
A row with a `family` is a more specific kind of that row's problem (NetworkNotFound is a NotFound):
both sides build the same class tree from it, so `except NotFound` catches every 404 code.

Standard library only: the client distribution ships this module without the server's dependencies.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    code: str
    status: int
    title: str
    # The code of the more general problem this one refines (its parent class on both sides).
    family: str | None = None
    # The statuses whose answers without a known code are read as this problem (client and framework errors).
    stands_for: tuple[int, ...] = ()
    # Seconds sent as Retry-After when the raiser names none.
    retry_after: int | None = None


PROBLEMS: tuple[ProblemType, ...] = (
    ProblemType("InternalError", 500, "Internal error", stands_for=(500,)),
    ProblemType("BadRequest", 400, "Bad request", stands_for=(400, 422)),
    ProblemType("RequestedStateInvalid", 400, "Requested state invalid"),
    ProblemType("Unauthorized", 401, "Unauthorized", stands_for=(401,)),
    ProblemType("Forbidden", 403, "Forbidden", stands_for=(403,)),
    ProblemType("NotFound", 404, "Not found", stands_for=(404,)),
    ProblemType("NetworkNotFound", 404, "Network not found", family="NotFound"),
    ProblemType("PortNotFound", 404, "Port not found", family="NotFound"),
    ProblemType("TokenNotFound", 404, "Token not found", family="NotFound"),
    ProblemType("BatchNotFound", 404, "Batch not found", family="NotFound"),
    ProblemType("QosPolicyNotFound", 404, "QoS policy not found", family="NotFound"),
    ProblemType("QosRuleNotFound", 404, "QoS rule not found", family="NotFound"),
    ProblemType("TagNotFound", 404, "Tag not found", family="NotFound"),
    ProblemType("MethodNotAllowed", 405, "Method not allowed", stands_for=(405,)),
    ProblemType("Conflict", 409, "Conflict", stands_for=(409,)),
    ProblemType("NetworkInUse", 409, "Network in use", family="Conflict"),
    ProblemType("PortInUse", 409, "Port in use", family="Conflict"),
    ProblemType("AlreadyAttached", 409, "Already attached", family="Conflict"),
    ProblemType("MacAddressInUse", 409, "MAC address in use", family="Conflict"),
    # Neutron's answer to a second QoS rule of one type and direction (its database refuses it).
    ProblemType("NeutronDbObjectDuplicateEntry", 409, "Duplicate entry", family="Conflict"),
    ProblemType("ResourceNotAvailable", 409, "Resource not available", family="Conflict"),
    ProblemType("QosPolicyInUse", 409, "QoS policy in use", family="Conflict"),
    ProblemType("NothingToRetry", 409, "Nothing to retry", family="Conflict"),
    ProblemType("NothingToCancel", 409, "Nothing to cancel", family="Conflict"),
    ProblemType("IdempotencyKeyReused", 422, "Idempotency key reused"),
    ProblemType("RequestTooLarge", 413, "Request too large", stands_for=(413,)),
    ProblemType("UnsupportedMediaType", 415, "Unsupported media type", stands_for=(415,)),
    ProblemType("TooManyRequests", 429, "Too many requests", stands_for=(429,), retry_after=1),
    ProblemType("ServiceUnavailable", 503, "Service unavailable", stands_for=(503,), retry_after=5),
)

BY_CODE: dict[str, ProblemType] = {row.code: row for row in PROBLEMS}


def problem_classes(base: type[Exception], namespace: str) -> dict[str, type]:
    """One exception class per row, subclassing its family's class (or `base`), in table order.

    `namespace` becomes the classes' __module__, so they print and pickle as that module's names."""
    classes: dict[str, type] = {}
    for row in PROBLEMS:
        parent = classes[row.family] if row.family else base
        attributes = {"__module__": namespace, "__doc__": f"{row.status} {row.title}.", "problem_type": row,
                      "status": row.status, "title": row.title}
        classes[row.code] = type(row.code, (parent,), attributes)
    return classes


def codes_by_status() -> dict[int, list[str]]:
    """The codes the API may answer with each HTTP status, for documentation."""
    grouped: dict[int, list[str]] = {}
    for row in PROBLEMS:
        grouped.setdefault(row.status, []).append(row.code)
    return dict(sorted(grouped.items()))
