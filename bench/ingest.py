"""Parsing Prometheus query_range responses into the numpy layout [series, time], side by side.

    .venv/bin/python bench/ingest.py [--quick] [--json PATH]

The response is what Prometheus sends (compact JSON, values as strings, 15 s steps, a few gaps),
for 1,000 series x 10,000 points (--quick: 100 series). Three ways to the same array:
- aiops: sources.matrix.parse_matrix, one numba pass over the bytes;
- json loop: json.loads, then a Python loop over the samples into the array (with the garbage
  collector on, as plain code runs, and off, the usual trick);
- DataFrame: a row per sample with its labels, as prometheus-api-client's MetricRangeDataFrame
  builds it (run on a tenth of the series and reported per sample).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aiops.sources.matrix import parse_matrix

START_S, STEP_S = 1_700_000_000, 15


def response(series: int, points: int) -> bytes:
    rng = np.random.default_rng(0)
    result = []
    for s in range(series):
        # Rates and gauges as Prometheus prints them: shortest round-trip decimals.
        values = rng.gamma(2.0, 10.0 ** rng.integers(-3, 4), points)
        keep = rng.random(points) > 0.001
        samples = [[START_S + STEP_S * k, repr(float(values[k]))] for k in range(points) if keep[k]]
        labels = {"__name__": "http_requests_rate", "instance": f"10.0.{s // 250}.{s % 250}:9100"}
        result.append({"metric": labels | {"job": "node", "code": "200"}, "values": samples})
    document = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(document, separators=(",", ":")).encode()


def json_loop(body: bytes, points: int) -> np.ndarray:
    document = json.loads(body)
    result = document["data"]["result"]
    values = np.full((len(result), points), np.nan)
    for row, item in enumerate(result):
        for timestamp, value in item["values"]:
            values[row, (int(timestamp) - START_S) // STEP_S] = float(value)
    return values


def json_loop_without_gc(body: bytes, points: int) -> np.ndarray:
    gc.disable()
    try:
        return json_loop(body, points)
    finally:
        gc.enable()


def dataframe(body: bytes) -> pd.DataFrame:
    rows = [
        {**item["metric"], "timestamp": timestamp, "value": value}
        for item in json.loads(body)["data"]["result"]
        for timestamp, value in item["values"]
    ]
    frame = pd.DataFrame(rows)
    frame["value"] = frame["value"].astype(float)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s")
    return frame


def best_of(repeats: int, run: Any) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 series instead of 1,000")
    parser.add_argument("--json", type=Path, help="write the figures here as one JSON object")
    args = parser.parse_args()

    series, points = (100, 10_000) if args.quick else (1_000, 10_000)
    body = response(series, points)
    small = response(series // 10, points)
    start_ms, step_ms = START_S * 1000, STEP_S * 1000
    samples = sum(len(item["values"]) for item in json.loads(body)["data"]["result"])
    parsed = parse_matrix(small, start_ms, step_ms, points)  # compiled before the clock starts
    np.testing.assert_array_equal(parsed.values, json_loop(small, points))

    ours = best_of(3, lambda: parse_matrix(body, start_ms, step_ms, points))
    loop = best_of(1, lambda: json_loop(body, points))
    loop_without_gc = best_of(1, lambda: json_loop_without_gc(body, points))
    small_samples = sum(len(item["values"]) for item in json.loads(small)["data"]["result"])
    frame = best_of(1, lambda: dataframe(small)) * samples / small_samples
    figures = {
        "quick": args.quick,
        "series": series,
        "points_per_series": points,
        "samples": samples,
        "response_mb": round(len(body) / 1e6, 1),
        "samples_per_s": round(samples / ours),
        "json_loop_samples_per_s": round(samples / loop),
        "json_loop_without_gc_samples_per_s": round(samples / loop_without_gc),
        "dataframe_samples_per_s": round(samples / frame),
        "speedup_vs_json_loop": round(loop / ours, 2),
        "speedup_vs_json_loop_without_gc": round(loop_without_gc / ours, 2),
        "speedup_vs_dataframe": round(frame / ours, 2),
    }
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
