"""The scheduler: one task per detector that should run, each advancing its detector once per
step; the set of tasks follows the stored detectors (started, stopped, changed, deleted)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops.detectors import lifecycle
from aiops.detectors.log_patterns import LogPatternsRegistry
from aiops.detectors.recent import RecentScoresRegistry
from aiops.events.bus import Bus
from aiops.pipeline.checkpoint import fingerprint
from aiops.pipeline.log_patterns import LogPatternRunner
from aiops.pipeline.runner import DetectorRunner, DetectorStopped, PipelineSettings
from aiops.sources.clients import SourceClients
from aiops.store.models import DataSourceRow, DetectorRow

log = logging.getLogger(__name__)

# Seconds between looks at the stored detectors: how soon Start and Stop take effect.
RECONCILE_INTERVAL = 0.5
# Seconds a runner that failed unexpectedly waits before it is rebuilt from its checkpoint.
RETRY_AFTER_ERROR = 5.0


@dataclass
class _Task:
    settings: str  # digest of the detector and data source settings the task runs with
    stop: asyncio.Event
    task: asyncio.Task[None]


class Scheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clients: SourceClients,
        bus: Bus,
        settings: PipelineSettings,
        recent: RecentScoresRegistry,
        clock: Callable[[], float] = time.time,
        patterns: LogPatternsRegistry | None = None,
    ) -> None:
        self.sessions = sessions
        self.clients = clients
        self.bus = bus
        self.settings = settings
        self.recent = recent
        self.patterns = patterns if patterns is not None else LogPatternsRegistry()
        self.clock = clock
        self._tasks: dict[str, _Task] = {}
        # Tasks told to stop that have not ended yet: their detector starts again after.
        self._ending: dict[str, asyncio.Task[None]] = {}
        self._draining = False  # shutting down: steps run to their end and checkpoint
        self._log_patterns: set[str] = set()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._reconcile_forever(), name="scheduler")

    async def stop(self) -> None:
        """Lets every runner finish the step it is on and checkpoint, then returns."""
        self._draining = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for key in list(self._tasks):
            self._retire(key)
        await asyncio.gather(*self._ending.values())

    async def _reconcile_forever(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception:  # the database may be away for a moment: try again
                log.exception("scheduler: cannot read the detectors")
            await asyncio.sleep(RECONCILE_INTERVAL)

    async def reconcile(self) -> None:
        async with self.sessions() as session:
            result = await session.execute(
                select(DetectorRow, DataSourceRow)
                .join(DataSourceRow, DetectorRow.data_source_id == DataSourceRow.id)
                .where(DetectorRow.state.in_(lifecycle.ACTIVE))
            )
            rows = result.all()
            # Log-pattern detectors read lines and mine them: a runner of their own.
            self._log_patterns = {
                detector.id for detector, _ in rows if "log_pattern" in detector.algorithm
            }
            wanted = {
                detector.id: fingerprint(
                    detector.query,
                    detector.step_seconds,
                    detector.algorithm,
                    detector.direction,
                    detector.min_deviation,
                    detector.warning_threshold,
                    detector.critical_threshold,
                    detector.export_scores,
                    detector.evaluation_delay_seconds,
                    detector.backfill_points,
                    detector.absence_policy,
                    detector.absence_steps,
                    source.id,
                    source.revision,
                    # Start after Stop (or a second Start while backfilling) learns afresh.
                    lifecycle.learns_afresh(detector.state),
                )
                for detector, source in rows
            }
            # What deleted detectors scored lately goes with them.
            existing = set(await session.scalars(select(DetectorRow.id)))
            self.recent.keep_only(existing)
            self.patterns.keep_only(existing)
        retired = [
            self._retire(key)
            for key, task in list(self._tasks.items())
            if task.task.done() or wanted.get(key) != task.settings
        ]
        if retired:  # they end at once, mostly (a step is cancelled): restart them now
            await asyncio.wait(retired, timeout=RECONCILE_INTERVAL)
        for key, settings in wanted.items():
            if key not in self._tasks and not self._still_ending(key):
                stop = asyncio.Event()
                run = asyncio.create_task(self._run(key, stop), name=f"detectors/{key}")
                self._tasks[key] = _Task(settings, stop, run)

    def _runner(self, key: str) -> DetectorRunner:
        if key in self._log_patterns:
            return LogPatternRunner(
                key,
                self.sessions,
                self.clients,
                self.bus,
                self.settings,
                self.recent,
                self.patterns,
            )
        return DetectorRunner(
            key, self.sessions, self.clients, self.bus, self.settings, self.recent
        )

    def _retire(self, key: str) -> asyncio.Task[None]:
        """Tells a detector's task to stop, without waiting for it to end: a step stuck on a
        slow data source must not hold up the others' starts and stops."""
        task = self._tasks.pop(key)
        task.stop.set()
        self._ending[key] = task.task
        return task.task

    def _still_ending(self, key: str) -> bool:
        ending = self._ending.get(key)
        if ending is not None and ending.done():
            del self._ending[key]
            return False
        return ending is not None

    async def _run(self, key: str, stop: asyncio.Event) -> None:
        """Advances the detector until `stop` is set or the detector stops or fails."""
        # On every line it logs (its own task's context).
        structlog.contextvars.bind_contextvars(detector=f"detectors/{key}")
        try:
            await self._advance_until_stopped(key, stop)
        finally:
            # What it scored stays readable; the dashboard no longer lists it as running.
            ring = self.recent.get(key)
            if ring is not None:
                ring.running = False

    async def _advance_until_stopped(self, key: str, stop: asyncio.Event) -> None:
        runner: DetectorRunner | None = None
        while not stop.is_set():
            wait = RETRY_AFTER_ERROR
            try:
                if runner is None:
                    runner = self._runner(key)
                    await runner.load()
                if not await self._step(runner, stop):
                    return  # stopped mid-step: a restart resumes from its checkpoint
                wait = max(0.0, runner.next_due() - self.clock())
            except DetectorStopped:
                return
            except Exception:
                # What it learnt may be ahead of what was stored: resume from the checkpoint.
                log.exception("detectors/%s: step failed; resuming from its checkpoint", key)
                runner = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
        if runner is not None:
            with contextlib.suppress(DetectorStopped):
                await runner.save()

    async def _step(self, runner: DetectorRunner, stop: asyncio.Event) -> bool:
        """Advances the runner once. Its detector's stop (not a shutdown) cancels the step at
        once, in whatever it waits for (a fetch may take the data source's whole timeout; the
        step's transaction is shielded): False then, and what it learnt is not to be saved."""
        step = asyncio.create_task(runner.advance(self.clock()))
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait((step, stopped), return_when=asyncio.FIRST_COMPLETED)
            if not step.done() and not self._draining:
                step.cancel()
            await asyncio.wait((step,))
        finally:
            stopped.cancel()
            step.cancel()  # when this task itself is cancelled
        if step.cancelled():
            return False
        step.result()  # raises what the step raised
        return True
