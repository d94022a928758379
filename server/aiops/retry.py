"""Waiting between retries: capped exponential backoff with full jitter."""

from __future__ import annotations

import random


def full_jitter(retry: int, first: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `retry` (0 for the first): uniform in
    [0, min(cap, first * 2**retry)], so that clients that failed together do not come back
    together."""
    ceiling = min(cap, first * 2 ** min(retry, 30))  # a long outage must not overflow the float
    return (rng or random).uniform(0, ceiling)
