"""Output formats, as the `openstack` CLI has them: `-f table|json|yaml|value|csv` and `-c COLUMN`
(repeatable) on every command that lists or shows resources.

- table: a table (a list), or field/value lines (one resource); coloured on a terminal.
- json, yaml: the resource bodies as the API answers them; with -c only those fields.
- value: the values only, space-separated, one resource per line (a list), or one value per line
  (one resource): for `$(netprov network create web -f value -c id)`.
- csv: a header line and one line per resource, every field quoted.

Columns are the body's field names (`id`, `status`, `link_status`, ...); -c accepts any field of
the body, not only the default columns, in any case. An unknown column is a usage error naming the
known ones.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import typer
import yaml
from pydantic import BaseModel
from rich.table import Table
from rich.text import Text


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"
    value = "value"
    csv = "csv"


FormatOpt = Annotated[
    OutputFormat | None,
    typer.Option("-f", "--format", help="Output format (default table; --json is -f json).", case_sensitive=False),
]
ColumnOpt = Annotated[
    list[str] | None,
    typer.Option("-c", "--column", metavar="COLUMN", help="Show this column (repeat for more; any field name)."),
]


@dataclass(frozen=True)
class Column:
    """A column: `key` is the body's field; `plain` its text for value/csv/table, `styled` for a table cell."""

    key: str
    plain: Callable[[dict], str] | None = None
    styled: Callable[[dict], Text] | None = None
    wrap: bool = True

    def text(self, row: dict) -> str:
        if self.plain is not None:
            return self.plain(row)
        return _plain(row.get(self.key))

    def cell(self, row: dict) -> Text:
        return self.styled(row) if self.styled is not None else Text(self.text(row))


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, separators=(",", ":"))
    return str(value)


def as_dict(value: Any) -> dict:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else dict(value)


def choose(defaults: Sequence[Column], rows: list[dict], wanted: list[str] | None) -> list[Column]:
    """The columns to show: the defaults, or those asked for with -c (in that order)."""
    if not wanted:
        return list(defaults)
    by_key = {c.key: c for c in defaults}
    known = list(by_key) + sorted({k for row in rows for k in row} - set(by_key))
    chosen = []
    for name in wanted:
        key = name.strip().lower()
        if key not in by_key and not any(key in row for row in rows) and rows:
            raise typer.BadParameter(f"no column {name!r}; columns: {', '.join(known)}", param_hint="-c/--column")
        chosen.append(by_key.get(key, Column(key)))
    return chosen


def render_list(fmt: OutputFormat, defaults: Sequence[Column], items: list, wanted: list[str] | None,
                table: Callable[[], Table], echo: Callable[[Any], None]) -> None:
    """Print `items` (models or dicts) in `fmt`; `table()` makes the empty rich table, `echo`
    prints a string or a rich renderable."""
    rows = [as_dict(item) for item in items]
    columns = choose(defaults, rows, wanted)
    if fmt in (OutputFormat.json, OutputFormat.yaml):
        data = rows if not wanted else [{c.key: row.get(c.key) for c in columns} for row in rows]
        echo(dump(fmt, data))
    elif fmt == OutputFormat.value:
        for row in rows:
            echo(" ".join(c.text(row) for c in columns))
    elif fmt == OutputFormat.csv:
        echo(_csv([[c.key for c in columns], *[[c.text(row) for c in columns] for row in rows]]))
    else:
        rendered = table()
        for column in columns:
            rendered.add_column(column.key.upper(), no_wrap=not column.wrap, overflow="fold")
        for row in rows:
            rendered.add_row(*[c.cell(row) for c in columns])
        echo(rendered)


def render_one(fmt: OutputFormat, defaults: Sequence[Column], item: Any, wanted: list[str] | None,
               echo: Callable[[Any], None]) -> None:
    """Print one resource in `fmt` (a table is field/value lines)."""
    row = as_dict(item)
    columns = choose(defaults, [row], wanted)
    if fmt in (OutputFormat.json, OutputFormat.yaml):
        echo(dump(fmt, row if not wanted else {c.key: row.get(c.key) for c in columns}))
    elif fmt == OutputFormat.value:
        for column in columns:
            echo(column.text(row))
    elif fmt == OutputFormat.csv:
        echo(_csv([[c.key for c in columns], [c.text(row) for c in columns]]))
    else:
        rendered = Table(show_header=False, box=None, pad_edge=False)
        rendered.add_column(style="bold", no_wrap=True)
        rendered.add_column(overflow="fold")
        for column in columns:
            cell = column.cell(row)
            rendered.add_row(column.key, cell if cell.plain else Text("-"))
        echo(rendered)


def dump(fmt: OutputFormat, data: Any) -> str:
    """`data` (plain JSON values) as YAML text, or JSON for any other format."""
    if fmt == OutputFormat.yaml:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")
    return json.dumps(data, indent=2, default=str)


def _csv(lines: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(lines)
    return buffer.getvalue().rstrip("\n")
