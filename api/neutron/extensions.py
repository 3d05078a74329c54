"""The extensions netprov serves, described as Neutron describes them (neutron-lib's
api/definitions/*.py and neutron/extensions/*.py: name, alias, description, updated). Serving
an alias is a promise: each one here is backed by the attribute tables and the controller."""

from typing import Any

# alias -> (name, description, updated)
_SERVED: dict[str, tuple[str, str, str]] = {
    "binding": ("Port Binding", "Expose port bindings of a virtual port to external application",
                "2014-02-03T10:00:00-00:00"),
    "data-plane-status": ("Port data plane status extension", "Expose status of underlying data plane",
                          "2017-01-24T10:00:00-00:00"),
    "qos": ("Quality of Service", "The Quality of Service extension.", "2015-06-08T10:00:00-00:00"),
    "qos-bw-limit-direction": ("Direction for QoS bandwidth limit rule",
                               "Allow to configure QoS bandwidth limit rule with specific direction: ingress or egress",
                               "2017-04-10T10:00:00-00:00"),
    "qos-port-network-policy": ("QoS port network policy ID", "Adds a the QoS network ID to the port definition",
                                "2019-11-01T10:00:00-00:00"),
    "pagination": ("Pagination support", "Extension that indicates that pagination is enabled.",
                   "2016-06-12T00:00:00-00:00"),
    "sorting": ("Sorting support", "Extension that indicates that sorting is enabled.", "2016-06-12T00:00:00-00:00"),
    "filter-validation": ("Filter parameters validation", "Provides validation on filter parameters.",
                          "2018-07-04T10:00:00-00:00"),
    "standard-attr-description": ("standard-attr-description", "Extension to add descriptions to standard attributes",
                                  "2016-02-10T10:00:00-00:00"),
    "standard-attr-revisions": ("Resource revision numbers",
                                "This extension will display the revision number of neutron resources.",
                                "2016-04-11T10:00:00-00:00"),
    "standard-attr-timestamp": ("Resource timestamps",
                                "Adds created_at and updated_at fields to all Neutron resources that have Neutron "
                                "standard attributes.", "2016-09-12T10:00:00-00:00"),
    "standard-attr-tag": ("Tag support for resources with standard attribute: network, port, policy",
                          "Enables to set tag on resources with standard attribute.", "2017-01-01T00:00:00-00:00"),
    "tag-ports-during-bulk-creation": ("Tag Ports During Bulk Creation",
                                       "Allow to tag ports during bulk creation", "2019-12-29T19:00:00-00:00"),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource.", "2015-03-25T10:00:00-00:00"),
    "project-id": ("project_id field enabled", "Extension that indicates that project_id field is enabled.",
                   "2016-09-09T09:09:09-09:09"),
}


def extension(alias: str) -> dict[str, Any] | None:
    served = _SERVED.get(alias)
    if served is None:
        return None
    name, description, updated = served
    return {"name": name, "alias": alias, "description": description, "updated": updated, "links": []}


def extensions() -> list[dict[str, Any]]:
    return [extension(alias) for alias in sorted(_SERVED)]  # type: ignore[misc]
