"""One detector at work: fetch what is new since its last point, score it in a worker thread,
store the anomalies, the detector's state and the events in one transaction, then publish.

A runner lives in memory between steps. What it learnt is checkpointed now and then; after a
restart it resumes from the checkpoint and scores the points since again, which finds the same
anomalies under the same ids, so nothing is raised twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops.detect.anomalies import outside_band
from aiops.detect.base import Algorithm, Scored
from aiops.detect.scoring import Scoring
from aiops.detectors import lifecycle, spec
from aiops.detectors.lifecycle import DEGRADED, FAILED, RUNNING
from aiops.detectors.recent import RecentScores, RecentScoresRegistry
from aiops.events import log as event_log
from aiops.events.bus import Bus
from aiops.events.scores import scores_event
from aiops.pipeline import checkpoint, lookback
from aiops.pipeline.absence import AbsenceTracker, fill_zero
from aiops.pipeline.tracking import NO_DATA, TrackedAnomaly, track
from aiops.resources import anomaly_message, detector_message, source_config
from aiops.sources.clients import SourceClients, SourceConfig
from aiops.sources.http import QueryError, QueryTimeoutError, SourceError, TooLargeError
from aiops.sources.matrix import Matrix, series_key
from aiops.sources.ranges import fetch_range
from aiops.store.models import AnomalyRow, CheckpointRow, DataSourceRow, DetectorRow
from aiops_api.v1 import detector_pb2, event_pb2

log = logging.getLogger(__name__)

Detector = detector_pb2.Detector
Absence = detector_pb2.Absence
# Seconds between tries of a degraded detector, at most (at least one per step).
MAX_RETRY_INTERVAL = 15.0
# A backfill the data source refuses at once is tried in 2, 4, ... 2**this pieces, then shortened.
MAX_BACKFILL_HALVINGS = 6
# A data source's warnings in a RUNNING detector's state_reason: the first few, cut short.
MAX_WARNINGS, MAX_WARNING_CHARS = 3, 300
# What a server answers a range it will not give at once: a limit on length or samples, or its
# own query timeout.
REFUSALS = (QueryError, QueryTimeoutError)


@dataclass(frozen=True)
class PipelineSettings:
    # Seconds after a step's time before it is fetched, so that the scrapes of that moment
    # have landed in Prometheus.
    evaluation_delay: float = 5.0
    # Points of history a detector learns from when it starts, and a series when it appears.
    backfill_points: int = 2880
    # The longest gap caught up after an outage, in points; older points are skipped.
    max_catch_up_points: int = 11_000
    # Seconds between checkpoints of a detector's state (and at every state change).
    checkpoint_interval: float = 60.0


class DetectorStopped(Exception):
    """The detector is no longer meant to run: stopped, deleted, or failed."""


class DetectorRunner:
    """Runs one detector from its stored settings; `advance` does the work of one tick."""

    def __init__(
        self,
        detector_id: str,
        sessions: async_sessionmaker[AsyncSession],
        clients: SourceClients,
        bus: Bus,
        settings: PipelineSettings,
        recent: RecentScoresRegistry | None = None,
    ) -> None:
        self.detector_id = detector_id
        self.name = f"detectors/{detector_id}"
        self.sessions = sessions
        self.clients = clients
        self.bus = bus
        self.settings = settings
        self.recent_scores = recent if recent is not None else RecentScoresRegistry()
        self.recent: RecentScores | None = None  # what it scored lately, for charts
        self.detector = Detector()
        self.source = SourceConfig("", 0, "", (), 0.0)
        self.algorithm: Algorithm | None = None
        self.scoring = Scoring()
        self.fingerprint = ""
        self.last_time: int | None = None  # the last point learnt; None before the backfill
        self.series: list[dict[str, str]] = []
        self.keys: dict[str, int] = {}  # series key -> row in the state
        self.state: Any = None
        self.active: dict[int, TrackedAnomaly] = {}
        self.absence: AbsenceTracker | None = None  # for Absence.POLICY_NO_DATA
        self.failed = False  # a fetch failed since the last point learnt
        # After a failed fetch, until the lookback has passed: the repeats still to drop.
        self.repeats: lookback.Repeats | None = None
        self.backfill_note = ""  # how the backfill was cut to fit the data source, if it was
        self.warnings: list[str] = []  # what the data source warned about in its last answer
        self.saved_at = 0.0  # monotonic time of the last checkpoint
        self.retry_at = 0.0  # after a failed fetch: when to try again

    @property
    def step(self) -> int:
        return self.detector.step.seconds

    async def load(self) -> None:
        """Reads the detector, and the checkpoint to resume from unless it starts afresh."""
        async with self.sessions() as session:
            row = await session.get(DetectorRow, self.detector_id)
            if row is None or not lifecycle.runs(row.state):
                raise DetectorStopped(self.name)
            source = await session.get(DataSourceRow, row.data_source_id)
            assert source is not None, "a data source cannot go while detectors use it"
            saved = await session.get(CheckpointRow, self.detector_id)
        self.detector, self.source = detector_message(row), source_config(source)
        # On every line it logs (the scheduler runs it in a task of its own).
        structlog.contextvars.bind_contextvars(data_source=self.detector.data_source)
        self.algorithm, self.scoring = spec.build(self.detector)
        if self.detector.absence.policy == Absence.POLICY_NO_DATA:
            self.absence = AbsenceTracker(self.detector.absence.steps)
        self.fingerprint = checkpoint.fingerprint(
            row.data_source_id, row.query, row.step_seconds, row.algorithm
        )
        if (
            saved is None
            or saved.fingerprint != self.fingerprint
            or lifecycle.learns_afresh(row.state)
        ):
            self._start_afresh(row)
            return
        try:
            self.state = checkpoint.state_from_bytes(self.algorithm, saved.state)
            self._resume_more(row, saved)
        except ValueError:
            log.warning("%s: checkpoint unreadable, learning afresh", self.name, exc_info=True)
            self._start_afresh(row)
            return
        self._keep_recent(row, afresh=False)
        self.series = list(saved.series)
        self.keys = {series_key(labels): i for i, labels in enumerate(self.series)}
        opened = [TrackedAnomaly.from_json(anomaly) for anomaly in saved.open_anomalies]
        self.active = {anomaly.series: anomaly for anomaly in opened if anomaly.kind != NO_DATA}
        if self.absence is not None:
            self.absence.grow(len(self.series))
            self.absence.restore([anomaly for anomaly in opened if anomaly.kind == NO_DATA])
        self.last_time = saved.last_time
        self.saved_at = time.monotonic()

    @property
    def evaluation_delay(self) -> float:
        """Seconds after a point's time before it is fetched: the detector's, or the server's."""
        if self.detector.HasField("evaluation_delay"):
            return float(self.detector.evaluation_delay.seconds)
        return self.settings.evaluation_delay

    def latest_due(self, now: float) -> int:
        """The time of the latest point that may be fetched at `now`."""
        return int((now - self.evaluation_delay) // self.step * self.step)

    def next_due(self) -> float:
        """When the point after the last one learnt may be fetched."""
        last = self.last_time if self.last_time is not None else 0
        return max(last + self.step + self.evaluation_delay, self.retry_at)

    async def advance(self, now: float) -> None:
        """Scores every point due by `now` that has not been scored; the first call learns the
        backfill window instead. A data source that fails degrades the detector; a query that
        cannot work fails it (DetectorStopped)."""
        assert self.algorithm is not None, "load() first"
        end = self.latest_due(now)
        if self.last_time is None:
            start = end - (self._backfill_points() - 1) * self.step
        else:
            start = max(
                self.last_time + self.step,
                end - (self._catch_up_points() - 1) * self.step,
            )
        if start > end:
            return
        began = time.perf_counter()
        try:
            if self.last_time is None:
                matrix = await self._fetch_backfill(start, end)
                self.warnings = matrix.warnings
                await self._learn_backfill(matrix, end)
                self._stepped(began)
                return
            matrix = await self._fetch(start, end)
            self.warnings = matrix.warnings
            new_series = await self._add_new_series(matrix, start)
        except (QueryError, TooLargeError) as error:
            await self._set_state(FAILED, f"the query cannot run: {error}")
            raise DetectorStopped(self.name) from error
        except SourceError as error:
            # The client has retried already; the next try comes a step later at most.
            self.retry_at = now + min(self.step, MAX_RETRY_INTERVAL)
            self.failed = True
            await self._set_state(DEGRADED, f"{self.source.name} failed: {error}")
            self._stepped(began)
            return
        values = np.full((len(self.series), matrix.values.shape[1]), np.nan)
        values[self._rows(matrix)] = matrix.values
        changed = self._track_absence(values, start)
        values = self._absent_points(values)
        if self.failed:
            # Prometheus answers for the time it was down itself, and until it scrapes again,
            # with each series' last sample again (its 5-minute lookback).
            self.repeats = lookback.Repeats(until=end + lookback.LOOKBACK_SECONDS)
        if self.repeats is not None:
            values = self.repeats.drop(values)
            if end >= self.repeats.until:
                self.repeats = None
        scored = await asyncio.to_thread(
            self.algorithm.update, values, self.state, start // self.step, self.scoring
        )
        changed = self._track(values, scored, start) + changed
        self.last_time = end
        self.failed = False
        save = new_series or time.monotonic() - self.saved_at >= self.settings.checkpoint_interval
        await self._commit(changed, RUNNING, self._running_reason(), save=save)
        self._remember(start, values, scored)
        self._stepped(began)
        await self.bus.broadcast(
            scores_event(
                self.name,
                self.series,
                start,
                self.step,
                values,
                scored.scores,
                scored.expected,
                scored.lower,
                scored.upper,
            )
        )
        self._after_step()

    async def save(self) -> None:
        """Checkpoints the state now (at shutdown)."""
        if self.last_time is not None:
            await self._commit([], None, "", save=True)

    async def _fetch(self, start: int, end: int) -> Matrix:
        client = await self.clients.get(self.source)
        return await client.query_range(self.detector.query, start, end, self.step)

    async def _fetch_backfill(self, start: int, end: int) -> Matrix:
        """The backfill window. Where the data source refuses it at once (a longest range, a
        most samples per query: Loki's max_query_length, a query frontend's limits), it is
        fetched in 2, 4, ... pieces, or else only its newest part that the server gives;
        `backfill_note` says which. A server that times the whole window out is refused the
        same way. A query refused even for its latest point fails as it is."""
        try:
            return await self._fetch(start, end)
        except REFUSALS as error:
            if start == end:
                raise
            refusal = error
        await self._fetch(end, end)  # the query itself is at fault: its own error
        points = (end - start) // self.step + 1
        limits = (await self.clients.get(self.source)).limits

        async def piece(piece_start: int, count: int) -> Matrix:
            return await self._fetch(piece_start, piece_start + (count - 1) * self.step)

        size = points
        for _ in range(MAX_BACKFILL_HALVINGS):
            size = -(-size // 2)
            try:
                limited = replace(limits, max_points_per_request=size)
                matrix = await fetch_range(piece, start, end, self.step, limited)
            except REFUSALS:
                continue
            self.backfill_note = (
                f"backfill fetched in pieces of {size} points: {self.source.name} "
                f"refused {points} at once ({refusal})"
            )
            return matrix
        size = points  # refused however it is cut: the server keeps no older data
        while size > 1:
            size = -(-size // 2)
            try:
                matrix = await self._fetch(end - (size - 1) * self.step, end)
            except REFUSALS:
                continue
            self.backfill_note = (
                f"backfill shortened to its last {size} of {points} points: "
                f"{self.source.name} refused more ({refusal})"
            )
            return matrix
        raise refusal

    # What a kind of detector may do its own way (log-pattern detectors do).

    def _start_afresh(self, row: DetectorRow) -> None:
        """The detector learns from nothing: no series, no state."""
        self._keep_recent(row, afresh=True)

    def _resume_more(self, row: DetectorRow, saved: CheckpointRow) -> None:
        """Restores what the checkpoint holds besides the algorithm's state; ValueError when it
        cannot, and the detector learns afresh."""

    def _backfill_points(self) -> int:
        return self.detector.backfill_points or self.settings.backfill_points

    def _catch_up_points(self) -> int:
        return self.settings.max_catch_up_points

    def _track(self, values: np.ndarray, scored: Scored, start: int) -> list[TrackedAnomaly]:
        """The anomalies that the scored points open, continue (while they score or stay
        outside the band) or end."""
        thresholds = self.detector.thresholds
        return track(
            self.active,
            scored.scores,
            values,
            start,
            self.step,
            self._anomaly_keys(),
            thresholds.warning,
            thresholds.critical,
            outside_band(values, scored.lower, scored.upper, self.detector.direction),
        )

    def _running_reason(self) -> str:
        """What a RUNNING detector's `state_reason` says: how its backfill was cut, if it was,
        and what the data source warned about in its last answer (a series of native
        histograms it cannot score, a partial answer)."""
        warned = [warning[:MAX_WARNING_CHARS] for warning in self.warnings[:MAX_WARNINGS]]
        said = [f"{self.source.name} warns: {'; '.join(warned)}"] if warned else []
        return "; ".join([self.backfill_note, *said] if self.backfill_note else said)

    def _write_row(self, row: DetectorRow) -> bool:
        """Writes what else the detector's row shows in the step's transaction; whether it
        changed anything."""
        return False

    def _anomaly_details(self, anomaly: TrackedAnomaly) -> dict[str, Any] | None:
        """What a new anomaly's `log_pattern` says: for log-pattern detectors."""
        return None

    def _after_step(self) -> None:
        """Tidies up once a step is stored and published."""

    def _more_state(self) -> bytes | None:
        """What the checkpoint holds besides the algorithm's state."""
        return None

    async def _learn_backfill(self, matrix: Matrix, end: int) -> None:
        assert self.algorithm is not None
        self.series = list(matrix.labels)
        self.keys = {series_key(labels): i for i, labels in enumerate(self.series)}
        self.state = self.algorithm.new_state(len(self.series))
        start = matrix.start_ms // 1000
        if self.absence is not None:  # which series are regular; history raises nothing
            self.absence.grow(len(self.series))
            self.absence.update(matrix.values, start, self.step, self._anomaly_keys())
            self.absence.open.clear()
        values = self._absent_points(matrix.values)
        scored = await asyncio.to_thread(
            self.algorithm.update, values, self.state, start // self.step, self.scoring
        )
        self.last_time = end
        await self._commit([], RUNNING, self._running_reason(), save=True)
        self._remember(start, values, scored)

    async def _add_new_series(self, matrix: Matrix, start: int) -> bool:
        """Series seen for the first time learn their history first: no cold start."""
        assert self.algorithm is not None
        new = [labels for labels in matrix.labels if series_key(labels) not in self.keys]
        if not new:
            return False
        history_start = start - self._backfill_points() * self.step
        history = await self._fetch(history_start, start - self.step)
        wanted = {series_key(labels) for labels in new}
        rows = [i for i, labels in enumerate(history.labels) if series_key(labels) in wanted]
        old = len(self.series)
        for labels in new:
            self.keys[series_key(labels)] = len(self.series)
            self.series.append(labels)
        self.state = checkpoint.with_new_series(self.algorithm, self.state, len(new))
        values = np.full((len(new), history.values.shape[1]), np.nan)
        for i in rows:
            values[self.keys[series_key(history.labels[i])] - old] = history.values[i]
        if self.absence is not None:
            self.absence.grow(len(new))
        fresh = checkpoint.rows_from(self.state, old)
        await asyncio.to_thread(
            self.algorithm.update,
            self._absent_points(values),
            fresh,
            history_start // self.step,
            self.scoring,
        )
        return True

    def _absent_points(self, values: np.ndarray) -> np.ndarray:
        """The points [series, time] as the detector learns and scores them: missing ones are
        0 under Absence.POLICY_ZERO, else left missing (NaN)."""
        if self.detector.absence.policy == Absence.POLICY_ZERO:
            return fill_zero(values)
        return values

    def _track_absence(self, values: np.ndarray, start: int) -> list[TrackedAnomaly]:
        """The no-data anomalies (Absence.POLICY_NO_DATA) that the points open, grow or end."""
        if self.absence is None:
            return []
        return self.absence.update(values, start, self.step, self._anomaly_keys())

    def _keep_recent(self, row: DetectorRow, *, afresh: bool) -> None:
        """Picks the ring its scores go to: a new one when it learns afresh."""
        ring = self.recent_scores.fresh if afresh else self.recent_scores.resume
        self.recent = ring(self.detector_id, self.step, row.create_time)
        self.recent.running = True
        self.recent.exported = row.export_scores

    def _remember(self, start: int, values: np.ndarray, scored: Scored) -> None:
        """Keeps the scored points for charts (`aiops.detectors.recent`)."""
        assert self.recent is not None
        self.recent.record(
            self.series, start, values, scored.scores, scored.expected, scored.lower, scored.upper
        )

    def _stepped(self, began: float) -> None:
        if self.recent is not None:
            self.recent.stepped(time.perf_counter() - began)

    def _rows(self, matrix: Matrix) -> list[int]:
        return [self.keys[series_key(labels)] for labels in matrix.labels]

    def _anomaly_keys(self) -> list[str]:
        # Ids are per detector: two detectors on one query raise anomalies of their own.
        return [f"{self.detector_id} {series_key(labels)}" for labels in self.series]

    async def _set_state(self, state: str, reason: str) -> None:
        await self._commit([], state, reason, save=False)

    async def _commit(
        self, changed: list[TrackedAnomaly], state: str | None, reason: str, *, save: bool
    ) -> None:
        # Runs to its end even when the step is cancelled (its detector stopped): a transaction
        # cut off half-way could keep SQLite's write lock.
        await asyncio.shield(self._write_step(changed, state, reason, save=save))

    async def _write_step(
        self, changed: list[TrackedAnomaly], state: str | None, reason: str, *, save: bool
    ) -> None:
        # Serialized before the transaction: a big state takes a while, and writers queue.
        saved = self._checkpoint_row() if save else None
        opened: list[str] = []  # the severities of the anomalies it opens
        async with event_log.recording(self.sessions, self.bus) as recorder:
            session = recorder.session
            row = await session.get(DetectorRow, self.detector_id)
            if row is None or not lifecycle.runs(row.state):
                raise DetectorStopped(self.name)
            for anomaly in changed:
                stored = await self._store_anomaly(session, anomaly)
                if stored is not None:
                    if stored.revision == 1:  # inserted
                        opened.append(stored.severity)
                    change = event_pb2.AnomalyChange(anomaly=anomaly_message(stored))
                    recorder.add(event_pb2.Event(anomaly_change=change), self.detector_id)
            # A reason is written when the state changes: a flapping error message is no news.
            # A running detector's own notes (a log-pattern detector's cut steps) are.
            moves = state is not None and lifecycle.pipeline_moves(row.state, state)
            notes = state == RUNNING == row.state and reason != row.state_reason
            if moves or notes:
                assert state is not None
                row.state, row.state_reason = state, reason
                self._write_row(row)
                await session.flush()
                status = event_pb2.DetectorStatus(
                    detector=self.name, state=state, state_reason=reason, etag=row.etag
                )
                recorder.add(event_pb2.Event(detector_status=status), self.detector_id)
            elif self._write_row(row):
                await session.flush()
            if saved is not None:
                await session.merge(saved)
        self.recent_scores.anomalies_opened.update(opened)  # counted once committed
        if moves:  # a line per change of state: its detector and data source are bound
            level = logging.WARNING if state in (DEGRADED, FAILED) else logging.INFO
            log.log(level, "detector now %s", state, extra={"state": state, "reason": reason})
        if save:
            self.saved_at = time.monotonic()

    async def _store_anomaly(
        self, session: AsyncSession, anomaly: TrackedAnomaly
    ) -> AnomalyRow | None:
        """Inserts or updates the anomaly's row; the row when it changed, None when a replay
        found it as it was."""
        fields = {
            "end_time": datetime.fromtimestamp(anomaly.end, UTC),
            "peak_score": anomaly.peak_score,
            "peak_value": anomaly.peak_value,
            "severity": detector_pb2.Severity.Name(anomaly.severity),
            "active": anomaly.active,
        }
        row = await session.get(AnomalyRow, anomaly.id)
        if row is None:
            row = AnomalyRow(
                id=anomaly.id,
                detector_id=self.detector_id,
                series_labels=self.series[anomaly.series],
                start_time=datetime.fromtimestamp(anomaly.start, UTC),
                state="STATE_OPEN",
                log_pattern=self._anomaly_details(anomaly),
                kind=anomaly.kind,
                **fields,
            )
            session.add(row)
        elif all(getattr(row, key) == value for key, value in fields.items()):
            return None
        else:
            for key, value in fields.items():
                setattr(row, key, value)
        await session.flush()
        return row

    def _open_anomalies(self) -> list[TrackedAnomaly]:
        no_data = list(self.absence.open.values()) if self.absence is not None else []
        return [*self.active.values(), *no_data]

    def _checkpoint_row(self) -> CheckpointRow:
        assert self.last_time is not None
        return CheckpointRow(
            detector_id=self.detector_id,
            fingerprint=self.fingerprint,
            last_time=self.last_time,
            series=self.series,
            state=checkpoint.state_to_bytes(self.state),
            open_anomalies=[anomaly.to_json() for anomaly in self._open_anomalies()],
            patterns=self._more_state(),
        )
