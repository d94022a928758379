"""Speed of the detection kernels, side by side with pandas where pandas can do the same.

    .venv/bin/python bench/detectors.py [--quick] [--json PATH]

- mad_batch: rolling median and MAD over 10,000 series x 10,000 points, window 1,440, by the
  robust z-score detector (which also scores every point) and by pandas' rolling().median()
  twice (the median, then the median of absolute deviations from it).
- every algorithm's batch throughput, on one thread and on all of numba's threads;
- live: one new point for each of 100,000 series, through the path a running detector takes,
  and the state each series keeps;
- first-call compile time, with an empty numba cache and with a filled one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd

from aiops.detect import registry
from aiops.detect.base import Algorithm
from aiops.detect.robust_z import RobustZScore
from aiops.detect.scoring import Scoring

# Every registered algorithm with its defaults.
ALGORITHMS: dict[str, Algorithm] = {
    registered.name: registered.default() for registered in registry.ALGORITHMS
}
MAD_WINDOW = 1440
LIVE_SERIES = 100_000


def best_of(repeats: int, run: Callable[[], Any]) -> float:
    """The fastest of `repeats` runs, in seconds: the machine's noise only ever adds time."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def series(count: int, length: int, seed: int = 0) -> np.ndarray:
    """Noisy daily waves with a few gaps: what a detector sees."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    values: np.ndarray = 100.0 + 10.0 * np.sin(2 * np.pi * t / 1440.0)
    values = values + rng.normal(0, 2, (count, length))
    values[rng.random((count, length)) < 0.001] = np.nan
    return values


def score(algorithm: Algorithm, values: np.ndarray) -> Any:
    return algorithm.update(values, algorithm.new_state(values.shape[0]), 0, Scoring())


def mad_batch(count: int, length: int) -> dict[str, float]:
    values = series(count, length)
    detector = RobustZScore(window=MAD_WINDOW)
    score(detector, values[:2, : 4 * MAD_WINDOW])  # compiled before the clock starts

    def by_pandas() -> pd.DataFrame:
        frame = pd.DataFrame(values.T)
        median = frame.rolling(MAD_WINDOW, min_periods=10).median()
        (frame - median).abs().rolling(MAD_WINDOW, min_periods=10).median()
        return median

    aiops_s = best_of(3, lambda: score(detector, values))
    pandas_s = best_of(1, by_pandas)
    # The same medians: without gaps, the detector's expected value at t is pandas' median of
    # the window that ends at t - 1.
    gapless = np.nan_to_num(values[:4], nan=100.0)
    ours = score(detector, gapless).expected[:, MAD_WINDOW:]
    theirs = (
        pd.DataFrame(gapless.T).rolling(MAD_WINDOW).median().to_numpy().T[:, MAD_WINDOW - 1 : -1]
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    points = values.size
    return {
        "mad_batch_series": count,
        "mad_batch_points_per_series": length,
        "mad_batch_aiops_s": round(aiops_s, 3),
        "mad_batch_pandas_s": round(pandas_s, 3),
        "mad_batch_aiops_points_per_s": round(points / aiops_s),
        "mad_batch_pandas_points_per_s": round(points / pandas_s),
        "mad_batch_speedup_vs_pandas": round(pandas_s / aiops_s, 2),
    }


def throughput(count: int, length: int) -> dict[str, float]:
    values = series(count, length, seed=1)
    threads = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    figures: dict[str, float] = {"threads": threads}
    for name, algorithm in ALGORITHMS.items():
        score(algorithm, values[:2, :100])

        def run(algorithm: Algorithm = algorithm) -> None:
            score(algorithm, values)

        for used in (1, threads):
            numba.set_num_threads(used)
            seconds = best_of(3, run)
            label = "1_thread" if used == 1 else "all_threads"
            figures[f"{name}_batch_points_per_s_{label}"] = round(values.size / seconds)
        numba.set_num_threads(threads)
    return figures


def live(warm_points: int) -> dict[str, float]:
    """One point for each of LIVE_SERIES series, after `warm_points` of history."""
    figures: dict[str, float] = {}
    history = series(LIVE_SERIES, warm_points + 20, seed=2)
    for name, algorithm in ALGORITHMS.items():
        state = algorithm.new_state(LIVE_SERIES)
        algorithm.update(history[:, :warm_points], state, 0, Scoring())
        timings = []
        for t in range(warm_points, warm_points + 20):
            column = history[:, t : t + 1]
            started = time.perf_counter()
            algorithm.update(column, state, t, Scoring())
            timings.append(time.perf_counter() - started)
        figures[f"{name}_live_update_100k_series_ms"] = round(1e3 * float(np.median(timings)), 2)
        arrays = vars(state).values()
        figures[f"{name}_state_bytes_per_series"] = sum(a.nbytes for a in arrays) // LIVE_SERIES
        del state
    figures["live_update_100k_series_ms"] = figures["ensemble_live_update_100k_series_ms"]
    return figures


def compile_times() -> dict[str, float]:
    """warm_up() in a fresh interpreter: once with an empty numba cache, then with it filled."""
    code = (
        "import time; t = time.perf_counter(); from aiops.detect.warmup import warm_up; "
        "warm_up(); print(time.perf_counter() - t)"
    )
    figures = {}
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("compile_cold_s", "compile_cached_s"):
            done = subprocess.run(
                [sys.executable, "-c", code],
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            )
            figures[label] = round(float(done.stdout.strip()), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    parser.add_argument("--json", type=Path, help="write the figures here as one JSON object")
    args = parser.parse_args()

    figures: dict[str, Any] = {"quick": args.quick}
    figures |= compile_times()
    figures |= mad_batch(*((100, 10_000) if args.quick else (10_000, 10_000)))
    figures |= throughput(*((50, 10_000) if args.quick else (1_000, 10_000)))
    figures |= live(64 if args.quick else 1_000)

    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    print(
        f"\nMAD batch: {figures['mad_batch_speedup_vs_pandas']}x pandas (target >= 10x); "
        f"live update of 100k series: {figures['live_update_100k_series_ms']} ms (target < 50)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
