"""Fixtures: a real aiops gRPC server on loopback, over SQLite and over PostgreSQL, and a real
Prometheus, Loki and Redis."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops.app import App, start_app
from aiops.config import Settings
from aiops.store.database import migrate, session_factory
from aiops_api.v1 import (
    data_source_service_pb2_grpc,
    detector_service_pb2_grpc,
    event_service_pb2_grpc,
)
from tests.loki import LokiServer, sample_streams
from tests.postgres import PostgresCluster
from tests.prometheus import PrometheusServer, sample_data
from tests.redis import RedisServer
from tests.subscribers import build as build_subscribers

HEARTBEAT_INTERVAL = 0.2
# The `aiops serve` processes tests start serve /metrics on a free port (scripts/test says the
# same for the clients' tests).
os.environ.setdefault("AIOPS_METRICS_ADDRESS", "127.0.0.1:0")


def migrate_in_thread(url: str) -> None:
    """Alembic runs its own event loop, which cannot nest in the tests' loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(migrate, url).result()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def prometheus_server() -> Iterator[PrometheusServer]:
    """Debian's Prometheus over the test data of tests/prometheus.py."""
    server = PrometheusServer(sample_data())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def loki_server() -> Iterator[LokiServer]:
    """The Loki that scripts/install-tools builds, with the log lines of tests/loki.py."""
    server = LokiServer(sample_streams())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server: RedisServer) -> RedisServer:
    """The tests' Redis, emptied for this test."""
    redis_server.flush()
    return redis_server


@pytest.fixture(params=["in-process", "redis"])
def bus_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The settings that choose each event bus: the in-process one, or Redis Streams."""
    if request.param == "in-process":
        return {}
    redis: RedisServer = request.getfixturevalue("redis")
    return {"redis_url": redis.url}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: migrating once keeps the suite fast."""
    path = tmp_path_factory.mktemp("template") / "aiops.db"
    migrate_in_thread(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresCluster) -> str:
    """A migrated database that each test's database is created from."""
    postgres.execute('CREATE DATABASE "aiops_template"')
    migrate_in_thread(postgres.url("aiops_template"))
    return "aiops_template"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database for one test, on each backend."""
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "aiops.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'aiops.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    template = request.getfixturevalue("postgres_template")
    name = f"test_{uuid.uuid4().hex[:12]}"
    cluster.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield cluster.url(name)
    cluster.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@dataclass
class Api:
    """Generated Python stubs on a channel to the running server."""

    channel: grpc.aio.Channel
    data_sources: data_source_service_pb2_grpc.DataSourceServiceStub
    detectors: detector_service_pb2_grpc.DetectorServiceStub
    events: event_service_pb2_grpc.EventServiceStub
    address: str
    sessions: async_sessionmaker[AsyncSession]  # for arranging rows no RPC creates (anomalies)


@asynccontextmanager
async def serving(database_url: str, **settings: Any) -> AsyncIterator[App]:
    """The aiops server on a free loopback port, with `settings` over the tests' defaults; no
    Envoy unless `envoy=True` asks for one (tests/test_envoy.py), one serving process unless
    `workers` asks for more."""
    settings.setdefault("heartbeat_interval", HEARTBEAT_INTERVAL)
    settings.setdefault("grpc_address", "127.0.0.1:0")
    settings.setdefault("envoy", False)
    settings.setdefault("workers", 1)  # tests that want more ask (test_event_stream.py, ...)
    settings.setdefault("metrics_address", "")  # tests/test_metrics.py asks for /metrics
    running = await start_app(Settings(database_url=database_url, **settings))
    try:
        yield running
    finally:
        await running.stop(grace=None)


@asynccontextmanager
async def connected(server: App) -> AsyncIterator[Api]:
    async with grpc.aio.insecure_channel(server.address) as channel:
        yield Api(
            channel=channel,
            data_sources=data_source_service_pb2_grpc.DataSourceServiceStub(channel),
            detectors=detector_service_pb2_grpc.DetectorServiceStub(channel),
            events=event_service_pb2_grpc.EventServiceStub(channel),
            address=server.address,
            sessions=session_factory(server.engine),
        )


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[App]:
    async with serving(database_url) as running:
        yield running


@pytest.fixture
async def api(server: App) -> AsyncIterator[Api]:
    async with connected(server) as stubs:
        yield stubs


@pytest.fixture(scope="session")
def go_subscribers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bench/fanout-sub, built once per session."""
    return build_subscribers(tmp_path_factory.mktemp("fanout-sub"))
