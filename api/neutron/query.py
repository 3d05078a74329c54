"""A list request's query string, parsed once for every resource as Neutron's controller does
(neutron/api/v2/base.py, api_common.py): `fields` (repeatable), filters by attribute equality
(repeated: any of; an unknown or non-filter attribute is 400, as filter-validation answers),
`sort_key`/`sort_dir` (paired), `limit`, `marker`, `page_reverse`."""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from api.neutron.attributes import boolean, checked
from api.neutron.definitions import Resource
from api.problems import BadRequest

CONTROL = frozenset({"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"})


@dataclass(frozen=True)
class ListQuery:
    fields: list[str] = field(default_factory=list)
    # attribute name -> the values it may have (converted for its column)
    filters: dict[str, list[Any]] = field(default_factory=dict)
    # (attribute name, ascending), in order
    sorts: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False


def fields_of(params: list[tuple[str, str]]) -> list[str]:
    return [name for key, value in params if key == "fields" for name in value.split(",") if name]


def parse(resource: Resource, params: list[tuple[str, str]]) -> ListQuery:
    """Check and convert the query parameters of a list of `resource`; BadRequest otherwise."""
    raw: dict[str, list[str]] = defaultdict(list)
    for key, value in params:
        raw[key].append(value)
    filters: dict[str, list[Any]] = {}
    for name, values in raw.items():
        if name in CONTROL:
            continue
        attribute = resource.attribute(name)
        if attribute is None or not attribute.is_filter:
            raise BadRequest(f"[{name[:80]}] is invalid attribute for filtering")
        filters[name] = [checked(name, attribute.convert_filter, v) for v in values]
    return ListQuery(
        fields=fields_of(params),
        filters=filters,
        sorts=_sorts(resource, raw.get("sort_key", []), raw.get("sort_dir", [])),
        limit=_limit(raw.get("limit", [])),
        marker=_last(raw.get("marker", [])),
        page_reverse=_page_reverse(raw.get("page_reverse", [])),
    )


def _sorts(resource: Resource, keys: list[str], dirs: list[str]) -> list[tuple[str, bool]]:
    if len(keys) != len(dirs):
        raise BadRequest("The number of sort_keys and sort_dirs must be same")
    invalid_keys = [k for k in keys if not ((a := resource.attribute(k)) and a.is_sort_key)]
    if invalid_keys:
        raise BadRequest(f"{invalid_keys} is invalid attribute for sort_keys")
    invalid_dirs = [d for d in dirs if d not in ("asc", "desc")]
    if invalid_dirs:
        raise BadRequest(f"{invalid_dirs} is invalid value for sort_dirs, valid value is 'asc' and 'desc'")
    return [(k, d == "asc") for k, d in zip(keys, dirs, strict=True)]


def _limit(values: list[str]) -> int | None:
    value = _last(values)
    if value is None:
        return None
    try:
        limit = int(value)
    except ValueError:
        raise BadRequest(f"Limit must be an integer 0 or greater and not '{value[:40]}'") from None
    if limit < 0:
        raise BadRequest(f"Limit must be an integer 0 or greater and not '{limit}'")
    return limit or None  # 0: no limit, as Neutron


def _page_reverse(values: list[str]) -> bool:
    value = _last(values)
    return False if value is None else checked("page_reverse", boolean, value)


def _last(values: list[str]) -> str | None:
    return values[-1] if values else None
