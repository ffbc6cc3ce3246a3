"""The link's one write channel, without a radio: placing cues that meet, and reporting."""

from __future__ import annotations

from companion.ble.profiles import HapticWrite, load_profiles
from companion.ble.write_channel import QueuedWrite, WriteChannel
from companion.routines.haptics import DeliveryReport, Playback, TimedWrite, Vocabulary

PROFILE = load_profiles(None)["immediate-alert"]
VOCABULARY = Vocabulary.from_profile(PROFILE)


def cue(name: str, at: float, reports: list[DeliveryReport]) -> Playback:
    return Playback.now(name, PROFILE.cue_writes(name), at, on_done=reports.append)


def drain(channel: WriteChannel, *, fail_at: float | None = None) -> list[tuple[float, str]]:
    """Send every queued write at its time; the write due at ``fail_at`` fails."""
    sent = []
    while (item := channel.next_due()) is not None:
        channel.pop(item)
        if fail_at is not None and abs(item.at_s - fail_at) < 1e-9:
            channel.failed(item, "ATT_Error: WRITE_NOT_PERMITTED")
            continue
        sent.append((round(item.at_s, 3), item.write.value.hex()))
        channel.sent(item, late_s=0.002)
    return sent


def test_a_lower_cue_arriving_while_a_pattern_plays_waits_for_stillness() -> None:
    channel, reports = WriteChannel(VOCABULARY), []
    channel.accept(cue("hold-end", 10.0, reports), now=10.0)
    channel.accept(cue("breath-in", 10.0, reports), now=10.0)

    assert drain(channel) == [(10.0, "02"), (10.6, "00"), (11.0, "01"), (11.3, "00")]
    assert [(r.cue, r.reached, r.reason) for r in reports] == [
        ("hold-end", True, ""),
        ("breath-in", True, "waited 1.00 s for hold-end"),
    ]


def test_a_higher_cue_cuts_a_buzzing_pattern_with_a_stop_first() -> None:
    channel, reports = WriteChannel(VOCABULARY), []
    channel.accept(cue("reminder", 10.0, reports), now=10.0)
    first = channel.next_due()
    assert first is not None
    channel.pop(first)
    channel.sent(first, late_s=0.001)  # the mild buzz is on

    channel.accept(cue("pain", 10.2, reports), now=10.2)

    assert drain(channel) == [
        (10.2, "00"), (10.25, "02"), (11.75, "00"), (12.25, "02"), (13.75, "00"),
        (14.25, "02"), (15.75, "00"),
    ]  # fmt: skip
    reminder, pain = reports
    assert (reminder.cue, reminder.reached) == ("reminder", True)
    assert reminder.reason == "cut short for pain after 1 of 2 writes"
    assert (pain.cue, pain.reached, pain.reason) == ("pain", True, "reminder stopped first")


def test_a_failed_write_reports_the_cue_off_the_wrist_and_its_other_writes_are_not_sent() -> None:
    channel, reports = WriteChannel(VOCABULARY), []
    channel.accept(cue("breath-out", 4.0, reports), now=4.0)

    assert drain(channel, fail_at=4.0) == []
    (report,) = reports
    assert (report.reached, report.first_write_late_s) == (False, None)
    assert report.reason == "ATT_Error: WRITE_NOT_PERMITTED"
    assert not channel.pending


def test_a_line_of_text_does_not_occupy_the_haptic_channel() -> None:
    channel, reports = WriteChannel(VOCABULARY), []
    channel.accept(cue("hold-end", 10.0, reports), now=10.0)
    text = HapticWrite(0.0, "00002a46-0000-1000-8000-00805f9b34fb", b"hello")
    channel.accept(Playback("text", (TimedWrite(10.1, text),), haptic=False), now=10.1)
    channel.accept(cue("routine-end", 10.0, reports), now=10.1)

    sent = drain(channel)

    assert sent[:3] == [(10.0, "02"), (10.1, "68656c6c6f"), (10.6, "00")]
    assert sent[3][0] == 11.0  # the routine-end waited for the hold-end alone


def test_each_report_gives_the_first_writes_lateness_and_acknowledgement() -> None:
    channel, reports = WriteChannel(VOCABULARY), []
    acked = HapticWrite(0.0, "00002a06-0000-1000-8000-00805f9b34fb", b"\x02", with_response=True)
    channel.accept(Playback("hold-end", (TimedWrite(5.0, acked),), 40, on_done=reports.append), 5.0)
    item = channel.next_due()
    assert isinstance(item, QueuedWrite)
    channel.pop(item)
    channel.sent(item, late_s=0.0035)

    (report,) = reports
    assert (report.reached, report.acknowledged, report.first_write_late_s) == (True, True, 0.0035)


def test_playbacks_left_when_the_link_closes_are_reported_not_reached() -> None:
    channel, reports = WriteChannel(VOCABULARY), []
    channel.accept(cue("routine-end", 20.0, reports), now=20.0)
    first = channel.next_due()
    assert first is not None
    channel.pop(first)
    channel.sent(first, late_s=0.001)

    channel.abandon("the link closed before they were sent")

    (report,) = reports
    assert (report.cue, report.reached) == ("routine-end", False)
    assert report.reason == "the link closed before they were sent (1 of 4 writes sent)"
    assert channel.next_due() is None
