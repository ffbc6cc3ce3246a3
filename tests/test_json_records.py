"""The one writer of records as JSON: what every answer, event and stream frame is made of."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

from companion.json_records import WritesItself, fields_json, to_json


class Colour(enum.Enum):
    CALM = "calm"


@dataclasses.dataclass(frozen=True)
class Inner:
    colour: Colour
    beats: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class Stamped(WritesItself):
    label: str
    mono: float

    def to_json(self) -> dict[str, Any]:
        return {"kind": "stamped", "label": self.label}


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner
    inners: tuple[Inner, ...]
    stamped: Stamped
    extra: dict[str, Any]
    missing: Inner | None = None


def test_a_record_is_its_fields_in_order_with_enums_by_value_and_tuples_as_lists() -> None:
    outer = Outer(
        name="a",
        inner=Inner(Colour.CALM, (1000.0, 990.5)),
        inners=(Inner(Colour.CALM, ()),),
        stamped=Stamped("s", mono=12.5),
        extra={"pattern": (4.0, 6.0), "colour": Colour.CALM},
    )

    written = to_json(outer)

    assert written == {
        "name": "a",
        "inner": {"colour": "calm", "beats": [1000.0, 990.5]},
        "inners": [{"colour": "calm", "beats": []}],
        # A record that writes itself is written its way wherever it is nested.
        "stamped": {"kind": "stamped", "label": "s"},
        "extra": {"pattern": [4.0, 6.0], "colour": "calm"},
        "missing": None,
    }
    assert list(written) == [field.name for field in dataclasses.fields(Outer)]
    assert json.loads(json.dumps(written)) == written


def test_fields_json_writes_a_self_writing_record_by_its_fields() -> None:
    # What a record's own to_json builds on: its fields, without calling itself again.
    assert fields_json(Stamped("s", mono=1.0)) == {"label": "s", "mono": 1.0}
    assert to_json(Stamped("s", mono=1.0)) == {"kind": "stamped", "label": "s"}
