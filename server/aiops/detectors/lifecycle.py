"""A detector's states and who may move it from one to another, for the API (Start, Stop), the
scheduler (which detectors run) and the runner (what a step found).

    STOPPED, FAILED --Start--> BACKFILLING --history learnt--> RUNNING
    BACKFILLING, RUNNING --the data source fails--> DEGRADED --it answers again--> RUNNING
    BACKFILLING, RUNNING, DEGRADED --the query cannot run--> FAILED
    BACKFILLING, RUNNING, DEGRADED --Stop--> STOPPED

States are stored by their `Detector.State` names. Start on a running detector and Stop on a
stopped or failed one change nothing.
"""

from __future__ import annotations

from aiops_api.v1 import detector_pb2

State = detector_pb2.Detector.State
STOPPED, BACKFILLING, RUNNING, DEGRADED, FAILED = (
    State.Name(state)
    for state in (
        State.STATE_STOPPED,
        State.STATE_BACKFILLING,
        State.STATE_RUNNING,
        State.STATE_DEGRADED,
        State.STATE_FAILED,
    )
)
# The states the pipeline runs a detector in.
ACTIVE = frozenset({BACKFILLING, RUNNING, DEGRADED})
# The states a running detector's own steps set: RUNNING after a good step, DEGRADED when the
# data source fails, FAILED when the query cannot run.
PIPELINE_SETS = frozenset({RUNNING, DEGRADED, FAILED})


def after_start(state: str) -> str | None:
    """The state Start moves a detector to: BACKFILLING, which learns its history afresh; None
    for one that runs already."""
    return None if state in ACTIVE else BACKFILLING


def after_stop(state: str) -> str | None:
    """The state Stop moves a detector to; None for one that does not run."""
    return STOPPED if state in ACTIVE else None


def runs(state: str) -> bool:
    """Whether the pipeline runs a detector in this state."""
    return state in ACTIVE


def learns_afresh(state: str) -> bool:
    """Whether a runner starts from no history (after Start) rather than resuming from its
    checkpoint (after a restart)."""
    return state == BACKFILLING


def pipeline_moves(state: str, to: str) -> bool:
    """Whether a step of the detector's runner may set `to` now: only while the detector runs
    (the user's Stop wins over a step that ends after it), and only to a state a step sets."""
    if to not in PIPELINE_SETS:
        raise ValueError(f"a runner does not set {to}")
    return runs(state) and state != to
