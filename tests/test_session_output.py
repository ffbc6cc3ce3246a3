"""`companion session` as a person reads it: words, plurals and the heart rate."""

from __future__ import annotations

from companion.cli.session_output import SessionPrinter
from companion.events import HeartRateSample, LinkChanged, LinkState, Notice, StepStarted

WALL = 1_800_000_000.0


def step(breaths: int | None) -> StepStarted:
    return StepStarted(
        mono=0.0, wall=WALL, run_id="r", step=1, name="Knee to chest — left", exercise="k",
        side="left", start_s=0.0, end_s=10.0, instructions="Breathe in.", breaths=breaths,
    )  # fmt: skip


def hr(mono: float, bpm: int, contact: bool | None = True) -> HeartRateSample:
    return HeartRateSample(
        mono=mono, wall=WALL + mono, device="AA", hr=bpm, contact=contact, energy_kj=None,
        rr_ms=(),
    )  # fmt: skip


def texts(printer: SessionPrinter, *events: object) -> list[str]:
    return [line[10:].strip() for event in events for line in printer.lines_for(event)]  # type: ignore[arg-type]


def test_one_breath_is_singular_and_three_are_plural() -> None:
    printer = SessionPrinter()

    assert texts(printer, step(1))[0] == "▶ Knee to chest — left (1 breath)"
    assert texts(printer, step(3))[0] == "▶ Knee to chest — left (3 breaths)"
    assert texts(printer, step(None))[0] == "▶ Knee to chest — left"


def test_link_changes_read_as_words_not_python_dicts() -> None:
    event = LinkChanged(
        mono=0.0, wall=WALL, device="C0:FF:EE:00:00:01", state=LinkState.CONNECTED,
        detail="", name="virtual-band", profile="immediate-alert",
    )  # fmt: skip

    (line,) = texts(SessionPrinter(), event)

    assert line == "· band connected (virtual-band C0:FF:EE:00:00:01)"
    assert "{" not in line and "'" not in line


def test_a_link_detail_that_repeats_the_name_is_not_repeated() -> None:
    event = LinkChanged(
        mono=0.0, wall=WALL, device="C0:FF", state=LinkState.CLOSED, detail="stopped",
        name="Band",
    )  # fmt: skip
    named = LinkChanged(
        mono=0.0, wall=WALL, device="C0:FF", state=LinkState.CONNECTED, detail="Band",
        name="Band",
    )  # fmt: skip

    assert texts(SessionPrinter(), event, named) == [
        "· band closed (Band C0:FF, stopped)",
        "· band connected (Band C0:FF)",
    ]


def test_notices_show_their_message() -> None:
    notice = Notice(mono=0.0, wall=WALL, level="warning", topic="store", message="Disk full.")

    assert texts(SessionPrinter(), notice) == ["· warning: Disk full."]


def test_heart_rate_is_shown_every_ten_seconds_not_every_sample() -> None:
    printer = SessionPrinter(hr_every_s=10.0)

    shown = texts(printer, *(hr(float(t), 60 + t) for t in range(25)), hr(30.0, 58, False))

    assert shown == ["♥ 60 bpm", "♥ 70 bpm", "♥ 80 bpm", "♥ 58 bpm (no skin contact)"]
