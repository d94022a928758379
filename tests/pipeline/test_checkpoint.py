"""Every registered algorithm's state survives a checkpoint and grows by new series, as the
runner needs: the state contract of `aiops.detect.base.Algorithm.new_state`."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aiops.detect import registry
from aiops.detect.scoring import Scoring
from aiops.pipeline import checkpoint

SCORING = Scoring()


def noisy(series: int, points: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 + rng.normal(0.0, 2.0, (series, points))


@pytest.mark.parametrize("registered", registry.ALGORITHMS, ids=lambda r: r.name)
def test_a_restored_state_scores_as_the_saved_one(registered: registry.Registered) -> None:
    algorithm = registered.build(**registered.example)
    state = algorithm.new_state(3)
    algorithm.update(noisy(3, 60, seed=1), state, 0, SCORING)

    restored = checkpoint.state_from_bytes(algorithm, checkpoint.state_to_bytes(state))

    later = noisy(3, 20, seed=2)
    expected = algorithm.update(later, state, 60, SCORING)
    actual = algorithm.update(later, restored, 60, SCORING)
    np.testing.assert_array_equal(actual.scores, expected.scores)
    np.testing.assert_array_equal(actual.expected, expected.expected)


@pytest.mark.parametrize("registered", registry.ALGORITHMS, ids=lambda r: r.name)
def test_new_series_learn_in_place_through_views(registered: registry.Registered) -> None:
    algorithm = registered.build(**registered.example)
    state = algorithm.new_state(3)
    algorithm.update(noisy(3, 60, seed=1), state, 0, SCORING)
    before = {f.name: getattr(state, f.name).copy() for f in dataclasses.fields(state)}

    grown = checkpoint.with_new_series(algorithm, state, 2)
    history = noisy(2, 60, seed=3)
    algorithm.update(history, checkpoint.rows_from(grown, 3), 0, SCORING)
    alone = algorithm.new_state(2)
    algorithm.update(history, alone, 0, SCORING)

    assert checkpoint.series_count(grown) == 5
    for f in dataclasses.fields(grown):
        np.testing.assert_array_equal(getattr(grown, f.name)[:3], before[f.name])
        np.testing.assert_array_equal(getattr(grown, f.name)[3:], getattr(alone, f.name))


def test_a_state_of_other_parameters_is_refused() -> None:
    first, second = registry.ALGORITHMS[0], registry.ALGORITHMS[-1]
    state = first.build(**first.example).new_state(2)
    with pytest.raises(ValueError, match="checkpoint does not match"):
        checkpoint.state_from_bytes(
            second.build(**second.example), checkpoint.state_to_bytes(state)
        )
