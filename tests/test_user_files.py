"""The person's own data files as the service loads them: a bad one is skipped and named."""

from __future__ import annotations

from pathlib import Path

from companion.errors import ProfileError, RoutineError
from companion.user_files import load_user_catalogues, problem_notice, read_profiles

BUILT_IN_PROFILES = {
    "bangle-js",
    "generic-heart-rate",
    "immediate-alert",
    "pinetime-infinitime",
    "polar-h10",
}


def test_a_profile_linked_to_dev_zero_is_refused_and_the_built_ins_stay(tmp_path: Path) -> None:
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    (tmp_path / "typo.toml").write_text('title = "Mine"\n[offers]\nheart_rate = "yes"\n')

    profiles, problems = read_profiles(tmp_path)

    assert set(profiles) == BUILT_IN_PROFILES
    assert [(type(p), p.path.name, p.field) for p in problems] == [
        (ProfileError, "typo.toml", "description"),
        (ProfileError, "zero.toml", "(file)"),
    ]


def test_problems_from_both_folders_become_dashboard_notices_naming_file_and_field(
    tmp_path: Path,
) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "routines").mkdir()
    (tmp_path / "profiles" / "big.toml").write_text("# " + "x" * 300_000)
    (tmp_path / "routines" / "typo.toml").write_text('title = "T"\nstepz = 1\n')

    loaded = load_user_catalogues(tmp_path / "profiles", tmp_path / "routines")
    notices = [problem_notice(p, mono=1.0, wall=2.0) for p in loaded.problems]

    assert [type(p) for p in loaded.problems] == [ProfileError, RoutineError]
    assert [(n.topic, n.level) for n in notices] == [
        ("data-file:big.toml", "warning"),
        ("data-file:typo.toml", "warning"),
    ]
    assert notices[0].message.startswith(
        "Skipped your device profile file big.toml: field '(file)': is larger than 256 KiB."
    )
    assert "typo.toml: field 'stepz': unknown key" in notices[1].message
    assert {"taster", "bedtime", "morning"} <= set(loaded.routines)
