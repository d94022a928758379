"""Properties every detector keeps, over inputs hypothesis makes up (river's habit)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from aiops.detect import registry
from aiops.detect.base import Algorithm
from aiops.detect.ensemble import RECENT, Ensemble
from aiops.detect.scoring import Scoring, z_for_score

ALGORITHMS: list[Algorithm] = [
    registered.build(**registered.example) for registered in registry.ALGORITHMS
]
algorithms = st.sampled_from(ALGORITHMS)
shift_invariant = st.sampled_from(
    [r.build(**r.example) for r in registry.ALGORITHMS if r.shift_invariant]
)
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


def scores(algorithm: Algorithm, values: np.ndarray) -> np.ndarray:
    return algorithm.update(values, algorithm.new_state(values.shape[0]), 0, Scoring()).scores


any_floats = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 3), st.integers(0, 120)),
    elements=st.floats(allow_nan=True, allow_infinity=True),
)


@PROPERTY_SETTINGS
@given(algorithm=algorithms, values=any_floats)
def test_scores_are_finite_and_in_range(algorithm: Algorithm, values: np.ndarray) -> None:
    result = scores(algorithm, values)
    assert result.shape == values.shape
    assert np.all(np.isfinite(result))
    assert np.all((result >= 0.0) & (result <= 1.0))


def noisy(seed: int, length: int) -> np.ndarray:
    """A series with no ties, so that spreads are never zero."""
    rng = np.random.default_rng(seed)
    return (10.0 + rng.normal(size=length))[np.newaxis, :]


@PROPERTY_SETTINGS
@given(
    algorithm=shift_invariant,
    seed=st.integers(0, 2**32 - 1),
    length=st.integers(1, 150),
    shift=st.floats(-1e3, 1e3),
)
def test_adding_a_constant_changes_no_score(
    algorithm: Algorithm, seed: int, length: int, shift: float
) -> None:
    values = noisy(seed, length)
    np.testing.assert_allclose(
        scores(algorithm, values + shift), scores(algorithm, values), atol=1e-6
    )


@PROPERTY_SETTINGS
@given(
    algorithm=algorithms,
    seed=st.integers(0, 2**32 - 1),
    at=st.integers(1000, 1190),
    size=st.floats(20.0, 1e6),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_an_obvious_spike_scores_above_its_neighbourhood(
    algorithm: Algorithm, seed: int, at: int, size: float, sign: float
) -> None:
    """Past the ensemble's warm-up and while its records settle, a spike still stands out."""
    values = noisy(seed, 1200)
    if isinstance(algorithm, Ensemble):
        size *= RECENT  # it averages the distances of the last RECENT points
    values[0, at] += sign * size
    result = scores(algorithm, values)[0]
    assert result[at] > 0.95
    assert result[at] > result[at - 10 : at].max()


@PROPERTY_SETTINGS
@given(
    algorithm=algorithms,
    seed=st.integers(0, 2**32 - 1),
    at=st.integers(200, 1100),
    length=st.integers(1, 60),
    size=st.floats(-50.0, 50.0),
)
def test_a_point_at_or_above_the_warning_threshold_lies_outside_the_band(
    algorithm: Algorithm, seed: int, at: int, length: int, size: float
) -> None:
    """What the chart shows as normal is never an anomaly (issue 19 case 2: points inside
    their own band scored 0.951), on noise with a burst or a shift of any size."""
    values = noisy(seed, 1200)
    values[0, at : at + length] += size
    band = Scoring(band_z=z_for_score(0.95))  # as a detector's warning threshold draws it
    scored = algorithm.update(values, algorithm.new_state(1), 0, band)
    alarmed = scored.scores[0] >= 0.95
    inside = (scored.lower[0] <= values[0]) & (values[0] <= scored.upper[0])
    assert not np.any(alarmed & inside), np.flatnonzero(alarmed & inside)
