"""An attribute of a Neutron resource, as neutron-lib's RESOURCE_ATTRIBUTE_MAP describes one,
plus where netprov keeps it: `read` renders it from a store row, `column` is the same value as
an SQL expression (filters and sorting run in the database), `target` names the field of the
shared write input it feeds (None: not writable through the shared layer yet).

Validators take the request's value and return the checked (converted) value or raise
InvalidValue with Neutron's wording; converters turn a query-string value into a column value.
"""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.sql import ColumnElement

from api.problems import BadRequest


class _NotSpecified:
    def __repr__(self) -> str:
        return "ATTR_NOT_SPECIFIED"


# neutron-lib's constants.ATTR_NOT_SPECIFIED: optional, and absent when not given.
NOT_SPECIFIED: Any = _NotSpecified()
# No default: the attribute must be given on POST.
REQUIRED: Any = object()


class InvalidValue(ValueError):
    """A value an attribute refuses; the message is the NeutronError message."""


Validator = Callable[[Any], Any]


@dataclass(frozen=True)
class Attribute:
    name: str
    read: Callable[[Any], Any]
    allow_post: bool = False
    allow_put: bool = False
    default: Any = NOT_SPECIFIED
    validate: Validator | None = None
    visible: bool = True
    is_filter: bool = False
    is_sort_key: bool = False
    # The value as SQL, over the resource's table; None: computed only in Python.
    column: Callable[[], ColumnElement] | None = None
    # A query-string value -> what `column` compares with (default: the string itself).
    convert_filter: Callable[[str], Any] | None = None
    # A custom filter (values -> WHERE clause), for attributes whose SQL is not an equality.
    filter_clause: Callable[[list[Any]], ColumnElement] | None = None
    target: str | None = None


def checked(name: str, check: Callable[[Any], Any] | None, value: Any) -> Any:
    """`check(value)`, its refusal as the 400 Neutron answers: "Invalid input for NAME. Reason: ..."."""
    if check is None:
        return value
    try:
        return check(value)
    except InvalidValue as error:
        raise BadRequest(f"Invalid input for {name}. Reason: {error}.") from None


# -- validators (neutron_lib.api.validators, the ones our tables use) ----------------------


def string(max_length: int) -> Validator:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidValue(f"'{_short(value)}' is not a valid string")
        if len(value) > max_length:
            raise InvalidValue(f"'{_short(value)}' exceeds maximum length of {max_length}")
        if "\x00" in value:
            raise InvalidValue("Strings cannot contain a NUL character")
        return value

    return check


def or_none(check: Validator) -> Validator:
    """`check`, and null accepted as it is (binding:host_id null clears, as "" does)."""
    return lambda value: None if value is None else check(value)


def boolean(value: Any) -> bool:
    """neutron-lib convert_to_boolean: bools, 0/1, and 'true'/'false'/'0'/'1' in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise InvalidValue(f"'{_short(value)}' cannot be converted to boolean")


def uuid_value(value: Any) -> str:
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise InvalidValue(f"'{_short(value)}' is not a valid UUID")


def uuid_or_none(value: Any) -> str | None:
    return None if value is None else uuid_value(value)


def one_of(*allowed: str) -> Validator:
    def check(value: Any) -> str:
        if value not in allowed:
            raise InvalidValue(f"'{_short(value)}' is not in {list(allowed)}")
        return value

    return check


_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


def mac_address(value: Any) -> str:
    """A unicast MAC, sanitized to lower case with colons (convert_to_sanitized_mac_address)."""
    if not isinstance(value, str) or not _MAC.match(value):
        raise InvalidValue(f"'{_short(value)}' is not a valid MAC address")
    mac = value.lower().replace("-", ":")
    if int(mac[:2], 16) & 1 or mac == "00:00:00:00:00:00":
        raise InvalidValue(f"'{_short(value)}' is not a valid MAC address")
    return mac


def empty_list(value: Any) -> list:
    """fixed_ips: netprov allocates no addresses, so only [] is accepted."""
    if value != []:
        raise InvalidValue("Invalid data format for fixed IP: netprov allocates no IP addresses; send []")
    return []


def unique_strings(max_length: int) -> Validator:
    """list_of_unique_strings (tags)."""
    item = string(max_length)

    def check(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise InvalidValue(f"'{_short(value)}' is not a list")
        checked = [item(v) for v in value]
        if len(set(checked)) != len(checked):
            raise InvalidValue(f"Duplicate items in the list: '{_short(value)}'")
        return checked

    return check


def integer(value: str) -> int:
    """A query-string integer (revision_number=, mtu=)."""
    try:
        return int(value)
    except ValueError:
        raise InvalidValue(f"'{_short(value)}' is not an integer") from None


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
