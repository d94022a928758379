"""Anomaly detection: numba kernels over [series, time] arrays, one module per algorithm."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba


def _cache_dir() -> str:
    """Where numba keeps compiled kernels, keyed by this package's source.

    numba's on-disk cache checks only the timestamp of the file that defines a kernel, not of
    the helpers it inlines from other modules; a changed helper would load a stale kernel.
    """
    sources = sorted(Path(__file__).parent.glob("*.py"))
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:16]
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "aiops", "numba"
    )
    return os.path.join(base, digest)


numba.config.CACHE_DIR = _cache_dir()  # type: ignore[attr-defined]
