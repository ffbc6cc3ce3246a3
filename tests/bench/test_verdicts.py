"""Benchmarks with verdicts: a goal is judged met or MISSED with its figure and the load, a
missed goal makes the exit status non-zero, and ``python -m bench`` ends with one table."""

from __future__ import annotations

import types

import pytest

import bench.__main__ as runner
from bench.common import exit_status, judge, judge_true, take_verdicts, verdict_table


@pytest.fixture(autouse=True)
def no_leftover_verdicts() -> None:
    take_verdicts()


def test_a_figure_within_its_goal_is_met_and_one_beyond_is_missed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    met = judge("bench.x", "summary p50", 42.0, 50.0, "ms")
    missed = judge("bench.x", "summary p99", 120.0, 100.0, "ms")
    assert (met.met, missed.met) == (True, False)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Goal: summary p50 at most 50 ms: met (42.00 ms; load ")
    assert printed[1].startswith("Goal: summary p99 at most 100 ms: MISSED (120.00 ms; load ")
    assert "cores" in printed[1]
    assert take_verdicts() == [met, missed]


def test_a_floor_goal_is_met_at_or_above_it() -> None:
    assert judge("bench.x", "writes taken", 10.0, 10.0, at_most=False).met
    assert not judge("bench.x", "writes taken", 9.0, 10.0, at_most=False).met


def test_the_exit_status_is_non_zero_when_any_goal_is_missed_or_none_was_judged() -> None:
    met = judge("bench.x", "a", 1.0, 2.0)
    missed = judge_true("bench.x", "no rows lost", False, "3 lost")
    assert exit_status([met]) == 0
    assert exit_status([met, missed]) == 1
    assert exit_status([]) == 1


def test_the_table_has_a_row_per_goal_with_its_verdict() -> None:
    verdicts = [judge("bench.a", "g1", 1.0, 2.0), judge("bench.b", "g2", 3.0, 2.0)]
    lines = verdict_table(verdicts).splitlines()
    assert lines[0].split()[:4] == ["bench", "goal", "figure", "verdict"]
    assert "met" in lines[2] and "bench.a" in lines[2]
    assert "MISSED" in lines[3] and "bench.b" in lines[3]


def fake_bench(result: int | Exception, goals: tuple[bool, ...] = ()) -> types.ModuleType:
    module = types.ModuleType("bench.fake")

    def main(_argv: list[str]) -> int:
        for n, met in enumerate(goals):
            judge("bench.fake", f"goal {n}", 1.0 if met else 3.0, 2.0)
        if isinstance(result, Exception):
            raise result
        return result

    module.main = main  # type: ignore[attr-defined]
    return module


def test_a_bench_that_crashes_or_judges_nothing_is_a_missed_row_not_a_pass() -> None:
    code, verdicts = runner.run_one("fake", fake_bench(RuntimeError("boom")), [])
    assert code == 1 and [v.met for v in verdicts] == [False]
    assert verdicts[0].figure == "exit code 1"
    code, verdicts = runner.run_one("fake", fake_bench(0), [])
    assert code == 0 and [(v.goal, v.met) for v in verdicts] == [("judges its figures", False)]


def test_make_bench_ends_with_one_table_and_fails_when_a_goal_is_missed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        runner,
        "benchmarks",
        lambda: {"good": fake_bench(0, (True,)), "bad": fake_bench(1, (True, False))},
    )
    assert runner.main([]) == 1
    out = capsys.readouterr().out
    table = out[out.index("== every goal") :]
    assert table.count("bench.fake") == 3
    assert "2 of 3 goals met." in table


def test_every_goal_met_exits_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "benchmarks", lambda: {"good": fake_bench(0, (True, True))})
    assert runner.main([]) == 0
    assert "2 of 2 goals met." in capsys.readouterr().out


def test_benchmarks_are_found_by_name_including_the_storage_bench() -> None:
    found = runner.benchmarks()
    assert {"storage", "summary", "soak", "history"} <= set(found)
    assert "common" not in found
