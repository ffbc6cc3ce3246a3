"""The OpenAPI document matches the routes the app really has."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from web.openapi import openapi_document

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_IGNORED_METHODS = {"HEAD", "OPTIONS"}


def routes_under_api(app: Flask) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = _PARAM.sub(r"{\1}", rule.rule)
            found.setdefault(path, set()).update(
                m for m in rule.methods or () if m not in _IGNORED_METHODS
            )
    return found


def documented(document: dict[str, Any]) -> dict[str, set[str]]:
    return {path: {m.upper() for m in ops} for path, ops in document["paths"].items()}


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def test_the_document_is_served_as_json(client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    assert json.loads(response.get_data()) == openapi_document()
    assert openapi_document()["openapi"] == "3.1.0"


def test_every_route_and_method_is_documented_and_nothing_else(app: Flask) -> None:
    assert documented(openapi_document()) == routes_under_api(app)


def test_every_reference_resolves() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]

    missing = [r for r in refs(document) if r.removeprefix("#/components/schemas/") not in schemas]

    assert missing == []


def test_path_parameters_are_declared_for_every_templated_path() -> None:
    for path, operations in openapi_document()["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for operation in operations.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def test_every_operation_documents_its_errors_as_json() -> None:
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403", "503"} <= set(responses), (method, path)
            for status, answer in responses.items():
                if status.startswith("4") or status.startswith("5"):
                    assert list(answer["content"]) == ["application/json"], (method, path, status)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= set(responses), (method, path)


def test_callers_cannot_change_the_next_document() -> None:
    openapi_document()["paths"].clear()

    assert "/api/status" in openapi_document()["paths"]
