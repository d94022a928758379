"""The garbage collector in a long-running server process."""

from __future__ import annotations

import gc


def freeze() -> None:
    """Takes what start-up left on the heap (numba, SQLAlchemy, grpc, the generated modules:
    about 190,000 objects) out of the garbage collector's sight, for good: they live as long as
    the process, and each full collection over them took 50 to 100 ms during which no stream
    got its events (the tail of live events' latency). Call it once the server is started.
    (gc.freeze: https://docs.python.org/3/library/gc.html#gc.freeze)"""
    gc.collect()
    gc.freeze()
