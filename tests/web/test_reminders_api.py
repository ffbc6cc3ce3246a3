"""/api/reminders: adding, listing, turning off, removing and snoozing reminders, each
change passed on to the running service, and every kind of bad input refused with a 4xx."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from companion.errors import SessionError
from companion.reminders.model import WEEKDAYS, Reminder
from companion.store.reminders import add_reminder, list_reminders
from tests.web.conftest import ROUTINES, T0, FakeCore, schema_problems
from web import WebSettings, create_app

EVENING = {"at": "21:30", "days": ["mon", "wed"], "routine": "bedtime"}


def stored(engine: Engine, at: str = "21:30", days: tuple[str, ...] = WEEKDAYS) -> Reminder:
    hours, minutes = map(int, at.split(":"))
    return add_reminder(
        engine, at=datetime.time(hours, minutes), days=days, routine="bedtime", now_wall=T0
    )


def test_no_reminders_is_an_empty_list(browser_client: FlaskClient) -> None:
    response = browser_client.get("/api/reminders")

    assert (response.status_code, response.get_json()) == (200, {"reminders": []})


def test_adding_stores_the_reminder_answers_201_and_tells_the_service(
    browser_client: FlaskClient, core: FakeCore, engine: Engine
) -> None:
    response = browser_client.post("/api/reminders", json=EVENING)

    body = response.get_json()
    assert response.status_code == 201
    assert body == {
        "id": 1,
        "at": "21:30",
        "days": ["mon", "wed"],
        "routine": "bedtime",
        "enabled": True,
    }
    assert schema_problems("Reminder", body) == []
    assert response.headers["Location"] == "/api/reminders/1"
    assert list_reminders(engine) == [
        Reminder(1, datetime.time(21, 30), ("mon", "wed"), "bedtime", True)
    ]
    assert core.commands == ["reminders_changed"]


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (None, list(WEEKDAYS)),
        ("mon,tue", ["mon", "tue"]),
        ("sun, Sat,", ["sat", "sun"]),
        (["Sunday", "MON"], ["mon", "sun"]),
        (["fri", "fri"], ["fri"]),
        (list(reversed(WEEKDAYS)), list(WEEKDAYS)),
    ],
)
def test_days_may_be_a_list_or_a_string_and_come_back_in_week_order(
    browser_client: FlaskClient, days: Any, expected: list[str]
) -> None:
    response = browser_client.post("/api/reminders", json={**EVENING, "days": days})

    assert response.status_code == 201
    assert response.get_json()["days"] == expected


def test_days_left_out_means_every_day(browser_client: FlaskClient) -> None:
    response = browser_client.post("/api/reminders", json={"at": "7:05", "routine": "morning"})

    assert response.get_json() == {
        "id": 1,
        "at": "07:05",
        "days": list(WEEKDAYS),
        "routine": "morning",
        "enabled": True,
    }


def test_reminders_are_listed_by_time_of_day(browser_client: FlaskClient, engine: Engine) -> None:
    stored(engine, "21:30")
    stored(engine, "07:00", ("sat", "sun"))

    body = browser_client.get("/api/reminders").get_json()

    assert body == {
        "reminders": [
            {
                "id": 2,
                "at": "07:00",
                "days": ["sat", "sun"],
                "routine": "bedtime",
                "enabled": True,
            },
            {"id": 1, "at": "21:30", "days": list(WEEKDAYS), "routine": "bedtime", "enabled": True},
        ]
    }
    assert schema_problems("ReminderList", body) == []


KNOWN = [r.name for r in ROUTINES]


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"days": ["mon"], "routine": "bedtime"}, "at", "required"),
        ({**EVENING, "at": "25:00"}, "at", "HH:MM"),
        ({**EVENING, "at": "21:60"}, "at", "HH:MM"),
        ({**EVENING, "at": "21.30"}, "at", "HH:MM"),
        ({**EVENING, "at": "9pm"}, "at", "HH:MM"),
        ({**EVENING, "at": " 21:30"}, "at", "HH:MM"),
        ({**EVENING, "at": "1_0:30"}, "at", "HH:MM"),
        ({**EVENING, "at": "\N{ARABIC-INDIC DIGIT TWO}1:30"}, "at", "HH:MM"),
        ({**EVENING, "at": 2130}, "at", "HH:MM"),
        ({**EVENING, "at": None}, "at", "HH:MM"),
        ({**EVENING, "days": []}, "days", "every day"),
        ({**EVENING, "days": ""}, "days", "every day"),
        ({**EVENING, "days": "funday"}, "days", "'funday' is not a weekday"),
        ({**EVENING, "days": ["monkey"]}, "days", "'monkey' is not a weekday"),
        ({**EVENING, "days": ["mon", 3]}, "days", "'int' is not a weekday"),
        ({**EVENING, "days": [["mon"]]}, "days", "not a weekday"),
        ({**EVENING, "days": 5}, "days", "weekdays"),
        ({**EVENING, "days": {"mon": True}}, "days", "weekdays"),
        ({**EVENING, "days": ["mon"] * 8}, "days", "weekdays"),
        ({"at": "21:30"}, "routine", "required"),
        ({**EVENING, "routine": ""}, "routine", "required"),
        ({**EVENING, "routine": 5}, "routine", "required"),
        ({**EVENING, "routine": "x" * 201}, "routine", "at most 200"),
        ({**EVENING, "routine": "nap"}, "routine", "no routine called 'nap'"),
        ({**EVENING, "enabled": False}, "enabled", "unknown field"),
    ],
)
def test_a_bad_new_reminder_is_422_naming_the_field_and_nothing_is_stored(
    browser_client: FlaskClient,
    core: FakeCore,
    engine: Engine,
    body: dict[str, Any],
    field: str,
    says: str,
) -> None:
    response = browser_client.post("/api/reminders", json=body)

    answer = response.get_json()
    assert (response.status_code, answer["field"]) == (422, field)
    assert says in answer["error"]
    assert schema_problems("Error", answer) == []
    assert list_reminders(engine) == []
    assert core.commands == []


def test_an_unknown_routine_lists_the_known_ones(browser_client: FlaskClient) -> None:
    answer = browser_client.post("/api/reminders", json={**EVENING, "routine": "nap"}).get_json()

    assert answer["known"] == KNOWN


@pytest.mark.parametrize(
    ("kwargs", "status", "says"),
    [
        (
            {"data": "at=21:30", "content_type": "application/x-www-form-urlencoded"},
            415,
            "application/json",
        ),
        ({"data": "{", "content_type": "application/json"}, 400, "malformed JSON"),
        ({"json": ["21:30"]}, 400, "must be an object"),
        ({}, 400, "body is required"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    browser_client: FlaskClient, kwargs: dict[str, Any], status: int, says: str
) -> None:
    response = browser_client.post("/api/reminders", **kwargs)

    assert response.status_code == status
    assert says in response.get_json()["error"]


def test_one_reminder_can_be_read(browser_client: FlaskClient, engine: Engine) -> None:
    reminder = stored(engine)

    response = browser_client.get(f"/api/reminders/{reminder.id}")

    assert (response.status_code, response.get_json()) == (200, reminder.to_json())


def test_turning_a_reminder_off_and_on_is_stored_and_passed_on(
    browser_client: FlaskClient, core: FakeCore, engine: Engine
) -> None:
    reminder = stored(engine)

    off = browser_client.patch(f"/api/reminders/{reminder.id}", json={"enabled": False})
    stored_off = list_reminders(engine)
    on = browser_client.patch(f"/api/reminders/{reminder.id}", json={"enabled": True})

    assert (off.status_code, off.get_json()) == (200, {**reminder.to_json(), "enabled": False})
    assert stored_off == [Reminder(reminder.id, reminder.at, reminder.days, "bedtime", False)]
    assert on.get_json() == reminder.to_json()
    assert core.commands == ["reminders_changed", "reminders_changed"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "enabled"), ({"enabled": "no"}, "enabled"), ({"enabled": 0}, "enabled"),
     ({"enabled": True, "at": "07:00"}, "at")],
)  # fmt: skip
def test_a_bad_change_is_422_and_changes_nothing(
    browser_client: FlaskClient,
    core: FakeCore,
    engine: Engine,
    body: dict[str, Any],
    field: str,
) -> None:
    reminder = stored(engine)

    response = browser_client.patch(f"/api/reminders/{reminder.id}", json=body)

    assert (response.status_code, response.get_json()["field"]) == (422, field)
    assert list_reminders(engine) == [reminder]
    assert core.commands == []


def test_removing_answers_204_and_the_reminder_is_gone(
    browser_client: FlaskClient, core: FakeCore, engine: Engine
) -> None:
    reminder = stored(engine)

    response = browser_client.delete(f"/api/reminders/{reminder.id}")

    assert (response.status_code, response.get_data()) == (204, b"")
    assert "Content-Type" not in response.headers
    assert list_reminders(engine) == []
    assert browser_client.get(f"/api/reminders/{reminder.id}").status_code == 404
    assert core.commands == ["reminders_changed"]


def test_snoozing_asks_the_service_and_says_when_it_rings_again(
    browser_client: FlaskClient, core: FakeCore, engine: Engine
) -> None:
    reminder = stored(engine)

    response = browser_client.post(f"/api/reminders/{reminder.id}/snooze")

    assert (response.status_code, response.get_json()) == (200, {"at": T0 + 600.0})
    assert schema_problems("Snoozed", response.get_json()) == []
    assert core.commands == [f"snooze:{reminder.id}"]


def test_a_snooze_takes_an_empty_object_but_refuses_any_field(
    browser_client: FlaskClient, core: FakeCore, engine: Engine
) -> None:
    reminder = stored(engine)

    refused = browser_client.post(f"/api/reminders/{reminder.id}/snooze", json={"minutes": 30})
    taken = browser_client.post(f"/api/reminders/{reminder.id}/snooze", json={})

    assert (refused.status_code, refused.get_json()) == (
        422,
        {"error": "minutes: unknown field; allowed: none", "field": "minutes"},
    )
    assert taken.status_code == 200
    assert core.commands == [f"snooze:{reminder.id}"]


def test_snoozing_where_no_reminder_service_runs_is_409(
    browser_client: FlaskClient, core: FakeCore, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_running(reminder_id: int) -> float:
        raise SessionError("reminders are not running in this process")

    monkeypatch.setattr(core, "snooze_reminder", not_running)
    reminder = stored(engine)

    response = browser_client.post(f"/api/reminders/{reminder.id}/snooze")

    assert response.status_code == 409
    assert response.get_json() == {"error": "reminders are not running in this process"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/api/reminders/7", {}),
        ("patch", "/api/reminders/7", {"json": {"enabled": False}}),
        ("delete", "/api/reminders/7", {}),
        ("post", "/api/reminders/7/snooze", {}),
    ],
)
def test_an_unknown_reminder_is_404(
    browser_client: FlaskClient, core: FakeCore, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = getattr(browser_client, method)(path, **kwargs)

    assert (response.status_code, response.get_json()) == (404, {"error": "no reminder 7"})
    assert core.commands == []


@pytest.mark.parametrize(
    "path",
    ["/api/reminders/abc", "/api/reminders/-1", "/api/reminders/1.5", "/api/reminders/" + "9" * 10],
)
def test_an_id_that_is_not_a_small_whole_number_matches_no_route(
    browser_client: FlaskClient, path: str
) -> None:
    response = browser_client.get(path)

    assert response.status_code == 404
    assert response.mimetype == "application/json"


def test_a_service_that_cannot_answer_does_not_undo_a_stored_change(
    browser_client: FlaskClient, core: FakeCore, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy() -> None:
        raise TimeoutError("no answer")

    monkeypatch.setattr(core, "reminders_changed", busy)

    response = browser_client.post("/api/reminders", json=EVENING)

    assert response.status_code == 201
    assert [r.id for r in list_reminders(engine)] == [1]


def test_changing_reminders_needs_the_csrf_token(client: FlaskClient, engine: Engine) -> None:
    response = client.post("/api/reminders", json=EVENING)

    assert response.status_code == 403
    assert list_reminders(engine) == []


def test_without_a_store_reminders_answer_503(core: FakeCore) -> None:
    app = create_app(core, store_engine=None, settings=WebSettings())

    response = app.test_client().get("/api/reminders")

    assert (response.status_code, response.get_json()) == (
        503,
        {"error": "no session store is configured"},
    )
