"""The generic controller: list and show for every resource of definitions.py, in SQL.

Scope: a project's token sees its project's rows; an admin token sees every project. Filters,
sorting and keyset pagination run in the database (indexes on tenant_id, network_id, status),
so a page of 10,000 ports costs one indexed query. Pagination follows Neutron's native helper:
the primary key ends every sort; `marker` is the id of the row the page starts after (before,
with `page_reverse`), unknown or out of scope: 404 as the resource's NotFound; the links are
Neutron's (api_common.get_pagination_links): `next` unless a forward page came back short,
`previous` unless a reverse page did.
"""

import uuid
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, or_, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from api.auth import Caller
from api.neutron.definitions import Resource, any_of
from api.neutron.query import ListQuery


def scope(resource: Resource, caller: Caller) -> list[ColumnElement]:
    return [] if caller.admin else [resource.table.tenant_id == caller.tenant_id]


def show(session: Session, resource: Resource, caller: Caller, item_id: str, fields: list[str]) -> dict[str, Any]:
    """One body, or the resource's NotFound (also for a name, a non-UUID, another project's id)."""
    row = session.execute(rows_of(resource).where(resource.table.id == _uuid(resource, item_id), *scope(resource, caller))).first()
    if row is None:
        raise resource.not_found(item_id)
    return resource.body(row, fields)


def row_of(session: Session, resource: Resource, caller: Caller, item_id: str) -> Any:
    """The store row a write acts on (an ORM object), or the resource's NotFound, exactly as `show`
    answers (a name, a non-UUID, another project's id)."""
    row = session.get(resource.table, _uuid(resource, item_id))
    if row is None or not (caller.admin or row.tenant_id == caller.tenant_id):
        raise resource.not_found(item_id[:80])
    return row


def _uuid(resource: Resource, value: str) -> str:
    """`value` as the canonical UUID; anything else cannot name a row: NotFound, before any query
    (PostgreSQL would refuse a NUL in it, which must still be a 404 here)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise resource.not_found(value[:80]) from None


def rows_of(resource: Resource):
    # Core rows, not ORM objects: the translator only reads attributes, and 10,000 of them
    # materialize several times faster without identity-map bookkeeping.
    return select(*resource.table.__table__.c, *resource.joined())


def body_by_id(session: Session, resource: Resource, item_id: str) -> dict[str, Any] | None:
    """The body of the row with that id, whoever owns it (a write's answer); None once gone."""
    row = session.execute(rows_of(resource).where(resource.table.id == item_id)).first()
    return None if row is None else resource.body(row)


def list_page(
    session: Session, resource: Resource, caller: Caller, query: ListQuery, url: str, params: list[tuple[str, str]]
) -> dict[str, Any]:
    """`{collection: [...], collection_links: [...]}` (links only with a limit)."""
    where = scope(resource, caller) + [_filter(resource, name, values) for name, values in query.filters.items()]
    sorts = _sort_columns(resource, query)
    if query.marker is not None:
        where.append(_after_marker(session, resource, caller, sorts, query))
    order = [(column.asc() if asc != query.page_reverse else column.desc()) for column, asc in sorts]
    statement = rows_of(resource).where(*where).order_by(*order)
    if query.limit:
        statement = statement.limit(query.limit)
    rows = list(session.execute(statement))
    if query.page_reverse:
        rows.reverse()
    page: dict[str, Any] = {resource.collection: [resource.body(row, query.fields) for row in rows]}
    links = pagination_links([row.id for row in rows], query, url, params)
    if links:
        page[f"{resource.collection}_links"] = links
    return page


def _filter(resource: Resource, name: str, values: list[Any]) -> ColumnElement:
    attribute = resource.attribute(name)
    assert attribute is not None  # query.parse accepted only known filters
    if attribute.filter_clause is not None:
        return attribute.filter_clause(values)
    assert attribute.column is not None, f"{name} is a filter without a column"
    return any_of(attribute.column(), values)


def _sort_columns(resource: Resource, query: ListQuery) -> list[tuple[ColumnElement, bool]]:
    sorts = list(query.sorts)
    if "id" not in [name for name, _ in sorts]:
        sorts.append(("id", True))  # a total order, so that a marker names one position
    columns = []
    for name, asc in sorts:
        attribute = resource.attribute(name)
        assert attribute is not None and attribute.column is not None
        columns.append((attribute.column(), asc))
    return columns


def _after_marker(
    session: Session, resource: Resource, caller: Caller, sorts: list[tuple[ColumnElement, bool]], query: ListQuery
) -> ColumnElement:
    """Rows strictly after the marker row in the page's direction (keyset pagination)."""
    marker_values = session.execute(
        select(*[column for column, _ in sorts]).where(
            resource.table.id == _uuid(resource, query.marker), *scope(resource, caller)
        )
    ).first()
    if marker_values is None:
        raise resource.not_found(query.marker)
    alternatives = []
    for i, (column, asc) in enumerate(sorts):
        forward = asc != query.page_reverse
        beyond = column > marker_values[i] if forward else column < marker_values[i]
        alternatives.append(and_(*[c == marker_values[j] for j, (c, _) in enumerate(sorts[:i])], beyond))
    return or_(*alternatives)


def pagination_links(ids: list[str], query: ListQuery, url: str, params: list[tuple[str, str]]) -> list[dict[str, str]]:
    if not query.limit:
        return []
    kept = [(k, v) for k, v in params if k not in ("marker", "page_reverse")]
    links = []
    if not (len(ids) < query.limit and not query.page_reverse):
        after = kept + ([("marker", ids[-1])] if ids else [])
        links.append({"rel": "next", "href": f"{url}?{urlencode(after)}"})
    if not (len(ids) < query.limit and query.page_reverse):
        before = kept + ([("marker", ids[0])] if ids else []) + [("page_reverse", "True")]
        links.append({"rel": "previous", "href": f"{url}?{urlencode(before)}"})
    return links
