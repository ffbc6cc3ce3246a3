"""The real service as a child process, and plain-HTTP clients for its API and event stream.

The harness is shared with the service benchmarks and lives in ``bench/service_harness.py``;
these are the names the end-to-end tests and drills use.
"""

from __future__ import annotations

from bench.service_harness import (
    ANNOUNCED,
    CSRF_HEADER,
    REPO,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    Answer,
    ApiClient,
    LiveService,
    OutputLines,
    SseEvent,
    SseReader,
    child_env,
    running_service,
    service_command,
    start_service,
)

_ANNOUNCED = ANNOUNCED  # the drills' name for the announcement pattern

__all__ = [
    "CSRF_HEADER",
    "REPO",
    "START_TIMEOUT_S",
    "STOP_TIMEOUT_S",
    "_ANNOUNCED",
    "Answer",
    "ApiClient",
    "LiveService",
    "OutputLines",
    "SseEvent",
    "SseReader",
    "child_env",
    "running_service",
    "service_command",
    "start_service",
]
