"""Names shared by the API, the workflows and the workers: workflow ids and task queues."""

TASK_QUEUE = "netprov"


def host_task_queue(host: str) -> str:
    """The task queue of the steps bound to hypervisor `host`, served only by its agent."""
    return f"netprov-host-{host}"


def host_check_queue(host: str) -> str:
    """The task queue of the link monitor's liveness check of `host`, served by the agent of `host`
    apart from its steps (slots of its own), so a busy agent still answers at once. A prefix of its
    own: no host's name makes it another host's task queue."""
    return f"netprov-checks-{host}"


def network_workflow_id(network_id: str) -> str:
    return f"network-{network_id}"


def port_workflow_id(port_id: str) -> str:
    return f"port-{port_id}"


def batch_workflow_id(batch_id: str) -> str:
    return f"batch-{batch_id}"


# Search attributes an operator filters on in the Temporal UI.
SA_TENANT = "NetprovTenant"
SA_RESOURCE_TYPE = "NetprovResourceType"
SA_STATUS = "NetprovStatus"
SEARCH_ATTRIBUTES = (SA_TENANT, SA_RESOURCE_TYPE, SA_STATUS)

# ApplicationError types raised by plugin step activities.
TRANSIENT_PLUGIN_ERROR = "TransientPluginError"
PERMANENT_PLUGIN_ERROR = "PermanentPluginError"


def step_activity_name(plugin: str, step: str) -> str:
    """Activity type of one plugin step, e.g. `ovs.plug_interface`: the Temporal UI names what runs."""
    return f"{plugin}.{step}"
