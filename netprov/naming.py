"""Temporal contract names shared by the API, the workflows and the workers: workflow types and ids,
task queues, signal, update, query and activity names, search attributes, error types. One place for each."""

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


# -- Temporal contract names: recorded in every history and used by running workflows, so their values never
# change (tests/replay replays histories recorded with them). Plain str constants, as the SDK sends them.


class WorkflowType:
    NETWORK = "NetworkWorkflow"
    PORT = "PortWorkflow"
    BATCH = "BatchWorkflow"
    LINK_MONITOR = "LinkMonitorWorkflow"


class Signal:
    ENQUEUE = "enqueue"  # network, port: one accepted operation (also the start signal)
    CANCEL_OPERATION = "cancel_operation"  # network, port: operator cancel of the operation in flight
    WATCH = "watch"  # network: a port waits for it to settle
    PORT_GONE = "port_gone"  # network: a waiting port was deleted
    NETWORK_SETTLED = "network_settled"  # port: its network settled
    CONFIGURE = "configure"  # link monitor: settings (the start signal)
    CHECK_NOW = "check_now"  # link monitor: run a cycle at once
    CANCEL_BATCH = "cancel"  # batch: start no more chunks


class Update:
    WAIT_APPLIED = "wait_applied"  # network, port: returns once operation `seq` is applied


class Query:
    DESCRIBE = "describe"  # network, port, link monitor
    BATCH_PROGRESS = "progress"


class Activity:
    DB_RECORD_STATUS = "db_record_status"
    DB_REMOVE_RESOURCE = "db_remove_resource"
    DB_READ_NETWORK = "db_read_network"
    DB_READ_APPLIED_SEQ = "db_read_applied_seq"
    DB_COUNT_PORTS = "db_count_ports"
    PLUGIN_LINK_STATUS = "plugin_link_status"
    LINK_MONITOR_PLAN = "link_monitor_plan"
    LINK_MONITOR_MARK_DEAD = "link_monitor_mark_dead"
    LINK_CHECK_HOST = "link_check_host"
    BATCH_LOAD = "batch_load"
    BATCH_SETTLE = "batch_settle"
    BATCH_CANCEL_PENDING = "batch_cancel_pending"
    BATCH_FAIL_ITEMS = "batch_fail_items"
    BATCH_CREATE_NETWORKS = "batch_create_networks"
    BATCH_CREATE_PORTS = "batch_create_ports"
    BATCH_PLUG_INTERFACES = "batch_plug_interfaces"
    # Plugin steps are dynamic: step_activity_name(plugin, step).


LINK_MONITOR_ID = "link-monitor"


def link_monitor_id(task_queue: str) -> str:
    """One monitor per deployment (task queue) in a namespace."""
    return LINK_MONITOR_ID if task_queue == TASK_QUEUE else f"{LINK_MONITOR_ID}-{task_queue}"
