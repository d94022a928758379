"""Points that only repeat an old sample. For an instant selector with no sample at a step,
Prometheus answers with the series' latest sample up to 5 minutes old (its lookback delta): over
the minutes Prometheus itself was down, a range query repeats each series' last value at every
step. A detector that learnt that flat stretch would find the next real point anomalous, and
miss a real spike after it."""

from __future__ import annotations

import numpy as np


def without_repeats(values: np.ndarray) -> np.ndarray:
    """The points [series, time], each one equal to the point before it in its series made
    missing (NaN): neither learnt nor scored. The first of a run stays. For the first answer
    after the data source failed, where a repeat is far more likely the lookback's than the
    series' own; a series that really held still loses points that teach nothing new."""
    kept = values.copy()
    kept[:, 1:][values[:, 1:] == values[:, :-1]] = np.nan
    return kept
