"""Data sources: Prometheus and Loki clients, and their responses as numpy arrays."""

from aiops import numba_cache

numba_cache.configure()
