"""Keeps the event log bounded: every minute, events beyond the newest `keep` or older than
`max_age` go. Subscribers asking for them get a reset."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops.events import log as event_log

log = logging.getLogger(__name__)

PRUNE_INTERVAL = 60.0  # seconds


class Retention:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], keep: int, max_age: timedelta
    ) -> None:
        self.sessions = sessions
        self.keep = keep
        self.max_age = max_age
        self._task: asyncio.Task[None] | None = None
        # For /metrics: the events the log held after the last pruning, and those pruned since
        # start.
        self.size = 0
        self.pruned = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._prune_forever(), name="event retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def prune(self) -> int:
        async with self.sessions.begin() as session:
            pruned = await event_log.prune(session, self.keep, self.max_age)
        async with self.sessions() as session:  # counted outside the writer's lock
            self.size = await event_log.size(session)
        self.pruned += pruned
        return pruned

    async def _prune_forever(self) -> None:
        while True:
            try:
                pruned = await self.prune()
                if pruned:
                    log.info("event log: %d old events pruned", pruned)
            except Exception:  # the database may be away for a moment: try again
                log.exception("event log: pruning failed")
            await asyncio.sleep(PRUNE_INTERVAL)
