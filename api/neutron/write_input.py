"""The write side's translator: a Neutron request body -> the checked values the shared write
layer takes, keyed by each attribute's `target` (definitions.py). Pure functions, no database:
phase 2 hands their result to the shared write flow.

Checks, in Neutron's order and wording (neutron/api/v2/base.py prepare_request_body):
the body is `{member: {...}}` (or `{collection: [...]}` for bulk); every key is an attribute of
the resource (else "Unrecognized attribute(s)"); POST only sets allow_post attributes, PUT only
allow_put ones; required ones are present; each value passes its validator; on POST, defaults
fill the rest. Then netprov's own limits, where a Neutron value has no netprov meaning
(a network is always admin up and never shared). The project: the caller's, and only an admin
may name another (Neutron's 400).

Targets: name, description, tags, tenant_id, network_id, mac_address, device_id, device_owner,
qos_policy_id; `admin_state_up` -> `state` (ACTIVE/DOWN); `binding:host_id` -> `host` ("" clears
it: detach; set: attach the interface named by the port id on that host, the Nova convention).
"""

from dataclasses import dataclass, field
from typing import Any

from api.auth import Caller
from api.neutron.attributes import NOT_SPECIFIED, REQUIRED, checked
from api.neutron.definitions import NETWORK, PORT, Resource
from api.problems import BadRequest
from netprov.status import AdminState

MAX_BULK = 1000


@dataclass(frozen=True)
class WriteInput:
    """What one create or update asks of the shared write layer."""

    resource: str  # "network" | "port"
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def project_id(self) -> str | None:
        return self.values.get("tenant_id")


def create_inputs(resource: Resource, body: Any, caller: Caller) -> tuple[list[WriteInput], bool]:
    """The inputs of a POST (one, or a bulk `{collection: [...]}`), and whether it was bulk."""
    if isinstance(body, dict) and set(body) == {resource.collection}:
        items = body[resource.collection]
        if not isinstance(items, list) or not items:
            raise BadRequest("Resources required")
        if len(items) > MAX_BULK:
            raise BadRequest(f"At most {MAX_BULK} {resource.collection} in one bulk request")
        return [_create(resource, item, caller) for item in items], True
    return [_create(resource, _member(resource, body), caller)], False


def update_input(resource: Resource, body: Any) -> WriteInput:
    """The changes of a PUT: only the attributes given (an empty body changes nothing)."""
    attributes = _member(resource, body)
    values: dict[str, Any] = {}
    for name, value in attributes.items():
        attribute = resource.attribute(name)
        assert attribute is not None  # _member refused unknown names
        if not attribute.allow_put:
            raise BadRequest(f"Cannot update read-only attribute {name}")
        values[name] = checked(attribute.name, attribute.validate, value)
    return WriteInput(resource.member, _targets(resource, values))


def _member(resource: Resource, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body:
        raise BadRequest("Resource body required")
    if resource.member not in body:
        raise BadRequest(f"Unable to find '{resource.member}' in request body")
    if len(body) > 1:
        others = ", ".join(sorted(k for k in body if k != resource.member))[:200]
        raise BadRequest(f"Unrecognized attribute(s) '{others}'")
    attributes = body[resource.member]
    if not isinstance(attributes, dict):
        raise BadRequest(f"Invalid format: the '{resource.member}' value must be an object")
    unknown = sorted(name for name in attributes if resource.attribute(name) is None)
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)[:200]}'")
    return attributes


def _create(resource: Resource, item: Any, caller: Caller) -> WriteInput:
    if not isinstance(item, dict):
        raise BadRequest(f"Invalid format: each {resource.member} must be an object")
    attributes = _member(resource, {resource.member: item})
    values: dict[str, Any] = {}
    for attribute in resource.attributes:
        if attribute.name in attributes:
            if not attribute.allow_post:
                raise BadRequest(f"Attribute '{attribute.name}' not allowed in POST")
            values[attribute.name] = checked(attribute.name, attribute.validate, attributes[attribute.name])
        elif attribute.allow_post:
            if attribute.default is REQUIRED:
                raise BadRequest(f"Failed to parse request. Required attribute '{attribute.name}' not specified")
            if attribute.default is not NOT_SPECIFIED:
                values[attribute.name] = attribute.default
    if resource.attribute("project_id") is not None:  # rules belong to their policy, not to a project
        project = _project(values.pop("project_id", None), values.pop("tenant_id", None), caller)
        if project is None and resource is not PORT:  # a port's project is its network's
            raise BadRequest("An admin token has no project of its own: name one with 'project_id'")
        values["project_id"] = project
    return WriteInput(resource.member, _targets(resource, values))


def _project(project_id: str | None, tenant_id: str | None, caller: Caller) -> str | None:
    if project_id is not None and tenant_id is not None and project_id != tenant_id:
        raise BadRequest("'project_id' and 'tenant_id' do not match")
    asked = project_id if project_id is not None else tenant_id
    if asked is None or asked == caller.tenant_id:
        return caller.tenant_id  # None: an admin token naming no project
    if not caller.admin:
        raise BadRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request "
                         "requires admin privileges")
    return asked


def _targets(resource: Resource, values: dict[str, Any]) -> dict[str, Any]:
    """Neutron names -> the shared layer's, with netprov's own limits on Neutron's values."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "project_id":
            out["tenant_id"] = value
            continue
        if resource is NETWORK and name == "admin_state_up":
            if value is not True:
                raise BadRequest("Invalid input for admin_state_up. Reason: netprov networks are always up.")
            continue
        if name in ("shared", "is_default"):  # networks, QoS policies
            if value is not False:
                raise BadRequest(f"Invalid input for {name}. Reason: netprov {resource.collection} are never {name}.")
            continue
        if resource is PORT and name == "admin_state_up":
            out["state"] = (AdminState.ACTIVE if value else AdminState.DOWN).value
            continue
        if resource is PORT and name == "binding:host_id":
            if value and any(c.isspace() for c in value):
                raise BadRequest("Invalid input for binding:host_id. Reason: a host name has no whitespace.")
            out["host"] = value or None
            continue
        attribute = resource.attribute(name)
        if attribute is not None and attribute.target is not None:
            out[attribute.target] = value
        # Else an accepted Neutron value netprov keeps nowhere (fixed_ips [], vnic_type normal).
    return out
