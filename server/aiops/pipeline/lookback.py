"""Points that only repeat an old sample. For an instant selector with no sample at a step,
Prometheus answers with the series' latest sample up to 5 minutes old (its lookback delta): over
the minutes Prometheus itself was down, and until it has scraped a target again after coming
back, a range query repeats each series' last value at every step. A detector that learnt that
flat stretch would find the next real point anomalous, and miss a real spike after it."""

from __future__ import annotations

import numpy as np

# Prometheus' default lookback delta: no sample is repeated for longer after the last real one.
LOOKBACK_SECONDS = 300


class Repeats:
    """Per series, whether it has changed since the data source came back and, until it has,
    the value it repeats. Answers after a failure go through `drop`, for LOOKBACK_SECONDS:
    a series' points equal to the value it repeats are made missing (NaN: neither learnt nor
    scored) up to its first different point; from there on its points are real. The first
    point of a series stays (there is nothing to tell it by); a series that really held still
    loses points that teach nothing new."""

    def __init__(self, until: int) -> None:
        self.until = until  # seconds since the epoch: no repeat is looked for past it
        self.value = np.zeros(0)  # [series] NaN: none seen yet
        self.changed = np.zeros(0, dtype=bool)  # [series]

    def drop(self, values: np.ndarray) -> np.ndarray:
        """The points [series, time] without the repeats; series beyond those seen so far are
        new ones."""
        grown = values.shape[0] - len(self.value)
        if grown > 0:
            self.value = np.concatenate([self.value, np.full(grown, np.nan)])
            self.changed = np.concatenate([self.changed, np.zeros(grown, dtype=bool)])
        kept = values.copy()
        for s in np.flatnonzero(~self.changed[: values.shape[0]]):
            seen = np.flatnonzero(~np.isnan(values[s]))
            if not seen.size:
                continue
            if np.isnan(self.value[s]):  # the first point of the series: kept
                self.value[s], seen = values[s, seen[0]], seen[1:]
            different = np.flatnonzero(values[s, seen] != self.value[s])
            repeats = seen[: different[0]] if different.size else seen
            kept[s, repeats] = np.nan
            self.changed[s] = bool(different.size)
        return kept
