"""Client-chosen identifiers (interface ids, hosts, batch refs): 1..255 characters, no whitespace,
no NUL. The rule is checked here, with its error said in words (a client reads "must have no
whitespace", not a regular expression); the OpenAPI schema still shows the pattern."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

PATTERN = r"^[^\s\x00]+$"
RULE = "must be 1 to 255 characters with no whitespace (space, tab, newline) and no NUL character"


def _no_whitespace(value: str) -> str:
    if any(character.isspace() or character == "\x00" for character in value):
        raise PydanticCustomError("no_whitespace", RULE)
    return value


Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(_no_whitespace),
    Field(json_schema_extra={"pattern": PATTERN}),
]
