"""The JSON API under /api (described by web/openapi.py; a test keeps the two in step)."""

from __future__ import annotations

import http
import re
from typing import Any

from flask import Blueprint, Response, current_app, url_for
from werkzeug.routing import BaseConverter

from companion.errors import UnknownNameError
from companion.json_records import fields_json, to_json
from companion.store.queries import SessionDetail
from web import prefs, store_reads
from web.api_bodies import Choose, Empty, PainAfter, Scan, StartSession, field_names
from web.api_records import (
    Chosen,
    Csrf,
    Forgotten,
    FoundDevices,
    KnownDevices,
    Samples,
    SessionCreated,
    SessionList,
    Settings,
)
from web.auth import csrf_token, may_read
from web.body import (
    MAX_ROUTINE_NAME,
    json_object,
    pain_rating,
    query_int,
    reject_unknown,
    text_field,
)
from web.openapi import served_document
from web.problems import ApiError, UnprocessableError
from web.replies import json_reply, notify_reminders_changed, store_engine
from web.schema_patterns import BLUETOOTH_ADDRESS, SESSION_ID
from web.state import web_state
from web.stream import open_stream

bp = Blueprint("api", __name__, url_prefix="/api")

SESSION_ID_PATTERN = SESSION_ID
ADDRESS_PATTERN = BLUETOOTH_ADDRESS
COMMANDS = ("pause", "resume", "skip", "stop", "pain")
MAX_PAGE = 200


class SessionIdConverter(BaseConverter):
    regex = SESSION_ID_PATTERN


class AddressConverter(BaseConverter):
    regex = f"(?:{ADDRESS_PATTERN})"


@bp.get("/openapi.json")
def openapi() -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return json_reply(served_document(web_state().core, may_read(), app))


@bp.get("/csrf")
def csrf() -> Response:
    return json_reply(to_json(Csrf(csrf_token())))


@bp.get("/status")
def status() -> Response:
    return json_reply(to_json(web_state().core.status()))


@bp.get("/routines")
def routines() -> Response:
    return json_reply(to_json(web_state().core.routines()))


@bp.post("/session")
def start_session() -> Response:
    body = json_object()
    reject_unknown(body, field_names(StartSession))
    start = StartSession(
        routine=text_field(body, "routine", max_len=MAX_ROUTINE_NAME),
        pain_before=pain_rating(body, "pain_before", required=False),
    )
    try:
        session_id = web_state().core.start_session(start.routine, start.pain_before)
    except UnknownNameError as error:
        raise UnprocessableError("routine", str(error)) from None
    response = json_reply(to_json(SessionCreated(session_id)), http.HTTPStatus.CREATED)
    if re.fullmatch(SESSION_ID_PATTERN, session_id):
        response.headers["Location"] = url_for("api.session_detail", session_id=session_id)
    return response


def session_command(name: str) -> Response:
    # Takes nothing, and says so: a field sent is refused as the Empty schema states.
    reject_unknown(json_object(required=False), field_names(Empty))
    return json_reply(to_json(web_state().core.command(name)))


for _name in COMMANDS:
    bp.add_url_rule(
        f"/session/{_name}",
        endpoint=f"session_{_name}",
        view_func=session_command,
        methods=["POST"],
        defaults={"name": _name},
    )


@bp.post("/session/rating")
def rate_after() -> Response:
    body = json_object()
    reject_unknown(body, field_names(PainAfter))
    pain = pain_rating(body, "pain_after", required=True)
    assert pain is not None
    rating = PainAfter(pain)
    web_state().core.rate_pain_after(rating.pain_after)
    return json_reply(to_json(rating))


@bp.get("/sessions")
def sessions() -> Response:
    limit = query_int("limit", 50, 1, MAX_PAGE)
    offset = query_int("offset", 0, 0, 10**9)
    rows = store_reads.session_rows(store_engine(), limit, offset)
    return json_reply(to_json(SessionList(tuple(rows), limit, offset)))


def _known_session(session_id: str) -> SessionDetail:
    found = store_reads.session_detail(store_engine(), session_id)
    if found is None:
        raise ApiError(http.HTTPStatus.NOT_FOUND, f"no session {session_id}")
    return found


