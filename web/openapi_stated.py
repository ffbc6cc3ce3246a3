"""The two schemas of /api that are not generated from a type: a routine's name, which the
served document narrows to the names there are now (an enum filled in per request), and the
error body every refusal has (web/problems.py), which may carry more than its message.
web/openapi.py generates every other schema from the typed records the server uses.
"""

from __future__ import annotations

from typing import Any, Final

from web.body import MAX_ROUTINE_NAME

ROUTINE_NAME: Final = "RoutineName"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


STATED_SCHEMAS: Final[dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "field": {"type": "string"},
            "known": {"type": "array", "items": {"type": "string"}},
        },
    },
    ROUTINE_NAME: {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ROUTINE_NAME,
        "description": "The name of one of GET /api/routines. The served document lists "
        "them (as an enum) for callers allowed to read them.",
    },
}
