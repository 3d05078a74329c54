"""Status values of every resource, defined once for the API, the workflows and the plugins."""

from enum import StrEnum
from typing import Final


class ResourceType(StrEnum):
    NETWORK = "network"
    PORT = "port"
    BATCH = "batch"


class NetworkStatus(StrEnum):
    PROVISIONING = "PROVISIONING"
    AVAILABLE = "AVAILABLE"
    ERROR = "ERROR"


class PortStatus(StrEnum):
    PROVISIONING = "PROVISIONING"
    DOWN = "DOWN"
    ACTIVE = "ACTIVE"
    ERROR = "ERROR"


class AttachmentStatus(StrEnum):
    PROVISIONING = "PROVISIONING"
    AVAILABLE = "AVAILABLE"
    ERROR = "ERROR"


class AdminState(StrEnum):
    """A port's admin `state`; a provisioned port's status is its admin state."""

    ACTIVE = "ACTIVE"
    DOWN = "DOWN"


class LinkStatus(StrEnum):
    UP = "UP"
    DOWN = "DOWN"
    UNKNOWN = "UNKNOWN"


class BatchStatus(StrEnum):
    PROVISIONING = "PROVISIONING"
    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"
    ERROR = "ERROR"


# The two values every resource's status has, for code that handles any kind of resource (or batch).
PROVISIONING: Final = NetworkStatus.PROVISIONING
ERROR: Final = NetworkStatus.ERROR

NO_ATTACHMENT = "no attachment"


class QosStatus(StrEnum):
    """A port's `qos_status` (null when no policy applies): PROVISIONING while being applied or
    waiting for what it needs (e.g. the interface on its host), AVAILABLE once the device reads back
    what was asked, ERROR when it does not (lost, changed by hand) or the policy was refused."""

    PROVISIONING = "PROVISIONING"
    AVAILABLE = "AVAILABLE"
    ERROR = "ERROR"
