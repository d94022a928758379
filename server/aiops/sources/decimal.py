"""Decimal text to float64 in numba, exactly as Python's float() rounds it.

Prometheus sends every sample value as a JSON string ("0.016666666666666666", "NaN", "+Inf").
Parsing them one Python object at a time is what makes big responses slow, so the matrix parser
reads them here, inside its byte scan. Short decimals take Clinger's fast path (one exact
multiplication or division); the rest take the Eisel-Lemire algorithm (a 64 x 128-bit product
with a truncated power of ten, as Go's strconv does). In the rare cases either cannot decide,
`parse` says so and the caller falls back to Python's float().
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import leading_zeros

MIN_EXP10, MAX_EXP10 = -348, 347
MAX_DIGITS = 19  # significant digits that fit a uint64


def _powers_of_ten() -> np.ndarray:
    """128-bit mantissas of 10^q, normalised to [2^127, 2^128) and rounded down: [hi, lo]."""
    table = np.empty((MAX_EXP10 - MIN_EXP10 + 1, 2), dtype=np.uint64)
    for row, q in enumerate(range(MIN_EXP10, MAX_EXP10 + 1)):
        if q >= 0:
            power = 10**q
            size = power.bit_length()
            mantissa = power << (128 - size) if size <= 128 else power >> (size - 128)
        else:
            divisor = 10**-q
            mantissa = (1 << (divisor.bit_length() + 127)) // divisor
        table[row] = (mantissa >> 64, mantissa & (2**64 - 1))
    return table


POWERS_OF_TEN = _powers_of_ten()
EXACT_POWERS = np.array([10.0**i for i in range(23)])  # exactly representable
LOW32 = np.uint64(0xFFFF_FFFF)
U32 = np.uint64(32)


@njit(cache=True, nogil=True, inline="always")
def _multiply(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    """The 128-bit product of two uint64, as (high, low) words."""
    a_low, a_high = a & LOW32, a >> U32
    b_low, b_high = b & LOW32, b >> U32
    low_low = a_low * b_low
    high_low = a_high * b_low
    low_high = a_low * b_high
    middle = (low_low >> U32) + (high_low & LOW32) + low_high
    high = a_high * b_high + (high_low >> U32) + (middle >> U32)
    low = (middle << U32) | (low_low & LOW32)
    return high, low


@njit(cache=True, nogil=True)
def _eisel_lemire(mantissa: np.uint64, exp10: int) -> tuple[float, bool]:
    """mantissa * 10^exp10 correctly rounded, when the 128-bit approximation decides it."""
    if exp10 < MIN_EXP10 or exp10 > MAX_EXP10:
        return 0.0, False
    shift = int(leading_zeros(mantissa))  # type: ignore[call-arg]
    mantissa = mantissa << np.uint64(shift)
    exp2 = ((217706 * exp10) >> 16) + 64 + 1023 - shift
    row = exp10 - MIN_EXP10
    high, low = _multiply(mantissa, POWERS_OF_TEN[row, 0])
    nine_bits = np.uint64(0x1FF)
    if high & nine_bits == nine_bits and low + mantissa < mantissa:
        # The truncated power may matter: bring in its low word.
        high2, low2 = _multiply(mantissa, POWERS_OF_TEN[row, 1])
        merged_high, merged_low = high, low + high2
        if merged_low < low:
            merged_high += np.uint64(1)
        if (
            merged_high & nine_bits == nine_bits
            and merged_low + np.uint64(1) == np.uint64(0)
            and low2 + mantissa < mantissa
        ):
            return 0.0, False
        high, low = merged_high, merged_low
    top = int(high >> np.uint64(63))
    result = high >> np.uint64(top + 9)
    exp2 -= 1 ^ top
    if low == 0 and high & nine_bits == 0 and result & np.uint64(3) == np.uint64(1):
        return 0.0, False  # exactly half-way: round-half-even needs more than 128 bits
    result = (result + (result & np.uint64(1))) >> np.uint64(1)
    if result >> np.uint64(53):
        result = result >> np.uint64(1)
        exp2 += 1
    if exp2 < 1 or exp2 > 0x7FE:
        return 0.0, False  # subnormal or overflowing: rare, left to float()
    return math.ldexp(float(result), exp2 - 1075), True


@njit(cache=True, nogil=True)
def is_text(buf: np.ndarray, start: int, end: int, text: bytes) -> bool:
    if end - start != len(text):
        return False
    for i in range(end - start):  # noqa: SIM110 (numba compiles loops, not all())
        if buf[start + i] != text[i]:
            return False
    return True


@njit(cache=True, nogil=True)
def _special(buf: np.ndarray, start: int, end: int) -> tuple[float, bool]:
    """NaN, Inf, +Inf or -Inf, as Prometheus writes them."""
    if end - start == 3 and buf[start] == 78 and buf[start + 1] == 97 and buf[start + 2] == 78:
        return math.nan, True
    sign = buf[start] if end - start == 4 else 0
    i = start + 1 if sign == 43 or sign == 45 else start
    if end - i == 3 and buf[i] == 73 and buf[i + 1] == 110 and buf[i + 2] == 102:
        return (-math.inf if sign == 45 else math.inf), True
    return 0.0, False


@njit(cache=True, nogil=True)
def parse(buf: np.ndarray, start: int, end: int) -> tuple[float, bool]:
    """The float written in buf[start:end] (uint8), and whether this function could tell: False
    for text that is not a plain decimal or that needs Python's float() to round."""
    if start < end and (buf[start] == 78 or buf[start] == 73 or buf[end - 1] == 102):  # N I f
        return _special(buf, start, end)
    i = start
    negative = False
    if i < end and (buf[i] == 45 or buf[i] == 43):  # - +
        negative = buf[i] == 45
        i += 1
    mantissa = np.uint64(0)
    digits = 0  # significant digits taken into the mantissa
    exp10 = 0
    seen_digit = False
    while i < end and 48 <= buf[i] <= 57:
        seen_digit = True
        if digits < MAX_DIGITS:
            if mantissa or buf[i] != 48:
                digits += 1
            mantissa = mantissa * np.uint64(10) + np.uint64(buf[i] - 48)
        else:
            return 0.0, False
        i += 1
    if i < end and buf[i] == 46:  # .
        i += 1
        while i < end and 48 <= buf[i] <= 57:
            seen_digit = True
            if digits < MAX_DIGITS:
                if mantissa or buf[i] != 48:
                    digits += 1
                mantissa = mantissa * np.uint64(10) + np.uint64(buf[i] - 48)
                exp10 -= 1
            else:
                return 0.0, False
            i += 1
    if not seen_digit:
        return 0.0, False
    if i < end and (buf[i] == 101 or buf[i] == 69):  # e E
        i += 1
        exponent_negative = False
        if i < end and (buf[i] == 45 or buf[i] == 43):
            exponent_negative = buf[i] == 45
            i += 1
        if i == end:
            return 0.0, False
        exponent = 0
        while i < end and 48 <= buf[i] <= 57:
            exponent = min(exponent * 10 + int(buf[i] - 48), 100_000)
            i += 1
        exp10 += -exponent if exponent_negative else exponent
    if i != end:
        return 0.0, False
    if mantissa == 0:
        return -0.0 if negative else 0.0, True
    if mantissa <= np.uint64(1 << 53) and -22 <= exp10 <= 22:  # Clinger: one exact operation
        value = float(mantissa)
        value = value * EXACT_POWERS[exp10] if exp10 >= 0 else value / EXACT_POWERS[-exp10]
    else:
        value, ok = _eisel_lemire(mantissa, exp10)
        if not ok:
            return 0.0, False
    return -value if negative else value, True
