"""Benchmarks: detection quality on NAB and the speed of the kernels; see README.md."""
