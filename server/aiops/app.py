"""The application `aiops serve` runs, wired in one place from its settings: the database, the
data sources' clients, the event bus, the gRPC server, Envoy in front of it for browsers, the
pipeline (scheduler and health probe) and the event log's retention. The command line, the tests
and the benchmarks all start it here."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncEngine

from aiops.api.metrics import RpcCollector, RpcMetrics
from aiops.api.server import ApiServer, build_server
from aiops.config import Settings
from aiops.detect import warmup
from aiops.detectors.log_patterns import LogPatternsRegistry
from aiops.detectors.recent import RecentScoresRegistry
from aiops.envoy import Envoy, start_envoy
from aiops.events import log as event_log
from aiops.events.bus import Bus
from aiops.events.feed import FeedingBus
from aiops.events.redis_bus import RedisBus
from aiops.events.retention import Retention
from aiops.health import HealthHistory
from aiops.metrics import MetricsServer, registry_of, serve_metrics
from aiops.pipeline.health import HealthProbe
from aiops.pipeline.metrics import ServerCollector
from aiops.pipeline.notifications import Notifier
from aiops.pipeline.runner import PipelineSettings
from aiops.pipeline.scheduler import Scheduler
from aiops.pipeline.status import StatusReporter
from aiops.sources import matrix
from aiops.sources.clients import SourceClients
from aiops.store.database import create_engine, session_factory, time_transactions
from aiops.workers import Workers


@dataclass
class App:
    """A started application; `address` is where it serves gRPC (the port chosen), `envoy`
    the Envoy in front of it, if the settings start one."""

    address: str
    engine: AsyncEngine
    clients: SourceClients
    bus: Bus
    api: ApiServer
    scheduler: Scheduler
    health_probe: HealthProbe
    retention: Retention
    status: StatusReporter
    envoy: Envoy | None = None
    workers: Workers | None = None  # the other serving processes, with --workers > 1
    metrics: MetricsServer | None = None  # /metrics, unless metrics_address is empty
    notifier: Notifier | None = None  # sends anomalies to the notification channels

    @property
    def http_url(self) -> str | None:
        """Where a browser goes for the UI and grpc-web; None without Envoy."""
        return self.envoy.url if self.envoy is not None else None

    async def stop(self, grace: float | None = 5.0) -> None:
        """Ends every stream with where to resume, lets calls finish for `grace` seconds, stops
        Envoy (once the streams through it have ended), then lets each runner finish its step
        and checkpoint."""
        if self.workers is not None:  # their streams end first, while events still reach them
            await self.workers.stop()
        if self.metrics is not None:
            await asyncio.to_thread(self.metrics.stop)
        await self.api.stop(grace)
        if self.envoy is not None:
            await self.envoy.stop()
        await self.scheduler.stop()
        await self.health_probe.stop()
        if self.notifier is not None:
            await self.notifier.stop()
        await self.status.stop()
        await self.retention.stop()
        await self.bus.stop()
        await self.clients.aclose()
        await self.engine.dispose()


def _warm_up() -> None:
    warmup.warm_up()
    matrix.warm_up()


async def start_app(settings: Settings) -> App:
    """Starts serving on `settings.grpc_address` (port 0 picks a free port) and, unless
    `run_detectors` is off, running the started detectors, and, unless `envoy` is off, Envoy
    on `settings.http_address`; the schema must be migrated already. OSError when an address is
    taken, Envoy or a worker (`settings.workers` > 1: aiops.workers) does not start or the
    Redis bus cannot be reached; nothing is left running then."""
    # Compiled kernels (or ones loaded from numba's cache) before the first request, off the loop.
    await asyncio.to_thread(_warm_up)
    async with contextlib.AsyncExitStack() as undo:  # what was started, stopped on a failure
        engine = create_engine(settings.database_url)
        undo.push_async_callback(engine.dispose)
        sessions = session_factory(engine)
        clients = SourceClients()
        undo.push_async_callback(clients.aclose)
        workers = Workers(settings) if settings.workers > 1 else None
        if workers is not None:
            undo.push_async_callback(workers.stop)
        bus = (
            RedisBus(settings.redis_url, settings.stream_buffer)
            if settings.redis_url
            else FeedingBus(settings.stream_buffer)
            if workers is not None
            else Bus(settings.stream_buffer)
        )
        await bus.start()
        undo.push_async_callback(bus.stop)
        async with sessions() as session:
            _, bus.latest = await event_log.bounds(session)
        recent, history = RecentScoresRegistry(settings.recent_points), HealthHistory()
        patterns = LogPatternsRegistry()
        rpc = RpcMetrics()
        # Bound last: a server that never starts keeps its port until it is collected.
        api = build_server(
            settings.grpc_address,
            sessions,
            clients,
            bus,
            settings.heartbeat_interval,
            settings.scores_interval,
            recent,
            history,
            patterns,
            rpc,
        )
        if workers is not None:
            await workers.listen(api.server, bus)
        await api.start()
        undo.push_async_callback(api.stop, None)
        host, _, _ = settings.grpc_address.rpartition(":")
        address = f"{host}:{api.port}"
        if workers is not None:
            await workers.start(address)
        envoy = await start_envoy(settings, address) if settings.envoy else None
        if envoy is not None:
            undo.push_async_callback(envoy.stop)
        retention = Retention(
            sessions,
            settings.event_retention_count,
            timedelta(hours=settings.event_retention_hours),
        )
        notifier = Notifier(
            sessions,
            recent,
            settings.external_url or f"http://{settings.http_address}",
            settings.notification_interval,
            settings.alert_resend_interval,
        )
        undo.push_async_callback(notifier.stop)
        metrics = None
        if settings.metrics_address:
            rpcs = RpcCollector(lambda: [rpc, *(workers.rpc if workers is not None else [])])
            own = ServerCollector(
                bus, recent, retention, clients, workers, settings.score_series_limit, notifier
            )
            transactions = Histogram(
                "aiops_db_transaction_seconds",
                "How long database transactions are open (on SQLite: hold the write lock); "
                "rollback includes the read-only ones.",
                ["outcome"],
                registry=None,
            )
            time_transactions(engine, transactions)
            metrics = serve_metrics(settings.metrics_address, registry_of(rpcs, own, transactions))
        undo.pop_all()
    scheduler = Scheduler(
        sessions,
        clients,
        bus,
        PipelineSettings(
            evaluation_delay=settings.evaluation_delay,
            backfill_points=settings.backfill_points,
            checkpoint_interval=settings.checkpoint_interval,
        ),
        recent,
        patterns=patterns,
    )
    probe = HealthProbe(sessions, clients, bus, settings.health_interval, history)
    status = StatusReporter(bus, recent, history, clients, settings.status_interval, workers)
    status.start()
    retention.start()
    if settings.run_detectors:
        scheduler.start()
        probe.start()
        notifier.start()
    return App(
        address,
        engine,
        clients,
        bus,
        api,
        scheduler,
        probe,
        retention,
        status,
        envoy,
        workers,
        metrics,
        notifier,
    )
