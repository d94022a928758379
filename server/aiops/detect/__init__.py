"""Anomaly detection: numba kernels over [series, time] arrays, one module per algorithm."""

from aiops import numba_cache

numba_cache.configure()
