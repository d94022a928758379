"""A log-pattern detector at work: each step, the lines of its LogQL query are read (bounded)
and mined, or Loki's own patterns counted, into one rate series per template
(`aiops.detectors.log_patterns`), which the detector's rate algorithm scores as any runner's
series. On top: a template first seen after the baseline opens an anomaly at its first step,
error templates' anomalies are one severity higher, and each anomaly names its template.

The source is chosen when the detector learns afresh: Loki's patterns when asked for, or, for
AUTO, when the query is a stream selector alone and Loki lists patterns for it over the
baseline; otherwise the lines, mined here. Templates the catalogue forgets (its bound) leave
the algorithm's state and the chart's ring too, so memory follows `max_templates`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops.detect.base import Scored
from aiops.detectors import log_patterns
from aiops.detectors.log_patterns import (
    LOKI_PATTERNS,
    MINED,
    Catalogue,
    LogPatternsRegistry,
    MinerFactory,
    Template,
    bump,
    labels_are_error,
)
from aiops.detectors.recent import RecentScoresRegistry
from aiops.events.bus import Bus
from aiops.logs.miner import MinerConfig, TemplateMiner
from aiops.pipeline import checkpoint
from aiops.pipeline.runner import DetectorRunner, PipelineSettings
from aiops.pipeline.tracking import TrackedAnomaly
from aiops.sources import logql
from aiops.sources.clients import SourceClients
from aiops.sources.http import NotServedError, QueryError, SourceError, TooLargeError
from aiops.sources.loki import NS, LokiClient
from aiops.sources.matrix import Matrix, series_key
from aiops.store.models import CheckpointRow, DetectorRow
from aiops_api.v1 import anomaly_pb2, detector_pb2

log = logging.getLogger(__name__)

Kind = anomaly_pb2.LogPatternAnomaly.Kind
Source = detector_pb2.LogPatternRates.Source
# Steps caught up after an outage, at most: each mined step is a query of its own.
MAX_CATCH_UP_STEPS = 60
# Text read per step, at most, whatever `max_lines_per_step` allows (lines of a megabyte).
MAX_STEP_BYTES = 64 * 2**20
# Characters of a line the miner sees: its template is in its start.
MAX_MINED_CHARS = 64 * 1024
# Loki counts patterns in 10-second samples: coarser steps only.
LOKI_RESOLUTION = 10
# Loki lists a pattern only with 30 lines in the range asked: each step asks an hour back, and
# takes the buckets it has not counted.
LOKI_LOOKBACK = 3600
# New templates a step raises anomalies for, and asks Loki an example line of, at most.
MAX_NEW_PER_STEP = 10
# A note in `state_reason` goes after this many steps without its cause.
NOTE_STEPS = 10


def new_miner(max_templates: int, state: bytes | None) -> log_patterns.Miner:
    """The template miner of `aiops.logs`, bounded to `max_templates`; ValueError for a state
    that is not one of its."""
    config = MinerConfig(max_templates=max_templates)
    return TemplateMiner.from_state(state, config) if state else TemplateMiner(config)


class LogPatternRunner(DetectorRunner):
    """A `DetectorRunner` whose series are its query's log templates."""

    def __init__(
        self,
        detector_id: str,
        sessions: async_sessionmaker[AsyncSession],
        clients: SourceClients,
        bus: Bus,
        settings: PipelineSettings,
        recent: RecentScoresRegistry | None = None,
        patterns: LogPatternsRegistry | None = None,
        miner: MinerFactory = new_miner,
    ) -> None:
        super().__init__(detector_id, sessions, clients, bus, settings, recent)
        self.patterns = patterns if patterns is not None else LogPatternsRegistry()
        self.new_miner = miner
        self.catalogue: Catalogue | None = None
        self.created: datetime | None = None
        self.page_lines: int | None = None  # lines per page; fewer after a page too big
        self.notes: dict[str, tuple[str, int]] = {}  # kind -> (text, time last seen)
        self.details: dict[str, dict[str, Any]] = {}  # anomaly id -> its log_pattern

    @property
    def config(self) -> detector_pb2.LogPatternRates:
        return self.detector.log_pattern

    # The runner's hooks.

    def _start_afresh(self, row: DetectorRow) -> None:
        super()._start_afresh(row)
        self.created, self.catalogue = row.create_time, None
        self.patterns.discard(self.detector_id)

    def _resume_more(self, row: DetectorRow, saved: CheckpointRow) -> None:
        if saved.patterns is None:
            raise ValueError("the checkpoint holds no templates")
        self.created = row.create_time
        self.catalogue = Catalogue.from_bytes(saved.patterns, self.new_miner)
        self.patterns.put(self.detector_id, self.created, self.catalogue)

    def _backfill_points(self) -> int:
        return self.config.baseline_steps

    def _catch_up_points(self) -> int:
        return min(self.settings.max_catch_up_points, MAX_CATCH_UP_STEPS)

    def _running_reason(self) -> str:
        assert self.last_time is not None
        for kind, (_, seen) in list(self.notes.items()):
            if self.last_time - seen >= NOTE_STEPS * self.step:
                del self.notes[kind]
        return "; ".join(text for text, _ in self.notes.values())

    def _write_row(self, row: DetectorRow) -> bool:
        if self.catalogue is None or row.log_source == self.catalogue.source:
            return False
        row.log_source = self.catalogue.source
        return True

    def _more_state(self) -> bytes | None:
        return self.catalogue.to_bytes() if self.catalogue is not None else None

    def _anomaly_details(self, anomaly: TrackedAnomaly) -> dict[str, Any] | None:
        details = self.details.pop(anomaly.id, None)
        if details is None:  # one that began before this runner (a replay): its template
            template = self._template_of(anomaly.series)
            details = self._describe(template, anomaly.series, Kind.KIND_UNSPECIFIED)
        return details

    async def _fetch(self, start: int, end: int) -> Matrix:
        client = await self.clients.get(self.source)
        if not isinstance(client, LokiClient):
            raise QueryError(f"a log-pattern detector reads Loki; {self.source.name} is not Loki")
        if self.catalogue is None:
            self.catalogue = await self._choose_source(client, start, end)
            self.patterns.put(self.detector_id, self.created, self.catalogue)
        self.catalogue.forget_counts()  # those of an earlier fetch that failed half-way
        if self.catalogue.source == LOKI_PATTERNS:
            await self._count_patterns(client, start, end)
        else:
            await self._count_lines(client, start, end)
        rates = self.catalogue.rates(start, self.step, (end - start) // self.step + 1)
        labels = [{log_patterns.PATTERN_LABEL: str(template_id)} for template_id in rates.ids]
        return Matrix(labels, start * 1000, self.step * 1000, rates.values, [])

    async def _fetch_backfill(self, start: int, end: int) -> Matrix:
        """Its baseline in one go: the lines are counted into templates as they are read."""
        return await self._fetch(start, end)

    async def _learn_backfill(self, matrix: Matrix, end: int) -> None:
        assert self.catalogue is not None
        self.catalogue.learnt_baseline = True
        await super()._learn_backfill(matrix, end)

    async def _add_new_series(self, matrix: Matrix, start: int) -> bool:
        """New templates have no history to learn: they had no lines before."""
        assert self.algorithm is not None
        new = [labels for labels in matrix.labels if series_key(labels) not in self.keys]
        if not new:
            return False
        for labels in new:
            self.keys[series_key(labels)] = len(self.series)
            self.series.append(labels)
        self.state = checkpoint.with_new_series(self.algorithm, self.state, len(new))
        return True

    def _track(self, values: np.ndarray, scored: Scored, start: int) -> list[TrackedAnomaly]:
        assert self.catalogue is not None
        end = start + (values.shape[1] - 1) * self.step
        warning = self.detector.thresholds.warning
        new = sorted(self.catalogue.new_templates(start, end), key=lambda t: (t.first_seen, t.id))
        per_step: dict[int, int] = {}
        opened: set[tuple[int, int]] = set()
        for template in new:
            per_step[template.first_seen] = per_step.get(template.first_seen, 0) + 1
            if per_step[template.first_seen] > MAX_NEW_PER_STEP:
                self._note(
                    "new",
                    f"more than {MAX_NEW_PER_STEP} new templates in a step (lines too varied "
                    f"to group?): only the first {MAX_NEW_PER_STEP} of each step raise anomalies",
                    end,
                )
                continue
            row = self.keys[series_key(template.labels)]
            column = (template.first_seen - start) // self.step
            scored.scores[row, column] = max(scored.scores[row, column], warning)
            opened.add((row, template.first_seen))
        changed = []
        for anomaly in super()._track(values, scored, start):
            found = self._template_of(anomaly.series)
            if found is not None and found.error and anomaly.severity:
                anomaly = replace(anomaly, severity=bump(anomaly.severity))
                if anomaly.active:
                    self.active[anomaly.series] = anomaly
            if anomaly.start >= start:
                column = (anomaly.start - start) // self.step
                if (anomaly.series, anomaly.start) in opened:
                    kind = Kind.KIND_NEW
                else:
                    value = values[anomaly.series, column]
                    expected = scored.expected[anomaly.series, column]
                    up = value > expected if np.isfinite(expected) else value > 0
                    kind = Kind.KIND_SURGE if up else Kind.KIND_DROP
                self.details[anomaly.id] = self._describe(found, anomaly.series, kind)
            changed.append(anomaly)
        return changed

    # Choosing, reading and counting.

    async def _choose_source(self, client: LokiClient, start: int, end: int) -> Catalogue:
        """The catalogue of the source the detector runs on, chosen as it learns afresh."""
        wanted = self.config.source
        selector, pipeline = logql.split_selector(self.detector.query) or ("", "?")
        bound = self.config.max_templates
        if wanted == Source.SOURCE_MINED:
            return Catalogue(MINED, bound, self.new_miner(bound, None))
        usable = not pipeline and self.step % LOKI_RESOLUTION == 0
        if wanted == Source.SOURCE_LOKI_PATTERNS:
            if not usable:
                raise QueryError(
                    "Loki's patterns need a stream selector alone and a step of whole "
                    f"{LOKI_RESOLUTION}s: use SOURCE_MINED"
                )
            try:
                await client.patterns(selector, end - self.step, end, self.step)
            except NotServedError:
                raise QueryError(
                    f"{self.source.name} serves no patterns (Loki 3 with "
                    "pattern_ingester.enabled: true does): use SOURCE_MINED or SOURCE_AUTO"
                ) from None
            return Catalogue(LOKI_PATTERNS, bound)
        if usable:
            try:
                found = await client.patterns(selector, *self._buckets(client, start, end))
            except NotServedError:
                found = None
            if found is not None and found.texts:
                return Catalogue(LOKI_PATTERNS, bound)
        return Catalogue(MINED, bound, self.new_miner(bound, None))

    async def _count_patterns(self, client: LokiClient, start: int, end: int) -> None:
        assert self.catalogue is not None
        selector, _ = logql.split_selector(self.detector.query) or (self.detector.query, "")
        lookback = -(-LOKI_LOOKBACK // self.step) * self.step
        first = min(start, end - lookback)
        found = await client.patterns(selector, *self._buckets(client, first, end))
        added = self.catalogue.count_patterns(found, start)
        for template_id in added[:MAX_NEW_PER_STEP]:
            text = self.catalogue.templates[template_id].text
            if "`" in text:
                continue
            try:
                logs = await client.query_logs(
                    f"{selector} |> `{text}`", (start - self.step) * NS, end * NS, limit=1
                )
            except SourceError:
                continue  # an example is a nicety; the counts stand
            for stream in logs.streams:
                for _, line in stream.entries:
                    self.catalogue.set_example(template_id, line)

    def _buckets(self, client: LokiClient, start: int, end: int) -> tuple[int, int, int]:
        """The patterns query (start, end, step) whose buckets end at the steps from `start` to
        `end`, cut to the buckets Loki answers at once."""
        most = client.limits.max_points_per_request
        return max(start, end - (most - 1) * self.step) - self.step, end, self.step

    async def _count_lines(self, client: LokiClient, start: int, end: int) -> None:
        assert self.catalogue is not None
        bound = self.config.max_lines_per_step
        for time in range(start, end + 1, self.step):
            lines, errors, cut = await self._read_step(client, time, bound)
            ids = await asyncio.to_thread(self.catalogue.learn, lines)
            scale = 1.0
            if cut:
                scale = await self._scale(client, time, len(lines))
                self._note(
                    "cut",
                    f"steps with more than {bound} lines (or {MAX_STEP_BYTES >> 20} MiB of them)"
                    f" are mined from their first ones, their counts scaled to the step's "
                    f"total (raise max_lines_per_step, or narrow the query)",
                    time,
                )
            self.catalogue.count_lines(time, lines, ids, errors, scale)

    async def _read_step(
        self, client: LokiClient, time: int, bound: int
    ) -> tuple[list[str], list[bool], bool]:
        """The step's lines in time order (those of [time - step, time)), whether each one's
        stream says error, and whether there were more than were read."""
        while True:
            try:
                logs = await client.query_logs(
                    self.detector.query,
                    (time - self.step) * NS,
                    time * NS,
                    limit=bound + 1,
                    direction="forward",
                    max_bytes=MAX_STEP_BYTES,
                    page_lines=self.page_lines,
                )
                break
            except TooLargeError:
                # Pages of long lines pass the answer limit: fewer lines a page, down to one.
                pages = self.page_lines or client.limits.max_lines_per_request
                if pages <= 1:
                    raise
                self.page_lines = max(1, pages // 8)
        entries = sorted(
            (at, line[:MAX_MINED_CHARS], error)
            for stream, error in ((s, labels_are_error(s.labels)) for s in logs.streams)
            for at, line in stream.entries
        )
        cut = logs.cut or len(entries) > bound
        entries = entries[:bound]
        return [line for _, line, _ in entries], [error for _, _, error in entries], cut

    async def _scale(self, client: LokiClient, time: int, read: int) -> float:
        """How many lines each one read stands for in a cut step: its total over those read."""
        if not read:
            return 1.0
        query = f"sum(count_over_time({self.detector.query} [{self.step}s]))"
        try:
            total = await client.query_range(query, time, time, self.step)
        except SourceError:
            return 1.0
        counted = float(np.nansum(total.values))
        return max(1.0, counted / read)

    # Bookkeeping.

    def _note(self, kind: str, text: str, time: int | None = None) -> None:
        seen = time if time is not None else (self.last_time or 0) + self.step
        current = self.notes.get(kind)
        self.notes[kind] = (text if current is None else current[0], seen)

    def _after_step(self) -> None:
        self._forget_gone_templates()

    def _forget_gone_templates(self) -> None:
        """Drops the rows of the templates the catalogue forgot, once they are a quarter of its
        bound: their algorithm state and their points for charts go."""
        assert self.catalogue is not None
        kept = {series_key(template.labels) for template in self.catalogue.templates.values()}
        gone = [
            row
            for row, labels in enumerate(self.series)
            if series_key(labels) not in kept and row not in self.active
        ]
        if len(gone) <= self.config.max_templates // 4 + 10:
            return
        dropped = set(gone)
        rows = [row for row in range(len(self.series)) if row not in dropped]
        moved = {old: new for new, old in enumerate(rows)}
        if self.recent is not None:
            self.recent.forget([self.series[row] for row in gone])
        self.state = checkpoint.keep_rows(self.state, rows)
        self.series = [self.series[row] for row in rows]
        self.keys = {series_key(labels): row for row, labels in enumerate(self.series)}
        self.active = {
            moved[row]: replace(anomaly, series=moved[row]) for row, anomaly in self.active.items()
        }

    def _template_of(self, row: int) -> Template | None:
        assert self.catalogue is not None
        label = self.series[row].get(log_patterns.PATTERN_LABEL, "")
        return self.catalogue.templates.get(int(label)) if label.isdigit() else None

    def _describe(self, template: Template | None, row: int, kind: int) -> dict[str, Any]:
        label = self.series[row].get(log_patterns.PATTERN_LABEL, "")
        details: dict[str, Any] = {
            "log_pattern": f"{self.name}/logPatterns/{label}",
            "kind": Kind.Name(kind),
        }
        if template is not None:
            details.update(template=template.text, example_line=template.example)
            details["error"] = template.error
        return details
