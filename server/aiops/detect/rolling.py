"""A rolling window kept sorted, for medians and MADs in O(log window) plus a short shift.

The window of one series is a ring (arrival order, to know which value leaves) and the same
values sorted. Replacing the oldest value moves only the values between its position and the
new one's, which for real series is a small part of the window.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _search(ordered: np.ndarray, n: int, value: float) -> int:
    """First index in ordered[:n] whose value is >= `value`."""
    low, high = 0, n
    while low < high:
        middle = (low + high) // 2
        if ordered[middle] < value:
            low = middle + 1
        else:
            high = middle
    return low


@njit(cache=True, nogil=True)
def push(ring: np.ndarray, ordered: np.ndarray, n: int, head: int, value: float) -> int:
    """Adds `value` to a window of `len(ring)` values holding `n`, evicting the oldest when
    full; `head` is where the ring writes next. Returns the new count."""
    size = ring.shape[0]
    if n < size:
        position = _search(ordered, n, value)
        for i in range(n, position, -1):
            ordered[i] = ordered[i - 1]
        ordered[position] = value
        ring[head] = value
        return n + 1
    old = ring[head]
    ring[head] = value
    leaving = _search(ordered, n, old)  # an equal value: any of them will do
    entering = _search(ordered, n, value)
    # Plain copy loops, which LLVM turns into memmove: no comparison per moved value.
    if entering > leaving:
        for i in range(leaving, entering - 1):
            ordered[i] = ordered[i + 1]
        ordered[entering - 1] = value
    else:
        for i in range(leaving, entering, -1):
            ordered[i] = ordered[i - 1]
        ordered[entering] = value
    return n


@njit(cache=True, nogil=True)
def median(ordered: np.ndarray, n: int) -> float:
    if n == 0:
        return math.nan
    middle = n // 2
    if n % 2:
        return ordered[middle]
    return 0.5 * (ordered[middle - 1] + ordered[middle])


@njit(cache=True, nogil=True)
def _kth_deviation(ordered: np.ndarray, n: int, center: float, k: int) -> float:
    """The k-th smallest (0-based) of |ordered[i] - center|, in O(log n).

    With p = n // 2, the deviations left of p grow leftwards and those from p on grow
    rightwards: two sorted runs, of which the k-th smallest is found by bisection.
    """
    p = n // 2
    left_size, right_size = p, n - p
    low, high = max(0, k + 1 - right_size), min(k + 1, left_size)
    while low < high:
        taken_left = (low + high) // 2
        taken_right = k + 1 - taken_left
        next_left = center - ordered[p - 1 - taken_left]
        last_right = ordered[p + taken_right - 1] - center
        if next_left < last_right:
            low = taken_left + 1
        else:
            high = taken_left
    taken_left = low
    taken_right = k + 1 - taken_left
    result = -math.inf
    if taken_left > 0:
        result = center - ordered[p - taken_left]
    if taken_right > 0:
        result = max(result, ordered[p + taken_right - 1] - center)
    return result


@njit(cache=True, nogil=True)
def median_absolute_deviation(ordered: np.ndarray, n: int, center: float) -> float:
    """The median of |x - center| over the window, where `center` is the window's median."""
    if n == 0:
        return math.nan
    middle = n // 2
    if n % 2:
        return _kth_deviation(ordered, n, center, middle)
    return 0.5 * (
        _kth_deviation(ordered, n, center, middle - 1) + _kth_deviation(ordered, n, center, middle)
    )
