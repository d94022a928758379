"""Unary DetectorService methods under ghz, on SQLite and on PostgreSQL, each against the ceiling
of a bare grpc.aio server answering the same messages.

    .venv/bin/python -m bench.unary [--duration 10] [--concurrency 100] [--json PATH]
    .venv/bin/python -m bench.unary --quick    # 2 s a scenario: about 90 s in all

(a module, run from the repository root: it starts PostgreSQL with the tests' helper; `make
bench` runs it; ghz comes from `scripts/install-tools ghz`)

For each database the real server runs as `aiops serve` does (`aiops.cli`, its heap frozen),
with one serving process (`--workers`), no Envoy, no /metrics endpoint (the RPC metrics'
interceptor still counts) and no detectors running: the API alone, on a throw-away SQLite file
and then on a throw-away PostgreSQL cluster (`tests.postgres`: fsync off, as in the tests). The
run seeds it with a data source and 60 detectors through the API, and anomalies straight into
the database (the pipeline stores them; no RPC creates one). ghz reads the methods from
protos/, as bench/ghz/subscribe.sh does.

The ceiling: a bare grpc.aio server (no interceptors, no database), in as many processes, that
parses each request into its message type and answers with a response captured from aiops
before the runs (the same message, so the same bytes), under the same ghz commands and data.

Each scenario gets a warm-up run (`--warmup` seconds, not counted), then `--duration` seconds
at `--concurrency` calls in flight over `--connections` HTTP/2 connections. The calls in flight
when the time is up are waited for and counted (`--duration-stop wait`), not cancelled: a
cancelled call can leave SQLite's write lock taken for 30 s and more (bench/README.md). RPS
counts OK answers only; latencies are of OK answers; every other status is an error, counted
and named below the table. CPU is utime + stime over the run (100 % = one core): of the
serving processes, of ghz (on the same machine, sharing its cores) and of every other process
(from /proc/stat: a run that others disturbed shows).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import json_format, message_factory
from google.protobuf.duration_pb2 import Duration

from aiops_api.v1 import data_source_service_pb2, detector_service_pb2
from bench.fanout import cpu_seconds, machine_busy_seconds
from tests.postgres import PostgresCluster, ServerError, find_bindir, log_tail
from tests.rpc import detector, prometheus

REPO = Path(__file__).resolve().parent.parent
GHZ = REPO / ".tools/bin/ghz"
SERVICE = detector_service_pb2.DESCRIPTOR.services_by_name["DetectorService"]
DETECTORS = 60  # more than a page of ListDetectors
ANOMALIES = 1_000  # listed by ListAnomalies; as many again per UpdateAnomaly run
BACKTEST_POINTS = 1_000
T0 = datetime(2026, 11, 1, tzinfo=UTC)
READY_SECONDS = 300.0  # the first start compiles the numba kernels

DETECTOR = detector(
    "dataSources/prometheus",
    display_name="API p99 latency",
    description="The 99th percentile of the API's request latency, per instance.",
    query="histogram_quantile(0.99, sum by (le, instance) "
    '(rate(http_request_duration_seconds_bucket{job="api"}[5m])))',
    step=Duration(seconds=60),
)


def as_json(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def backtest_values() -> list[float]:
    """A daily-ish wave with noise and one spike: something for the ensemble to score."""
    rng = np.random.default_rng(0)
    i = np.arange(BACKTEST_POINTS)
    values = 100 + 10 * np.sin(2 * np.pi * i / 288) + rng.normal(0, 1, BACKTEST_POINTS)
    values[700] += 40
    return [round(float(v), 3) for v in values]


@dataclass(frozen=True)
class Scenario:
    """A method and what ghz sends it: `data(run)` is ghz's JSON (with its template actions) for
    the `run`-th ghz run on one server; `sample` one concrete request, to capture a response."""

    method: str
    data: Callable[[int], dict[str, Any]]
    sample: dict[str, Any]


def fixed(method: str, request: dict[str, Any]) -> Scenario:
    return Scenario(method, lambda _run: request, request)


def update_anomaly(run: int) -> dict[str, Any]:
    """Each run updates its own anomalies `u{run}-*`, seeded open, one after the other: each
    call acknowledges one, or reopens it on the next pass, so that every call writes."""
    n = ANOMALIES
    return {
        "anomaly": {
            "name": f"detectors/d-0/anomalies/u{run}-{{{{mod .RequestNumber {n}}}}}",
            "state": f"{{{{if eq (mod (div .RequestNumber {n}) 2) 0}}}}STATE_ACKNOWLEDGED"
            "{{else}}STATE_OPEN{{end}}",
        },
        "updateMask": {"paths": ["state"]},  # ghz takes no FieldMask as a string
    }


def scenarios() -> list[Scenario]:
    backtest = {
        "detector": {"step": "60s"},  # the ensemble, its defaults
        "series": [
            {
                "labels": {"instance": "web-1", "job": "api"},
                "startTime": T0.isoformat().replace("+00:00", "Z"),
                "values": backtest_values(),
            }
        ],
    }
    create = {"detector": as_json(DETECTOR)}
    return [
        fixed("GetDetector", {"name": "detectors/d-7"}),
        fixed("ListDetectors", {"pageSize": 50}),
        # Ids after the seeded `d-*`: ListDetectors' first page stays the same.
        Scenario(
            "CreateDetector",
            lambda _run: {**create, "detectorId": "n-{{.UUID}}"},
            {**create, "detectorId": "n-capture"},
        ),
        fixed("ListAnomalies", {"parent": "detectors/-", "pageSize": 50}),
        fixed("BacktestDetector", backtest),
        Scenario(
            "UpdateAnomaly",
            update_anomaly,
            {"anomaly": {"name": "detectors/d-0/anomalies/a-0", "state": "STATE_ACKNOWLEDGED"}},
        ),
    ]


def request_type(method: str) -> Any:
    return message_factory.GetMessageClass(SERVICE.methods_by_name[method].input_type)


def response_type(method: str) -> Any:
    return message_factory.GetMessageClass(SERVICE.methods_by_name[method].output_type)


# The servers.


@contextlib.contextmanager
def serving(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """A server process that says where it serves on its stdout (`address_of`); stopped by
    SIGTERM (aiops then stops as `aiops serve` does)."""
    with log.open("a") as stderr:
        process = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def address_of(process: subprocess.Popen[str], banner: str, log: Path) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        line = process.stdout.readline() if ready else ""
        if line.startswith(banner):
            return line.removeprefix(banner).strip()
        if ready and not line:
            break  # it exited
    raise ServerError(f"{banner!r} not printed within {READY_SECONDS:g} s" + log_tail(log))


@contextlib.contextmanager
def aiops(url: str, workers: int, log: Path) -> Iterator[tuple[str, int]]:
    """`aiops serve` on `url` (it migrates the database first): its address and pid."""
    env = {
        **os.environ,
        "AIOPS_DATABASE_URL": url,
        "AIOPS_GRPC_ADDRESS": "127.0.0.1:0",
        "AIOPS_WORKERS": str(workers),
        "AIOPS_ENVOY": "false",
        "AIOPS_METRICS_ADDRESS": "",
        "AIOPS_RUN_DETECTORS": "false",
    }
    banner = "aiops: serving on "
    with serving([sys.executable, "-m", "aiops.cli", "serve"], env, log) as process:
        yield address_of(process, banner, log), process.pid


@contextlib.contextmanager
def echo(answers: Path, workers: int, log: Path) -> Iterator[tuple[str, list[int]]]:
    """The bare server in `workers` processes on one port (SO_REUSEPORT, as aiops' workers):
    its address and pids."""
    banner = "echo: serving on "
    with contextlib.ExitStack() as stack:
        command = [sys.executable, "-m", "bench.unary", "--serve-echo", str(answers)]
        first = stack.enter_context(serving(command, dict(os.environ), log))
        address = address_of(first, banner, log)
        pids = [first.pid]
        for _ in range(workers - 1):
            port = ["--port", address.rpartition(":")[2]]
            other = stack.enter_context(serving(command + port, dict(os.environ), log))
            address_of(other, banner, log)
            pids.append(other.pid)
        yield address, pids


def serve_echo(answers: Path, port: int) -> None:
    asyncio.run(_serve_echo(json.loads(answers.read_text()), port))


async def _serve_echo(answers: dict[str, str], port: int) -> None:
    import grpc

    def answer(response: Any) -> Callable[[Any, Any], Any]:
        async def handle(request: Any, context: Any) -> Any:
            return response

        return handle

    methods = {}
    for method, encoded in answers.items():
        response = response_type(method).FromString(base64.b64decode(encoded))
        methods[method] = grpc.unary_unary_rpc_method_handler(
            answer(response),
            request_deserializer=request_type(method).FromString,
            response_serializer=response_type(method).SerializeToString,
        )
    # As the generated add_*Servicer_to_server adds aiops' services.
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE.full_name, methods),)
    )
    server.add_registered_method_handlers(SERVICE.full_name, methods)
    port = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"echo: serving on 127.0.0.1:{port}", flush=True)
    await stop.wait()
    await server.stop(grace=None)


@contextlib.contextmanager
def database(kind: str, work: Path) -> Iterator[str]:
    """A throw-away database's URL; `aiops serve` migrates it."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{work / 'aiops.db'}"
        return
    cluster = PostgresCluster()
    cluster.start()
    try:
        cluster.execute('CREATE DATABASE "aiops"')
        yield cluster.url("aiops")
    finally:
        cluster.stop()


# Seeding and capturing.


async def seed(address: str, url: str, runs: int) -> None:
    """A data source and DETECTORS detectors `d-0`... through the API; ANOMALIES anomalies
    `a-*` of `d-0` to list, and ANOMALIES open ones `u{run}-*` for each UpdateAnomaly run,
    straight into the database."""
    import grpc

    from aiops.store.database import create_engine, session_factory
    from aiops.store.models import AnomalyRow
    from aiops_api.v1 import data_source_service_pb2_grpc, detector_service_pb2_grpc

    async with grpc.aio.insecure_channel(address) as channel:
        data_sources = data_source_service_pb2_grpc.DataSourceServiceStub(channel)  # type: ignore[no-untyped-call]
        await data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(), data_source_id="prometheus"
            )
        )
        detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)  # type: ignore[no-untyped-call]
        for i in range(DETECTORS):
            await detectors.CreateDetector(
                detector_service_pb2.CreateDetectorRequest(detector=DETECTOR, detector_id=f"d-{i}")
            )
    engine = create_engine(url)
    ids = [f"a-{k}" for k in range(ANOMALIES)]
    ids += [f"u{run}-{k}" for run in range(runs) for k in range(ANOMALIES)]
    try:
        async with session_factory(engine).begin() as session:
            session.add_all(
                AnomalyRow(
                    id=anomaly_id,
                    detector_id="d-0",
                    series_labels={"instance": f"web-{k % 7}", "job": "api"},
                    start_time=T0 + timedelta(minutes=k),
                    end_time=T0 + timedelta(minutes=k + 3),
                    peak_score=0.97,
                    peak_value=1234.5,
                    severity="SEVERITY_WARNING",
                    state="STATE_OPEN",
                )
                for k, anomaly_id in enumerate(ids)
            )
    finally:
        await engine.dispose()


