"""Heartbeats for every stream from one ticker, instead of a timer per stream.

Streams are spread over `SLOTS` slots; every `interval / SLOTS` seconds one slot's streams are
told a heartbeat is due, so each stream gets one every `interval` and the streams of a busy
server do not all write theirs at the same moment. A new stream joins the slot that ticked
last: its first tick comes between 0.9 and 1 interval after the heartbeat it opens with.

The ticker also cancels streams that were ended (too slow) two intervals ago and are still
there: their client reads nothing, so their last write never completes."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiops.events.bus import Bus, Subscription

SLOTS = 10


class HeartbeatTicker:
    def __init__(self, bus: Bus, interval: float) -> None:
        self.bus = bus
        self.interval = interval
        self.last_slot = SLOTS - 1  # as if it had ticked at the start: it is the last to tick
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="heartbeats")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def join(self, subscription: Subscription) -> None:
        subscription.heartbeat_slot = self.last_slot

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        slot, due = 0, loop.time()
        while True:
            due += self.interval / SLOTS
            await asyncio.sleep(max(0.0, due - loop.time()))
            stuck_since = time.monotonic() - 2 * self.interval
            for subscription in self.bus.subscriptions:  # nothing here adds or removes one
                if subscription.heartbeat_slot == slot:
                    subscription.tick()
                # Ended but still writing: its client reads nothing, and the transport holds
                # the write until it does. Cancelling frees the stream.
                stuck = subscription.ended is not None and subscription.ended_at < stuck_since
                if stuck and subscription.task is not None:
                    subscription.task.cancel()
            self.last_slot = slot
            slot = (slot + 1) % SLOTS
