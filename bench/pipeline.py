"""How many series one server process keeps up with at a 15 s step, against a local Prometheus.

    .venv/bin/python -m bench.pipeline [--series N] [--quick] [--json PATH]

(a module, run from the repository root: it starts Prometheus with the tests' helper)

Prometheus (Debian's, on loopback) holds N series `bench_load{d, i}` at a 15 s step, loaded by
promtool: a backfill window and then the steps measured. aiops runs detectors of at most
10,000 series each (Prometheus answers one query per detector), driven through those steps the
way the scheduler drives them: at each step every detector fetches its new point from
Prometheus, scores it, and stores anomalies, events and (every minute) its checkpoint in SQLite.
The figure is the wall time of one step for all detectors together: the detection lag. It
keeps up while that stays under the step.

Side by side, the reference: the same pipeline with one detector per series, as a tool that
queries and scores series one by one does, on a sample of the series (1,000, or N if fewer),
its step time extrapolated to N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from aiops.app import App, start_app
from aiops.config import Settings
from aiops.detect import registry
from aiops.events.bus import Bus
from aiops.pipeline.runner import DetectorRunner, PipelineSettings
from aiops.store.database import migrate, session_factory
from aiops_api.v1 import (
    data_source_pb2,
    data_source_service_pb2,
    data_source_service_pb2_grpc,
    detector_pb2,
    detector_service_pb2,
    detector_service_pb2_grpc,
)
from tests.prometheus import PrometheusServer

STEP = 15
PER_DETECTOR = 10_000
BACKFILL = 60
REFERENCE_SERIES = 1_000


def history(series: int, points: int, start: int) -> str:
    rng = np.random.default_rng(0)
    lines = ["# TYPE bench_load gauge"]
    for first in range(0, series, PER_DETECTOR):
        block = min(PER_DETECTOR, series - first)
        values = 100 + rng.normal(0, 1, (block, points)).round(3)
        for i in range(block):
            labels = f'd="{first // PER_DETECTOR}",i="{first + i}"'
            lines += [
                f"bench_load{{{labels}}} {values[i, k]} {start + STEP * k}" for k in range(points)
            ]
    return "\n".join([*lines, "# EOF", ""])


async def create_detectors(server: App, url: str, queries: list[str], algorithm: str) -> list[str]:
    import grpc

    async with grpc.aio.insecure_channel(server.address) as channel:
        sources = data_source_service_pb2_grpc.DataSourceServiceStub(channel)  # type: ignore[no-untyped-call]
        detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)  # type: ignore[no-untyped-call]
        await sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source_id="bench",
                data_source=data_source_pb2.DataSource(
                    kind=data_source_pb2.DataSource.KIND_PROMETHEUS, urls=[url]
                ),
            )
        )
        ids = []
        for k, query in enumerate(queries):
            spec = detector_pb2.Detector(
                data_source="dataSources/bench", query=query, step={"seconds": STEP}
            )
            if algorithm == "robust_z_score":
                spec.robust_z_score.window = 60
            else:
                spec.ensemble.period.seconds = 3600  # a day of 15 s slots is 46 KB a series
            await detectors.CreateDetector(
                detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id=f"d{k}")
            )
            await detectors.StartDetector(
                detector_service_pb2.StartDetectorRequest(name=f"detectors/d{k}")
            )
            ids.append(f"d{k}")
        return ids


async def step_times(server: App, ids: list[str], first_live: int, steps: int) -> list[float]:
    """Backfills every detector, then times each live step of all of them together."""
    settings = PipelineSettings(
        evaluation_delay=0, backfill_points=BACKFILL, checkpoint_interval=60
    )
    sessions = session_factory(server.engine)
    runners = [DetectorRunner(i, sessions, server.clients, Bus(), settings) for i in ids]
    for runner in runners:
        await runner.load()
    await asyncio.gather(*(r.advance(first_live - STEP) for r in runners))
    times = []
    for k in range(steps):
        started = time.perf_counter()
        await asyncio.gather(*(r.advance(first_live + k * STEP) for r in runners))
        times.append(time.perf_counter() - started)
    return times


async def measure(
    directory: Path, url: str, queries: list[str], algorithm: str, first_live: int, steps: int
) -> list[float]:
    database = f"sqlite+aiosqlite:///{directory / f'aiops-{len(queries)}.db'}"
    await asyncio.to_thread(migrate, database)
    server = await start_app(
        Settings(
            grpc_address="127.0.0.1:0", database_url=database, run_detectors=False, envoy=False
        )
    )
    try:
        ids = await create_detectors(server, url, queries, algorithm)
        return await step_times(server, ids, first_live, steps)
    finally:
        await server.stop(grace=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=8, help="live steps measured")
    parser.add_argument("--algorithm", choices=list(registry.BY_NAME), default="robust_z_score")
    parser.add_argument("--quick", action="store_true", help="10,000 series, 4 steps")
    parser.add_argument("--json", type=Path, help="write the figures here as one JSON object")
    args = parser.parse_args()
    series, steps = (10_000, 4) if args.quick else (args.series, args.steps)
    points = BACKFILL + steps
    # Old enough to sit in blocks, young enough to be kept.
    start = (int(time.time()) // 3600 - 3) * 3600
    first_live = start + STEP * BACKFILL

    began = time.perf_counter()
    prometheus = PrometheusServer(history(series, points, start))
    loaded = time.perf_counter() - began
    print(f"Prometheus loaded {series:,} series x {points} points in {loaded:.0f} s")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            directory = Path(scratch)
            detectors = [f'bench_load{{d="{k}"}}' for k in range(-(-series // PER_DETECTOR))]
            aiops = asyncio.run(
                measure(directory, prometheus.url, detectors, args.algorithm, first_live, steps)
            )
            sample = min(REFERENCE_SERIES, series)
            one_by_one = [f'bench_load{{i="{i}"}}' for i in range(sample)]
            reference = asyncio.run(
                measure(directory, prometheus.url, one_by_one, args.algorithm, first_live, steps)
            )
        finally:
            prometheus.stop()

    step_ms = statistics.median(aiops) * 1000
    worst_ms = max(aiops) * 1000
    reference_ms = statistics.median(reference) * 1000 * series / sample
    figures = {
        "series": series,
        "algorithm": args.algorithm,
        "step_s": STEP,
        "step_wall_ms_median": round(step_ms, 1),
        "step_wall_ms_max": round(worst_ms, 1),
        "keeps_up": worst_ms < STEP * 1000,
        "series_per_s": round(series / (step_ms / 1000)),
        "reference_step_wall_ms_extrapolated": round(reference_ms, 1),
        "speedup_vs_one_query_per_series": round(reference_ms / step_ms, 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(
        f"aiops: {series:,} series in {-(-series // PER_DETECTOR)} detectors, one step in "
        f"{step_ms:.0f} ms (max {worst_ms:.0f} ms) of {STEP} s: "
        f"{'keeps up' if figures['keeps_up'] else 'FALLS BEHIND'}"
    )
    print(
        f"one detector per series ({sample:,} measured): {reference_ms:.0f} ms a step at "
        f"{series:,} series, {figures['speedup_vs_one_query_per_series']}x slower"
    )
    print(f"max RSS {figures['max_rss_mib']} MiB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
