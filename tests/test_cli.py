"""The `aiops` command as an operator runs it: a real process, its output and exit codes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from aiops_api.v1 import detector_service_pb2, detector_service_pb2_grpc

AIOPS = [sys.executable, "-m", "aiops.cli"]
SERVING_LINE = "aiops: serving on "


def run_aiops(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*AIOPS, *args],
        cwd=cwd,
        # The demo has its own test; elsewhere it would only add detectors. Envoy has its own
        # (tests/test_envoy.py); here it would only take port 8080.
        env={**os.environ, "AIOPS_DEMO": "false", "AIOPS_ENVOY": "false", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`aiops serve` on a free port, with the default database file in its working directory."""
    process = run_aiops("serve", "--grpc-address", "127.0.0.1:0", cwd=tmp_path)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith(SERVING_LINE), (line, process.stderr and process.stderr.read())
    yield process, line.removeprefix(SERVING_LINE).strip()
    if process.poll() is None:
        process.kill()
        process.wait()


def test_serve_migrates_the_default_sqlite_file_and_answers_health_checks(
    served: tuple[subprocess.Popen[str], str], tmp_path: Path
) -> None:
    _, address = served
    assert (tmp_path / "aiops.db").is_file()
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "aiops.v1.DetectorService", "aiops.v1.EventService"):
            response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING
        detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)
        listed = detectors.ListDetectors(detector_service_pb2.ListDetectorsRequest(), timeout=5)
        assert list(listed.detectors) == []


def test_serve_says_where_its_metrics_are_and_they_count_its_calls(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, address = served
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("aiops: metrics at http://127.0.0.1:"), line
    with grpc.insecure_channel(address) as channel:
        detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)
        detectors.ListDetectors(detector_service_pb2.ListDetectorsRequest(), timeout=5)
    text = httpx.get(line.split(" at ", 1)[1].strip(), timeout=10, trust_env=False).text
    assert (
        'grpc_server_handled_total{grpc_code="OK",grpc_method="ListDetectors",'
        'grpc_service="aiops.v1.DetectorService",grpc_type="unary"} 1.0'
    ) in text


def test_reflection_lists_every_service(served: tuple[subprocess.Popen[str], str]) -> None:
    _, address = served
    with grpc.insecure_channel(address) as channel:
        services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert {
        "aiops.v1.DataSourceService",
        "aiops.v1.DetectorService",
        "aiops.v1.EventService",
        "grpc.health.v1.Health",
    } <= services


def test_reflection_finds_the_file_of_a_method_as_ghz_asks(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    _, address = served
    symbols = ["aiops.v1.EventService.Subscribe", "aiops.v1.EventService.Publish"]
    with grpc.insecure_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        requests = [
            reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
            for symbol in symbols
        ]
        found, unknown = stub.ServerReflectionInfo(iter(requests), timeout=10)
    first = found.file_descriptor_response.file_descriptor_proto[0]
    assert FileDescriptorProto.FromString(first).name == "aiops/v1/event_service.proto"
    assert unknown.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


def test_sigterm_shuts_down_cleanly_and_logs_json_lines(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, _ = served
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    # Its stderr is no terminal: one JSON object per line, the stdlib's lines (alembic's) too.
    assert process.stderr is not None
    lines = [json.loads(line) for line in process.stderr.read().splitlines()]
    last = lines[-1]
    assert (last["event"], last["level"], last["logger"]) == ("shutting down", "info", "aiops")
    assert any(line["logger"].startswith("alembic") for line in lines)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_gone(pids: list[int], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(map(alive, pids))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_workers_share_the_port_and_end_with_the_primary(tmp_path: Path, stop: int) -> None:
    """`--workers 3`: two more processes answer on the port; they stop with the primary, and
    go by themselves when it is killed."""
    process = run_aiops("serve", "--grpc-address", "127.0.0.1:0", "--workers", "3", cwd=tmp_path)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(SERVING_LINE), (line, process.stderr and process.stderr.read())
        address = line.removeprefix(SERVING_LINE).strip()
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        workers = [int(pid) for pid in children]
        assert len(workers) == 2
        for _ in range(8):  # connections of their own, over the three processes
            own = [("grpc.use_local_subchannel_pool", 1)]
            with grpc.insecure_channel(address, options=own) as channel:
                health = health_pb2_grpc.HealthStub(channel)
                answer = health.Check(health_pb2.HealthCheckRequest(), timeout=5)
                assert answer.status == health_pb2.HealthCheckResponse.SERVING
                detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)
                detectors.ListDetectors(detector_service_pb2.ListDetectorsRequest(), timeout=5)
        process.send_signal(stop)
        code = process.wait(timeout=30)
        assert code == (-signal.SIGKILL if stop == signal.SIGKILL else 0)
        assert wait_gone(workers), "the workers end with the primary"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    for _ in range(2):
        process = run_aiops("--database-url", url, "migrate", cwd=tmp_path)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert "database schema is up to date" in stderr


def test_busy_port_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = run_aiops("serve", "--grpc-address", f"127.0.0.1:{port}", cwd=tmp_path)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["serve", "--heartbeat-interval", "-1"], {}, "must be positive"),
        (["serve"], {"AIOPS_LOG_LEVEL": "LOUD"}, "must be one of"),
        (["--database-url", "nosuchdb://x", "migrate"], {}, "nosuchdb"),
    ],
)
def test_bad_settings_fail_without_a_traceback(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    process = run_aiops(*args, cwd=tmp_path, env=env)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert message in stderr
    assert "Traceback" not in stderr
