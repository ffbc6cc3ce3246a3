"""``SchemaOf(record)``: metadata for ``Annotated`` saying that a JSON object written by a
record's ``to_json`` is described by that record's own schema, so its fields are declared
once.

It speaks pydantic's hook (``__get_pydantic_core_schema__``, which pydantic looks for on
any ``Annotated`` metadata) without importing pydantic: the typed-JSON modules that use it
are read at run time by the store and the command line, and only the web's OpenAPI
generation asks for schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SchemaOf:
    record: type

    def __get_pydantic_core_schema__(self, _source: Any, handler: Callable[[Any], Any]) -> Any:
        return handler(self.record)
