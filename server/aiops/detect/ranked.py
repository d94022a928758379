"""A rolling window over samples known in advance, for medians and MADs in amortised O(1).

A backtest knows every sample of the call. One sort gives each its rank; the window becomes a
set of ranks, linked in rank order, with a bitset that finds a new member's neighbours in a
word scan or two. The median and the interval of samples nearest to it (whose widest deviation
is the MAD) then move a step or two per sample, where rolling.py's sorted array shifts a third
of the window. The results equal rolling.py's to the bit: the same order statistics, the same
arithmetic.

The window's pointers live in a small int64 array, indexed by the names below.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import leading_zeros

# The window's size; the median's rank (the lower one for even sizes) and its index among the
# members; the first and last rank of the run of members nearest the median, and its length.
COUNT, MEDIAN, MEDIAN_INDEX, LOW, HIGH, INSIDE = range(6)
POINTERS = 6
FOLLOWING, PRECEDING = 0, 1  # rows of the links

ONE = np.uint64(1)
ALL = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


@njit(cache=True, nogil=True, inline="always")
def _bit(rank: int) -> np.uint64:
    return ONE << np.uint64(rank & 63)


@njit(cache=True, nogil=True)
def previous_member(bits: np.ndarray, rank: int) -> int:
    """The largest member below `rank`, or -1."""
    if rank <= 0:
        return -1
    end = rank - 1
    word_index = end >> 6
    word = bits[word_index] & (ALL >> np.uint64(63 - (end & 63)))
    while word == 0:
        word_index -= 1
        if word_index < 0:
            return -1
        word = bits[word_index]
    return (word_index << 6) + 63 - int(leading_zeros(word))  # type: ignore[call-arg]


@njit(cache=True, nogil=True)
def new_links(total: int) -> np.ndarray:
    """The members as a doubly linked list in rank order: links[FOLLOWING, r] and
    links[PRECEDING, r], with `total` as the sentinel before the first and after the last."""
    links = np.empty((2, total + 1), dtype=np.int64)
    links[:, total] = total
    return links


@njit(cache=True, nogil=True)
def insert(bits: np.ndarray, links: np.ndarray, pointers: np.ndarray, rank: int) -> None:
    none = links.shape[1] - 1
    before = previous_member(bits, rank)
    if before < 0:
        before = none
    after = links[FOLLOWING, before]
    links[FOLLOWING, before] = rank
    links[PRECEDING, rank] = before
    links[FOLLOWING, rank] = after
    links[PRECEDING, after] = rank
    bits[rank >> 6] |= _bit(rank)
    if pointers[COUNT] == 0:
        pointers[COUNT] = 1
        pointers[MEDIAN] = pointers[LOW] = pointers[HIGH] = rank
        pointers[MEDIAN_INDEX] = 0
        pointers[INSIDE] = 1
        return
    pointers[COUNT] += 1
    if rank < pointers[MEDIAN]:
        pointers[MEDIAN_INDEX] += 1
    if pointers[LOW] < rank < pointers[HIGH]:
        pointers[INSIDE] += 1


@njit(cache=True, nogil=True)
def remove(bits: np.ndarray, links: np.ndarray, pointers: np.ndarray, rank: int) -> None:
    """Removes a member; pointers resting on it move to a neighbour first."""
    before, after = links[PRECEDING, rank], links[FOLLOWING, rank]
    none = links.shape[1] - 1
    if rank == pointers[MEDIAN]:
        if after != none:
            pointers[MEDIAN] = after  # it takes the removed member's index
        else:
            pointers[MEDIAN] = before
            pointers[MEDIAN_INDEX] -= 1
    elif rank < pointers[MEDIAN]:
        pointers[MEDIAN_INDEX] -= 1
    if pointers[LOW] <= rank <= pointers[HIGH]:
        pointers[INSIDE] -= 1
        if rank == pointers[LOW]:
            pointers[LOW] = after
        elif rank == pointers[HIGH]:
            pointers[HIGH] = before
    links[FOLLOWING, before] = after
    links[PRECEDING, after] = before
    bits[rank >> 6] &= ~_bit(rank)
    pointers[COUNT] -= 1


@njit(cache=True, nogil=True, inline="always")
def _deviation(values: np.ndarray, rank: int, center: float) -> float:
    return abs(values[rank] - center)


@njit(cache=True, nogil=True)
def median_and_mad(
    links: np.ndarray, pointers: np.ndarray, values: np.ndarray
) -> tuple[float, float]:
    """The window's median and median absolute deviation, as rolling.median and
    rolling.median_absolute_deviation give them; `values[rank]` is the sample of each rank.
    Moves the pointers to the current window first."""
    following, preceding = links[FOLLOWING], links[PRECEDING]
    none = links.shape[1] - 1
    n = pointers[COUNT]
    target = (n - 1) // 2
    while pointers[MEDIAN_INDEX] < target:
        pointers[MEDIAN] = following[pointers[MEDIAN]]
        pointers[MEDIAN_INDEX] += 1
    while pointers[MEDIAN_INDEX] > target:
        pointers[MEDIAN] = preceding[pointers[MEDIAN]]
        pointers[MEDIAN_INDEX] -= 1
    median = pointers[MEDIAN]
    center = values[median] if n % 2 else 0.5 * (values[median] + values[following[median]])

    # The n // 2 + 1 members nearest the center are a run of consecutive members.
    low, high = pointers[LOW], pointers[HIGH]
    inside = pointers[INSIDE]
    if inside == 0:
        low = high = median
        inside = 1
    nearest = n // 2 + 1
    while inside < nearest:  # widen on the nearer side
        below, above = preceding[low], following[high]
        if above == none or (
            below != none and _deviation(values, below, center) < _deviation(values, above, center)
        ):
            low = below
        else:
            high = above
        inside += 1
    while inside > nearest:  # narrow on the farther side
        if _deviation(values, low, center) > _deviation(values, high, center):
            low = following[low]
        else:
            high = preceding[high]
        inside -= 1
    while True:  # slide towards the center while that swaps a farther member for a nearer one
        above = following[high]
        if above != none and _deviation(values, above, center) < _deviation(values, low, center):
            low, high = following[low], above
            continue
        below = preceding[low]
        if below != none and _deviation(values, below, center) < _deviation(values, high, center):
            low, high = below, preceding[high]
            continue
        break
    pointers[LOW], pointers[HIGH], pointers[INSIDE] = low, high, inside

    low_deviation = _deviation(values, low, center)
    high_deviation = _deviation(values, high, center)
    widest = max(low_deviation, high_deviation)
    if n % 2:
        return center, widest
    # Even n: the mean of the two widest deviations of the nearest n // 2 + 1.
    if low_deviation >= high_deviation:
        second = max(_deviation(values, following[low], center), high_deviation)
    else:
        second = max(low_deviation, _deviation(values, preceding[high], center))
    return center, 0.5 * (second + widest)


RADIX_BITS = 11
BUCKETS = 1 << RADIX_BITS
SIGN = np.uint64(1 << 63)


@njit(cache=True, nogil=True)
def argsort(samples: np.ndarray) -> np.ndarray:
    """The order of `samples` (finite, or at least not NaN), by LSD radix sort on their bits:
    several times faster than numba's quicksort, on which a backtest would spend most of its
    time. Passes whose digit is the same for every sample are skipped."""
    n = samples.shape[0]
    keys = np.empty(n, dtype=np.uint64)
    bits = samples.view(np.uint64)
    for i in range(n):
        # Ordered as unsigned integers: negatives reversed below positives.
        keys[i] = ~bits[i] if bits[i] & SIGN else bits[i] | SIGN
    order = np.arange(n)
    spare_keys = np.empty(n, dtype=np.uint64)
    spare_order = np.empty(n, dtype=np.int64)
    counts = np.empty(BUCKETS + 1, dtype=np.int64)
    mask = np.uint64(BUCKETS - 1)
    for shift in range(0, 64, RADIX_BITS):
        counts[:] = 0
        for i in range(n):
            counts[((keys[i] >> np.uint64(shift)) & mask) + 1] += 1
        if counts.max() == n:
            continue
        for b in range(BUCKETS):
            counts[b + 1] += counts[b]
        for i in range(n):
            digit = (keys[i] >> np.uint64(shift)) & mask
            position = counts[digit]
            counts[digit] = position + 1
            spare_keys[position] = keys[i]
            spare_order[position] = order[i]
        keys, spare_keys = spare_keys, keys
        order, spare_order = spare_order, order
    return order
