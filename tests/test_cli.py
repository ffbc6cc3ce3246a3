"""The command line as a newcomer meets it: output, exit codes and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli import main


def run(*args: str, data_dir: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args], env={"COMPANION_DATA_DIR": str(data_dir)})
    return result.exit_code, result.stdout, result.stderr


def test_plan_prints_the_steps_and_says_which_level_and_why(tmp_path: Path) -> None:
    code, out, _ = run("plan", "taster", data_dir=tmp_path)

    assert code == 0
    assert "Level 1 of 4: starting gently" in out
    assert "Knee to chest — left" in out and "Knee to chest — right" in out


def test_plan_json_carries_each_cues_writes_for_the_chosen_profile(tmp_path: Path) -> None:
    code, out, _ = run(
        "plan", "taster", "--json", "--profile", "immediate-alert", data_dir=tmp_path
    )
    plan = json.loads(out)

    assert code == 0
    assert set(plan) >= {"routine", "total_s", "steps", "cues"}
    hold_end = next(c for c in plan["cues"] if c["cue"] == "hold-end")
    assert set(hold_end) == {"at_s", "cue", "step", "fate", "reason", "start_s", "writes"}
    assert hold_end["fate"] == "played"
    assert hold_end["writes"][0] == {
        "after_s": 0.0,
        "characteristic": "00002a06-0000-1000-8000-00805f9b34fb",
        "value": "02",
    }


def test_plan_json_for_a_band_without_haptics_has_no_writes(tmp_path: Path) -> None:
    _, out, _ = run("plan", "taster", "--json", "--profile", "polar-h10", data_dir=tmp_path)

    assert all(c["writes"] == [] for c in json.loads(out)["cues"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "nope"), "no routine named 'nope'; known: bedtime, morning, resonance, taster"),
        (("plan", "taster", "--profile", "nope"), "no device profile named 'nope'"),
        (("buzz", "--simulate", "--cue", "hold-end", "--profile", "x"), "no device profile"),
        (("buzz", "--simulate", "--cue", "breathe-in"),
         "no cue named 'breathe-in'; known: alert, breath-in, breath-out, hold-end, pain,"),
        (("remind", "add", "--at", "25:00", "--routine", "bedtime"), "is not HH:MM"),
        (("remind", "add", "--at", "07:00", "--days", "mo,xx", "--routine", "bedtime"),
         "unknown day"),
        (("remind", "add", "--at", "07:00", "--routine", "nope"), "no routine named 'nope'"),
        (("remind", "remove", "42"), "no reminder 42"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_and_say_what_is_wrong(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(*args, data_dir=tmp_path)

    assert code == 2
    assert message in err


def test_a_broken_user_routine_is_named_with_its_field(tmp_path: Path) -> None:
    routine = tmp_path / "mine.toml"
    routine.write_text('title = "Mine"\n[[steps]]\nexercise = "knee-to-chest"\nhold_s = 45\n')

    code, _, err = run("plan", str(routine), data_dir=tmp_path)

    assert code == 2
    assert "mine.toml" in err and "hold_s" in err


def test_reminders_can_be_added_listed_and_removed(tmp_path: Path) -> None:
    code, out, _ = run(
        "remind", "add", "--at", "21:30", "--days", "fri,mon", "--routine", "bedtime",
        data_dir=tmp_path,
    )  # fmt: skip
    assert code == 0 and out == "Added reminder 1: 21:30 on mon,fri for bedtime.\n"

    _, listed, _ = run("remind", "list", data_dir=tmp_path)
    assert listed.split() == ["1", "21:30", "mon,fri", "bedtime"]

    code, out, _ = run("remind", "remove", "1", data_dir=tmp_path)
    assert code == 0 and out == "Removed reminder 1.\n"
    _, listed, _ = run("remind", "list", data_dir=tmp_path)
    assert listed.startswith("No reminders yet.")


def test_buzz_on_the_virtual_band_says_what_was_sent(tmp_path: Path) -> None:
    code, out, _ = run("buzz", "--simulate", "--cue", "hold-end", data_dir=tmp_path)

    assert code == 0
    assert out.strip() == "sent 'hold-end' to C0:FF:EE:00:00:01 (2 writes via immediate-alert)"


def test_scan_finds_the_virtual_band_and_the_profile_it_matches(tmp_path: Path) -> None:
    code, out, _ = run("scan", "--simulate", "--timeout", "2", data_dir=tmp_path)

    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["ADDRESS", "RSSI", "PROFILE", "NAME"]
    address, _rssi, profile, *name = row.split()
    assert (address, profile, " ".join(name)) == (
        "C0:FF:EE:00:00:01",
        "immediate-alert",
        "Companion Virtual Band",
    )
