"""Where numba keeps the compiled kernels of `detect/` and `sources/`, keyed by their source.

numba's on-disk cache checks only the timestamp of the file that defines a kernel, not of the
helpers it inlines from other modules; a changed helper would load a stale kernel. A directory
per hash of every kernel module's source makes any change compile afresh.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba

PACKAGES = ("detect", "sources")


def cache_dir() -> str:
    root = Path(__file__).parent
    sources = sorted(path for package in PACKAGES for path in (root / package).glob("*.py"))
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:16]
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "aiops", "numba"
    )
    return os.path.join(base, digest)


def configure() -> None:
    numba.config.CACHE_DIR = cache_dir()  # type: ignore[attr-defined]
