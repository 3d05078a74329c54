"""Tag filters of standard-attr-tag: `tags=a,b` (all of), `tags-any=a,b`, `not-tags=a,b` (not all
of), `not-tags-any=a,b` (none of), in SQL. Tags are a JSON list column, written by json.dumps
(`["a", "b"]`); a row has a tag when that text holds the tag's JSON string right after `[` or
`, `. Inside a JSON string every `"` is escaped (`\\"`), so an unescaped quote after `[` or `, ` is
an item's opening quote: no tag matches inside another (`x", "a` is stored `"x\\", \\"a"`)."""

import json
from collections.abc import Callable

from sqlalchemy import String, and_, cast, false, not_, or_, true
from sqlalchemy.sql import ColumnElement


def _has_tag(table: type, tag: str) -> ColumnElement:
    needle = json.dumps(tag)
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    text = cast(table.tags, String)
    return or_(text.like(f"[{escaped}%", escape="\\"), text.like(f"%, {escaped}%", escape="\\"))


def _split(values: list[str]) -> list[str]:
    # Repeated parameters and comma-separated values both count.
    return [tag for value in values for tag in value.split(",") if tag]


def tag_filters(table: type) -> dict[str, Callable[[list[str]], ColumnElement]]:
    if "tags" not in table.__table__.c:  # a resource without tags has none of them
        return {"tags": lambda _: false(), "tags-any": lambda _: false(),
                "not-tags": lambda _: true(), "not-tags-any": lambda _: true()}
    def all_of(values: list[str]) -> ColumnElement:
        return and_(*(_has_tag(table, t) for t in _split(values)))

    def any_of(values: list[str]) -> ColumnElement:
        return or_(*(_has_tag(table, t) for t in _split(values)))

    return {
        "tags": all_of,
        "tags-any": any_of,
        "not-tags": lambda values: not_(all_of(values)),
        "not-tags-any": lambda values: not_(any_of(values)),
    }
