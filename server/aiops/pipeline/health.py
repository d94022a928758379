"""The health probe: asks every data source for its build info at an interval and turns each
change of reachability into a DATA_SOURCE_HEALTH event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops import queries
from aiops.events import log as event_log
from aiops.events.bus import Bus
from aiops.health import HealthCheck, HealthHistory
from aiops.resources import source_config
from aiops.sources.clients import SourceClients
from aiops.store.models import DataSourceRow
from aiops_api.v1 import event_pb2

log = logging.getLogger(__name__)


class HealthProbe:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clients: SourceClients,
        bus: Bus,
        interval: float,
        history: HealthHistory | None = None,
    ) -> None:
        self.sessions = sessions
        self.clients = clients
        self.bus = bus
        self.interval = interval
        self.history = history if history is not None else HealthHistory()
        # The last health seen per data source id; a new server has seen none, so its first
        # look at each data source is news.
        self.known: dict[str, event_pb2.DataSourceHealth] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._probe_forever(), name="health probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _probe_forever(self) -> None:
        while True:
            try:
                await self.probe()
            except Exception:  # the database may be away for a moment: try again
                log.exception("health probe failed")
            await asyncio.sleep(self.interval)

    async def probe(self) -> list[event_pb2.Event]:
        """Checks every data source at once; stores, publishes and returns the changes."""
        async with self.sessions() as session:
            rows = list(await session.scalars(select(DataSourceRow)))
        seen = await asyncio.gather(*(self._check(row) for row in rows))
        changed = [
            health
            for row, health in zip(rows, seen, strict=True)
            if (known := self.known.get(row.id)) is None or known.reachable != health.reachable
        ]
        self.known = {row.id: health for row, health in zip(rows, seen, strict=True)}
        self.history.keep_only(set(self.known))
        await self.clients.keep_only(set(self.known))
        if not changed:
            return []
        async with event_log.recording(self.sessions, self.bus) as recorder:
            for health in changed:
                recorder.add(event_pb2.Event(data_source_health=health))
        for health in changed:
            if health.reachable:
                log.info("data source reachable", extra={"data_source": health.data_source})
            else:
                log.warning(
                    "data source unreachable: %s",
                    health.error,
                    extra={"data_source": health.data_source},
                )
        return recorder.events

    async def _check(self, row: DataSourceRow) -> event_pb2.DataSourceHealth:
        check = HealthCheck()
        check.time.GetCurrentTime()
        started = time.perf_counter()
        checked = await queries.check_data_source(self.clients, source_config(row))
        check.latency.FromNanoseconds(int((time.perf_counter() - started) * 1e9))
        check.reachable, check.url, check.error = checked.reachable, checked.url, checked.error
        self.history.add(row.id, row.create_time, check)
        return event_pb2.DataSourceHealth(
            data_source=f"dataSources/{row.id}",
            reachable=checked.reachable,
            url=checked.url,
            error=checked.error,
        )