async def capture(address: str, cases: list[Scenario]) -> dict[str, str]:
    """Each scenario's sample request answered by aiops: the serialized response, base64."""
    import grpc

    answers = {}
    async with grpc.aio.insecure_channel(address) as channel:
        for case in cases:
            call = channel.unary_unary(
                f"/{SERVICE.full_name}/{case.method}",
                request_serializer=request_type(case.method).SerializeToString,
            )  # no deserializer: the bytes
            request = json_format.ParseDict(case.sample, request_type(case.method)())
            answers[case.method] = base64.b64encode(await call(request)).decode()
    return answers


# ghz.


@dataclass
class Result:
    scenario: str
    server: str  # sqlite, postgres, echo
    rps: float  # OK answers a second
    p50_ms: float
    p95_ms: float
    p99_ms: float
    ok: int
    errors: int
    error_kinds: dict[str, int]
    server_cpu_pct: float
    ghz_cpu_pct: float
    others_cpu_pct: float  # every other process on the machine
    response_bytes: int
    ratio: float = math.nan  # rps / the echo's


def ghz(
    address: str,
    case: Scenario,
    run: int,
    seconds: float,
    args: argparse.Namespace,
    work: Path,
) -> dict[str, Any]:
    """One ghz run of `case`; its JSON report."""
    data = work / f"{case.method}-{run}.json"
    data.write_text(json.dumps(case.data(run)))
    report = work / "report.json"
    done = subprocess.run(
        [GHZ, "--proto", "protos/aiops/v1/detector_service.proto",
         "--import-paths", "protos,third_party/googleapis", "--insecure",
         "--call", f"{SERVICE.full_name}.{case.method}", "--data-file", data,
         "--concurrency", str(args.concurrency), "--connections", str(args.connections),
         "--rps", str(args.rps),
         "--duration", f"{seconds:g}s", "--duration-stop", "wait", "--timeout", "30s",
         "--format", "json", "--output", report, address],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:  # it names every request it could not build: the end will do
        raise RuntimeError(f"ghz failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def cpu_seconds_of(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def ghz_cpu_seconds() -> float:
    """What the ended children took: the ghz runs (the servers are waited for only at the end)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    server: str,
    address: str,
    pids: list[int],
    cases: list[Scenario],
    answers: dict[str, str],
    args: argparse.Namespace,
    work: Path,
) -> list[Result]:
    results = []
    for case in cases:
        ghz(address, case, 0, args.warmup, args, work)
        cpu, busy, wall = cpu_seconds_of(pids), machine_busy_seconds(), time.monotonic()
        client = ghz_cpu_seconds()
        report = ghz(address, case, 1, args.duration, args, work)
        wall = time.monotonic() - wall  # ghz's own start (reading protos/) included: the CPU
        cpu, busy = cpu_seconds_of(pids) - cpu, machine_busy_seconds() - busy  # over the same
        client = ghz_cpu_seconds() - client
        seconds = report["total"] / 1e9
        statuses: dict[str, int] = report["statusCodeDistribution"] or {}
        ok = statuses.get("OK", 0)
        latencies = {
            d["percentage"]: d["latency"] / 1e6 for d in report["latencyDistribution"] or []
        }
        result = Result(
            scenario=case.method,
            server=server,
            rps=ok / seconds,
            p50_ms=latencies.get(50, math.nan),
            p95_ms=latencies.get(95, math.nan),
            p99_ms=latencies.get(99, math.nan),
            ok=ok,
            errors=report["count"] - ok,
            error_kinds=report["errorDistribution"] or {},
            server_cpu_pct=100 * cpu / wall,
            ghz_cpu_pct=100 * client / wall,
            others_cpu_pct=max(0.0, 100 * (busy - cpu - client) / wall),  # ±5 % of noise
            response_bytes=len(base64.b64decode(answers[case.method])),
        )
        print(
            f"  {case.method:<17} {server:<8} {result.rps:8.0f}/s  p95 {result.p95_ms:7.1f} ms"
            f"  errors {result.errors}",
            flush=True,
        )
        results.append(result)
    return results


# The report.


def table(results: list[Result]) -> str:
    rows = [
        "| Scenario | Server | RPS | p50 ms | p95 ms | p99 ms | Errors | of echo "
        "| Server CPU | ghz CPU | Others' CPU | Response bytes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rows.append(
            f"| {r.scenario} | {r.server} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} "
            f"| {r.p99_ms:.1f} | {r.errors:,} | {r.ratio:.2f} | {r.server_cpu_pct:.0f} % "
            f"| {r.ghz_cpu_pct:.0f} % | {r.others_cpu_pct:.0f} % | {r.response_bytes:,} |"
        )
    return "\n".join(rows)


def targets(results: list[Result]) -> list[str]:
    """Issue 17's targets for Get and List: p95 < 10 ms and RPS >= 0.7x the echo's."""
    lines = []
    for r in results:
        if r.server == "echo" or r.scenario not in ("GetDetector", "ListDetectors"):
            continue
        p95 = "met" if r.p95_ms < 10 else "NOT met"
        rps = "met" if r.ratio >= 0.7 else "NOT met"
        lines.append(
            f"{r.scenario} on {r.server}: p95 {r.p95_ms:.1f} ms < 10 ms {p95}; "
            f"RPS {r.ratio:.2f}x the echo's >= 0.7 {rps}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured a scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before, not counted")
    parser.add_argument("--concurrency", type=int, default=100, help="calls in flight")
    parser.add_argument(
        "--connections",
        type=int,
        default=1,
        help="ghz's HTTP/2 connections; with --workers N, at least N to reach every process",
    )
    parser.add_argument(
        "--rps",
        type=int,
        default=0,
        help="calls started a second at most, for latencies below saturation (default: as "
        "many as the servers answer)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="serving processes of aiops and of the echo"
    )
    parser.add_argument(
        "--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument(
        "--scenarios",
        default="",
        help="comma-separated methods (default all: "
        + ", ".join(case.method for case in scenarios())
        + ")",
    )
    parser.add_argument("--log", type=Path, help="keep the servers' stderr here")
    parser.add_argument("--quick", action="store_true", help="--duration 2 --warmup 1")
    parser.add_argument(
        "--json", type=Path, help="write the figures here, as {scenario.server.figure: value}"
    )
    parser.add_argument("--serve-echo", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        serve_echo(args.serve_echo, args.port)
        return
    if args.quick:
        args.duration, args.warmup = 2.0, 1.0
    if not GHZ.exists():
        sys.exit(f"no {GHZ}: run scripts/install-tools ghz")
    if "postgres" in args.databases:
        find_bindir()  # before the SQLite part, not after it: "run make setup"

    cases = scenarios()
    if args.scenarios:
        wanted = args.scenarios.split(",")
        cases = [case for case in cases if case.method in wanted]
    with tempfile.TemporaryDirectory(prefix="aiops-bench-unary-") as directory:
        work = Path(directory)
        log = args.log or work / "servers.log"
        results: list[Result] = []
        answers: dict[str, str] = {}
        for kind in args.databases.split(","):
            with database(kind, work) as url, aiops(url, args.workers, log) as (address, pid):
                print(f"aiops on {kind}, {address}", flush=True)
                asyncio.run(seed(address, url, runs=2))
                answers = answers or asyncio.run(capture(address, cases))
                results += measure(kind, address, [pid], cases, answers, args, work)
        (work / "answers.json").write_text(json.dumps(answers))
        with echo(work / "answers.json", args.workers, log) as (address, pids):
            print(f"echo, {address}", flush=True)
            ceiling = measure("echo", address, pids, cases, answers, args, work)

    by_scenario = {r.scenario: r for r in ceiling}
    for r in results + ceiling:
        r.ratio = r.rps / by_scenario[r.scenario].rps
    ordered = sorted(results + ceiling, key=lambda r: [c.method for c in cases].index(r.scenario))
    print()
    print(
        f"ghz, concurrency {args.concurrency}, {args.connections} connection(s), "
        f"{f'at most {args.rps} calls/s, ' if args.rps else ''}"
        f"{args.duration:g} s a scenario after {args.warmup:g} s of warm-up; "
        f"{args.workers} serving process(es); {os.cpu_count()} cores"
    )
    print(table(ordered))
    for r in ordered:
        for kind, count in sorted(r.error_kinds.items(), key=lambda item: -item[1])[:3]:
            print(f"errors, {r.scenario} on {r.server}: {count:,} x {kind}")
    print()
    print("\n".join(targets(ordered)))
    if args.json:
        figures = {
            f"{r.scenario}.{r.server}.{name}": value
            for r in ordered
            for name, value in asdict(r).items()
            if name not in ("scenario", "server")
        }
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
