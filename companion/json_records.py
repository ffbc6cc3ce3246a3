"""Records as JSON values, written one way everywhere: a record (a dataclass) by its fields
in order, an enum by its value, a tuple or list as a list, a mapping as an object; and a
record whose JSON is more than its fields (``WritesItself``: an event, a plan) as it
writes itself, wherever it is nested.

The web answers with records whole, the stream sends events, and the OpenAPI description is
generated from the same types, so what is described is what is sent.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class WritesItself:
    """A record whose JSON is not just its fields: an event adds its kind and leaves out its
    monotonic stamp; a plan lists its cues with their writes."""

    __slots__ = ()

    def to_json(self) -> Any:
        raise NotImplementedError


def to_json(value: Any) -> Any:
    """``value`` as JSON values (see the module's description)."""
    if isinstance(value, WritesItself):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return fields_json(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {key: to_json(item) for key, item in value.items()}
    return value


def fields_json(record: DataclassInstance) -> dict[str, Any]:
    """A record's fields by name, in order, each as ``to_json`` writes it."""
    return {
        field.name: to_json(getattr(record, field.name)) for field in dataclasses.fields(record)
    }
