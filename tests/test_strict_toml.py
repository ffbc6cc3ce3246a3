"""The one strict TOML reader: a problem names the file, the field's path and what is allowed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from companion.errors import DataFileError, ProfileError, RoutineError
from companion.strict_toml import Table, decode, read_file


def problem_of(error: DataFileError) -> tuple[str, str]:
    return error.field, error.problem


def title(table: Table) -> object:
    return table.text("title")


def first_step_title(table: Table) -> object:
    return table.element("steps", 0, ("title",)).text("title")


def first_step(table: Table) -> object:
    return table.element("steps", 0)


def steps(table: Table) -> object:
    return table.items("steps")


def nothing(table: Table) -> object:
    return table


@pytest.mark.parametrize(
    ("data", "read", "expected"),
    [
        ({"title": "x", "titel": 1}, nothing, ("titel", "unknown key; allowed: title, steps")),
        ({"title": 3}, title, ("title", "must be non-empty text, not the number 3")),
        ({}, title, ("title", "is required (text)")),
        ({"steps": [{"title": True}]}, first_step_title,
         ("steps[0].title", "must be non-empty text, not true")),
        ({"steps": [2]}, first_step, ("steps[0]", "must be a table, not the number 2")),
        ({"steps": "a"}, steps, ("steps", "must be a list, not text 'a'")),
    ],
)  # fmt: skip
def test_a_problem_names_its_field_path_and_what_is_allowed(
    data: dict[str, object], read: Callable[[Table], object], expected: tuple[str, str]
) -> None:
    with pytest.raises(RoutineError) as caught:
        read(Table(data, "", Path("r.toml"), RoutineError, ("title", "steps")))
    assert caught.value.path == Path("r.toml")
    assert problem_of(caught.value) == expected


def test_text_keeps_its_whitespace_only_when_asked() -> None:
    table = Table({"template": " {text}\n"}, "offers", Path("p.toml"), ProfileError)

    assert (table.text("template"), table.text("template", strip=False)) == ("{text}", " {text}\n")


def test_the_file_kind_follows_the_error_given() -> None:
    with pytest.raises(ProfileError) as caught:
        decode(b"title = ", Path("p.toml"), ProfileError)
    assert caught.value.field == "(file)" and caught.value.problem.startswith("not valid TOML: ")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.toml"
    os.mkfifo(pipe)

    with pytest.raises(RoutineError) as caught:
        read_file(pipe, RoutineError)
    assert problem_of(caught.value) == ("(file)", "is not a regular file")
