"""Structured logs: one JSON object per line (aiops' lines and the stdlib's alike), a request id
per call (the client's x-request-id, else a new one) on every line the call causes and in its
error's ErrorInfo, and pipeline lines naming their data source."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
import structlog
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from aiops import structured_logs
from aiops.app import App
from aiops_api.v1 import data_source_service_pb2, detector_service_pb2
from tests.conftest import connected, serving
from tests.postgres import free_port
from tests.rpc import detector, failure, prometheus

Lines = Callable[[], list[dict[str, Any]]]
HEX_ID = re.compile(r"[0-9a-f]{32}")
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # as on PostgreSQL


@pytest.fixture
def logged() -> Iterator[Lines]:
    """Logging configured as `aiops serve` does (JSON, at DEBUG) into a buffer; its lines."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    structured_logs.configure("DEBUG", "json", stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:], root.level = handlers, level
    structlog.reset_defaults()


def test_every_line_is_a_json_object_with_what_its_context_bound(logged: Lines) -> None:
    with structlog.contextvars.bound_contextvars(request_id="r1"):
        logging.getLogger("aiops.somewhere").warning("%d things", 3, extra={"detector": "d"})
        structlog.stdlib.get_logger("aiops.elsewhere").info("done", count=2)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("grpc").exception("failed")

    stdlib, own, failed = logged()
    assert stdlib["event"] == "3 things"
    assert stdlib["level"] == "warning"
    assert stdlib["logger"] == "aiops.somewhere"
    assert stdlib["request_id"] == "r1" and stdlib["detector"] == "d"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", stdlib["timestamp"])
    assert own == {**own, "event": "done", "count": 2, "request_id": "r1", "level": "info"}
    assert "request_id" not in failed, "the binding ends with its block"
    assert failed["exception"].startswith("Traceback") and "ValueError: boom" in failed["exception"]


def test_console_lines_are_for_people() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        structured_logs.configure("INFO", "console", stream)
        logging.getLogger("aiops").info("hello")
        logging.getLogger("aiops").debug("not at INFO")
    finally:
        root.handlers[:], root.level = handlers, level
        structlog.reset_defaults()
    (line,) = stream.getvalue().splitlines()
    assert "hello" in line and "info" in line and not line.startswith("{")


@SQLITE
async def test_a_calls_lines_and_its_error_carry_the_request_id_it_came_with(
    server: App, logged: Lines
) -> None:
    away = f"http://127.0.0.1:{free_port()}"
    async with connected(server) as api:
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(urls=[away]), data_source_id="away"
            )
        )
        request = data_source_service_pb2.QueryMetricsRequest(
            data_source="dataSources/away",
            query="up",
            start_time=Timestamp(seconds=1_700_000_000),
            end_time=Timestamp(seconds=1_700_000_600),
            step=Duration(seconds=60),
        )
        refused = await failure(
            api.data_sources.QueryMetrics(request, metadata=(("x-request-id", "req-42"),))
        )

    assert refused.code is grpc.StatusCode.UNAVAILABLE
    assert refused.metadata["request_id"] == "req-42"
    (line,) = [line for line in logged() if line.get("request_id") == "req-42"]
    assert line["level"] == "warning"
    assert line["rpc"] == "/aiops.v1.DataSourceService/QueryMetrics"
    assert line["code"] == "UNAVAILABLE" and away in line["error"]


@SQLITE
@pytest.mark.parametrize(
    "given",
    [(), (("x-request-id", "x" * 129),), (("x-request-id", ""),)],
    ids=["none", "too long", "empty"],
)
async def test_a_call_without_a_usable_request_id_gets_one(
    server: App, logged: Lines, given: tuple[tuple[str, str], ...]
) -> None:
    async with connected(server) as api:
        missing = await failure(
            api.detectors.GetDetector(
                detector_service_pb2.GetDetectorRequest(name="detectors/nope"), metadata=given
            )
        )

    assert missing.code is grpc.StatusCode.NOT_FOUND
    request_id = missing.metadata["request_id"]
    assert HEX_ID.fullmatch(request_id)
    # Refused for what it asked: a debug line, not the server's trouble.
    (line,) = [line for line in logged() if line.get("request_id") == request_id]
    assert line["level"] == "debug" and line["code"] == "NOT_FOUND"


@SQLITE
async def test_pipeline_lines_name_their_detector_and_data_source(
    database_url: str, logged: Lines
) -> None:
    away = f"http://127.0.0.1:{free_port()}"
    async with serving(database_url, evaluation_delay=0.0) as server, connected(server) as api:
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(urls=[away]), data_source_id="away"
            )
        )
        created = await api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(
                detector=detector("dataSources/away", query="up"), detector_id="cpu"
            )
        )
        await api.detectors.StartDetector(
            detector_service_pb2.StartDetectorRequest(name=created.name)
        )
        await server.health_probe.probe()

        def degraded() -> list[dict[str, Any]]:
            return [line for line in logged() if line.get("state") == "STATE_DEGRADED"]

        deadline = time.monotonic() + 30
        while not degraded():
            assert time.monotonic() < deadline, logged()
            await asyncio.sleep(0.2)

    (line,) = degraded()
    assert line["level"] == "warning"
    assert (line["detector"], line["data_source"]) == ("detectors/cpu", "dataSources/away")
    assert "dataSources/away" in line["reason"]
    unreachable = [line for line in logged() if line["event"].startswith("data source unreach")]
    assert unreachable and unreachable[0]["data_source"] == "dataSources/away"
    assert away in unreachable[0]["event"]
