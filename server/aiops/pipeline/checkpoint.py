"""A running detector's algorithm state as bytes, and the same state grown by new series.

Every algorithm's state is a dataclass of numpy arrays whose first axis is the series, so one
pair of functions serves them all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from typing import Any

import numpy as np

from aiops.detect.base import Algorithm


def state_to_bytes(state: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{f.name: getattr(state, f.name) for f in dataclasses.fields(state)})
    return buffer.getvalue()


def state_from_bytes(algorithm: Algorithm, data: bytes) -> Any:
    """The state saved by `state_to_bytes`; ValueError when it is not one of `algorithm`'s
    (another algorithm, or other parameters)."""
    empty = algorithm.new_state(0)
    with np.load(io.BytesIO(data)) as arrays:
        loaded = {f.name: arrays[f.name] for f in dataclasses.fields(empty) if f.name in arrays}
    for f in dataclasses.fields(empty):
        expected = getattr(empty, f.name)
        array = loaded.get(f.name)
        if array is None or array.shape[1:] != expected.shape[1:] or array.dtype != expected.dtype:
            raise ValueError(f"checkpoint does not match the algorithm's {f.name!r}")
    series = {array.shape[0] for array in loaded.values()}
    if len(series) != 1:
        raise ValueError("checkpoint arrays disagree on the number of series")
    return type(empty)(**loaded)


def with_new_series(algorithm: Algorithm, state: Any, count: int) -> Any:
    """`state` followed by `count` series that have seen nothing yet."""
    fresh = algorithm.new_state(count)
    return type(state)(
        **{
            f.name: np.concatenate((getattr(state, f.name), getattr(fresh, f.name)))
            for f in dataclasses.fields(state)
        }
    )


def rows_from(state: Any, first: int) -> Any:
    """The state of series `first` onwards, as views into `state`: learning them learns in
    place (how series that appear later learn their history)."""
    return type(state)(
        **{f.name: getattr(state, f.name)[first:] for f in dataclasses.fields(state)}
    )


def keep_rows(state: Any, rows: list[int]) -> Any:
    """A copy of `state` with only the series `rows`, in that order (a log-pattern detector
    drops the templates it forgot)."""
    index = np.asarray(rows, dtype=np.intp)
    return type(state)(
        **{
            f.name: np.ascontiguousarray(getattr(state, f.name)[index])
            for f in dataclasses.fields(state)
        }
    )


def series_count(state: Any) -> int:
    return len(getattr(state, dataclasses.fields(state)[0].name))


def fingerprint(*parts: Any) -> str:
    """A digest of what a state was learnt under: another fingerprint, another state."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