@bp.get("/sessions/<sid:session_id>")
def session_detail(session_id: str) -> Response:
    # Flat: the History line's fields, then the detail's, its rows as objects.
    return json_reply(to_json(_known_session(session_id)))


@bp.get("/sessions/<sid:session_id>/samples")
def session_samples(session_id: str) -> Response:
    _known_session(session_id)
    samples = store_reads.session_samples(store_engine(), session_id)
    return json_reply(to_json(Samples(session_id, tuple(samples))))


@bp.get("/sessions/<sid:session_id>.csv")
def session_csv(session_id: str) -> Response:
    _known_session(session_id)
    text = store_reads.session_csv(store_engine(), session_id)
    response = Response(text, mimetype="text/csv")
    # The id matched SESSION_ID_PATTERN, so the name needs no quoting tricks.
    response.headers["Content-Disposition"] = f'attachment; filename="session-{session_id}.csv"'
    return response


def _settings_view(preferences: object, wake_time: object) -> dict[str, Any]:
    return fields_json(Settings.of(preferences, wake_time))


@bp.get("/settings")
def get_settings() -> Response:
    engine = store_engine()
    return json_reply(
        _settings_view(
            store_reads.load_setting(engine, prefs.STORE_KEY),
            store_reads.load_setting(engine, prefs.WAKE_TIME),
        )
    )


@bp.put("/settings")
def put_settings() -> Response:
    body = json_object()
    try:
        checked = prefs.check_update(body)
    except prefs.PrefsError as error:
        raise UnprocessableError(error.field, error.problem) from None
    engine = store_engine()
    wake_time = checked.pop(prefs.WAKE_TIME, None)
    # Read-modify-write of one small record; concurrent edits from two screens are rare
    # and the last one wins, as a person would expect.
    record = prefs.merged(store_reads.load_setting(engine, prefs.STORE_KEY), checked)
    changes: dict[str, Any] = {}
    if checked:
        changes[prefs.STORE_KEY] = record
    if wake_time is not None:
        changes[prefs.WAKE_TIME] = wake_time
    store_reads.save_settings(engine, changes)
    if wake_time is not None:
        notify_reminders_changed()
    return json_reply(_settings_view(record, store_reads.load_setting(engine, prefs.WAKE_TIME)))


@bp.get("/devices")
def devices() -> Response:
    return json_reply(to_json(KnownDevices(tuple(store_reads.list_devices(store_engine())))))


@bp.post("/devices/scan")
def scan() -> Response:
    settings = web_state().settings
    body = json_object(required=False)
    reject_unknown(body, field_names(Scan))
    timeout = body.get("timeout_s", settings.scan_timeout_s)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise UnprocessableError("timeout_s", "must be a number of seconds")
    if not 1 <= timeout <= settings.max_scan_timeout_s:
        raise UnprocessableError(
            "timeout_s", f"must be from 1 to {settings.max_scan_timeout_s:g} seconds"
        )
    asked = Scan(float(timeout))
    return json_reply(to_json(FoundDevices(tuple(web_state().core.scan(asked.timeout_s)))))


@bp.post("/devices/choose")
def choose() -> Response:
    body = json_object()
    reject_unknown(body, field_names(Choose))
    if "address" not in body:
        raise UnprocessableError("address", "required: a Bluetooth address, or null to forget")
    address = body["address"]
    if address is not None and (
        not isinstance(address, str) or not re.fullmatch(ADDRESS_PATTERN, address)
    ):
        raise UnprocessableError("address", "must be a Bluetooth address like AA:BB:CC:DD:EE:FF")
    chosen = Choose(address)
    web_state().core.choose_device(chosen.address)
    return json_reply(to_json(Chosen(chosen.address)))


@bp.delete("/devices/<addr:address>")
def forget(address: str) -> Response:
    if not store_reads.forget_device(store_engine(), address):
        raise ApiError(http.HTTPStatus.NOT_FOUND, f"no known device {address}")
    return json_reply(to_json(Forgotten(address)))


@bp.get("/stream")
def stream() -> Response:
    return open_stream()
