"""Runs a detector over a Numenta Anomaly Benchmark (NAB) data folder and writes NAB-layout results.

Every file is scored point by point through the live path: the detector is built from its API
spec exactly as the server builds it, and each point is one `update` call on the series' state,
as when a detector runs every step. One configuration for all files (NAB's rules); only the
step follows each file's sampling interval, as an operator would set it for each query.

    .venv/bin/python bench/nab.py --data ../shared/data/nab/data --out /tmp/nab/ensemble
    python3 ../shared/tools/nab_score.py --data ../shared/data/nab/data \\
        --labels ../shared/data/nab/labels/combined_windows.json --results /tmp/nab/ensemble
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from google.protobuf.duration_pb2 import Duration

from aiops.detect import registry
from aiops.detectors import spec
from aiops.validation import Violations
from aiops_api.v1 import detector_pb2


def detector_spec(algorithm: str, step_seconds: int) -> detector_pb2.Detector:
    """The algorithm with its defaults, as CreateDetector would store it."""
    detector = detector_pb2.Detector(step=Duration(seconds=step_seconds))
    getattr(detector, algorithm).SetInParent()
    violations = Violations()
    prepared = spec.prepare(detector, violations, reads=False)
    if violations.items:
        raise SystemExit(f"{algorithm} at {step_seconds}s steps: {violations.items}")
    return prepared


def read(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The file's timestamp strings, values, and timestamps in seconds since the epoch."""
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    stamps = [row["timestamp"] for row in rows]
    seconds = np.array(
        [datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp() for s in stamps], dtype=np.int64
    )
    values = np.array([float(row["value"]) for row in rows])
    return stamps, values, seconds


def sampling_interval(seconds: np.ndarray) -> int:
    gaps = np.diff(seconds)
    gaps = gaps[gaps > 0]
    return int(np.median(gaps)) if len(gaps) else 60


def score_file(algorithm: str, values: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    step = sampling_interval(seconds)
    detector, scoring = spec.build(detector_spec(algorithm, step))
    state = detector.new_state(1)
    scores = np.empty(len(values))
    for t in range(len(values)):
        # Points off the step grid count in the step they fall in; a gap is steps not sent.
        scored = detector.update(
            values[np.newaxis, t : t + 1], state, int(seconds[t] // step), scoring
        )
        scores[t] = scored.scores[0, 0]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="NAB data folder")
    parser.add_argument("--out", type=Path, required=True, help="where result CSVs go")
    parser.add_argument("--detector", default="ensemble", choices=list(registry.BY_NAME))
    parser.add_argument("--json", type=Path, help="write the run's figures here")
    args = parser.parse_args()

    started, points = time.perf_counter(), 0
    for path in sorted(args.data.glob("*/*.csv")):
        stamps, values, seconds = read(path)
        scores = score_file(args.detector, values, seconds)
        points += len(values)
        out = args.out / path.parent.name / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["timestamp", "value", "anomaly_score"])
            writer.writerows(zip(stamps, values.tolist(), scores.tolist(), strict=True))
    elapsed = time.perf_counter() - started
    figures = {
        "detector": args.detector,
        "points": points,
        "seconds": round(elapsed, 2),
        "microseconds_per_point": round(1e6 * elapsed / max(points, 1), 1),
    }
    print(json.dumps(figures))
    if args.json:
        args.json.write_text(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
