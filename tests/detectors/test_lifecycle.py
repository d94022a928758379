"""Who may move a detector between its states."""

from __future__ import annotations

import pytest

from aiops.detectors import lifecycle
from aiops.detectors.lifecycle import BACKFILLING, DEGRADED, FAILED, RUNNING, STOPPED

ALL = (STOPPED, BACKFILLING, RUNNING, DEGRADED, FAILED)


def test_start_backfills_a_stopped_or_failed_detector_and_leaves_a_running_one() -> None:
    assert {state: lifecycle.after_start(state) for state in ALL} == {
        STOPPED: BACKFILLING,
        FAILED: BACKFILLING,
        BACKFILLING: None,
        RUNNING: None,
        DEGRADED: None,
    }


def test_stop_stops_a_running_detector_and_leaves_a_stopped_or_failed_one() -> None:
    assert {state: lifecycle.after_stop(state) for state in ALL} == {
        STOPPED: None,
        FAILED: None,
        BACKFILLING: STOPPED,
        RUNNING: STOPPED,
        DEGRADED: STOPPED,
    }


def test_a_runner_moves_only_a_detector_that_runs() -> None:
    for state in ALL:
        for to in (RUNNING, DEGRADED, FAILED):
            assert lifecycle.pipeline_moves(state, to) == (lifecycle.runs(state) and state != to)
    assert not lifecycle.pipeline_moves(STOPPED, RUNNING)  # the user's Stop wins
    with pytest.raises(ValueError, match="does not set"):
        lifecycle.pipeline_moves(RUNNING, BACKFILLING)


def test_only_start_learns_afresh() -> None:
    assert [state for state in ALL if lifecycle.learns_afresh(state)] == [BACKFILLING]
