"""A log-pattern detector's templates: which template each line (or each of Loki's patterns)
is, how many lines each template had at each step, which templates are new, which carry an error
level, and the pages ListLogPatterns answers.

The pipeline fetches and hands over; this module does no I/O. Mined lines get their template
ids from a miner (`aiops.logs`; `Miner` below is all this module asks of it); Loki's patterns
come with their text, which gets an id here. A template's rate at a step is its lines per second
there, 0 when it had none: a template the detector keeps is a series with a value at every step,
so that its drop to nothing scores.

Memory: the templates kept (at most `max_templates`; the miner's own bound for mined lines, the
least recently seen evicted here for Loki's), each with one example line of at most 4 KiB, and
the counts of the steps not yet scored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from aiops.detect.anomalies import CRITICAL, severities
from aiops.detectors.recent import RecentScores
from aiops.logs.levels import line_level
from aiops.sources.loki import Patterns
from aiops.sources.matrix import series_key
from aiops.validation import invalid, shorten
from aiops_api.v1 import detector_pb2, log_pattern_pb2

# The sources as LogPatternRates.Source names, as detectors' rows keep them.
LOKI_PATTERNS = "SOURCE_LOKI_PATTERNS"
MINED = "SOURCE_MINED"
# The label that names a template's series: {pattern="17"}.
PATTERN_LABEL = "pattern"
MAX_EXAMPLE_CHARS = 4096
# Levels that make a template an error template, as words in lines or as label values.
ERROR_LEVELS = frozenset(
    {"error", "err", "eror", "fatal", "critical", "crit", "panic", "alert", "emerg", "severe"}
)
LEVEL_LABELS = ("level", "detected_level", "severity", "lvl", "log_level", "loglevel")
# Only the start of a line is searched for its level: that is where logs put it, and a
# megabyte line is not split whole.
LEVEL_SEARCH_CHARS = 1024
_MAGIC = b"aiops-log-patterns/1\n"


def line_is_error(line: str) -> bool:
    """Whether a line (or a template's text) carries an error level (`level=error`, `ERROR`,
    `[crit]`, an exception...), as the miner's `line_level` reads it."""
    return line_level(line[:LEVEL_SEARCH_CHARS]) == "error"


def labels_are_error(labels: dict[str, str]) -> bool:
    """Whether a stream's labels give its lines an error level ({level="error"})."""
    return any(labels.get(name, "").lower() in ERROR_LEVELS for name in LEVEL_LABELS)


def clean(text: str, limit: int = MAX_EXAMPLE_CHARS) -> str:
    """Text fit for a message: at most `limit` characters, lone surrogates (which no UTF-8
    encoder takes) replaced."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


class Miner(Protocol):
    """What the detector asks of a template miner (`aiops.logs`)."""

    @property
    def evictions(self) -> int:
        """Templates forgotten to stay within the miner's bound."""

    def learn(self, lines: Sequence[str]) -> np.ndarray:
        """Each line's template id (int64; -1 for a line it did not place), learning them."""

    def resolve(self, ids: np.ndarray) -> np.ndarray:
        """`ids` with each id of a template merged into another replaced by the other's."""

    def templates(self) -> Iterable[Any]:
        """The templates kept, each with `id` and `text`."""

    def state(self) -> bytes:
        """Everything it learnt, for `MinerFactory` to restore."""


# Builds a miner bounded to `max_templates`, from a `state()` when one is given.
MinerFactory = Callable[[int, bytes | None], Miner]


@dataclass
class Template:
    id: int
    text: str
    first_seen: int  # the time (seconds) of the first step it was counted in
    last_seen: int  # of the latest
    count: int = 0  # lines counted, since the detector learnt afresh
    example: str = ""
    error: bool = False
    in_baseline: bool = True  # first seen while the detector learnt its baseline

    @property
    def labels(self) -> dict[str, str]:
        return {PATTERN_LABEL: str(self.id)}


@dataclass(frozen=True)
class Rates:
    """Every template kept (`ids`, ascending) and its lines per second at `start + k * step`."""

    ids: list[int]
    start: int
    step: int
    values: np.ndarray  # [template, point]


class Catalogue:
    """One detector's templates, from one source (`MINED`, with its miner, or `LOKI_PATTERNS`)."""

    def __init__(self, source: str, max_templates: int, miner: Miner | None = None) -> None:
        if (source == MINED) != (miner is not None):
            raise ValueError("mined templates need a miner, and Loki's patterns none")
        self.source = source
        self.max_templates = max_templates
        self.miner = miner
        self.templates: dict[int, Template] = {}
        self.learnt_baseline = False  # after it, a template not seen before is new
        self._by_text: dict[str, int] = {}  # Loki's patterns: text -> id
        self._next_id = 1
        self._evicted = 0  # Loki's patterns forgotten here
        self._counts: dict[int, dict[int, float]] = {}  # step time -> {id: lines}

    @property
    def evicted(self) -> int:
        """Templates forgotten to stay within `max_templates`, since it learnt afresh."""
        return self.miner.evictions if self.miner is not None else self._evicted

    # Mined lines: `learn` in a worker thread, then `count_lines` on the loop.

    def learn(self, lines: Sequence[str]) -> np.ndarray:
        assert self.miner is not None, "a catalogue of Loki's patterns mines nothing"
        return np.asarray(self.miner.learn(lines), dtype=np.int64)

    def count_lines(
        self,
        time: int,
        lines: Sequence[str],
        ids: np.ndarray,
        errors: Sequence[bool],
        scale: float = 1.0,
    ) -> None:
        """Counts the lines of the step at `time` (their template `ids` from `learn`; `errors`
        per line from its stream's labels) toward their templates, each line as `scale` lines:
        more than one where the step had more lines than were read."""
        assert self.miner is not None
        placed = np.flatnonzero(ids >= 0)
        found, first, counts = np.unique(ids[placed], return_index=True, return_counts=True)
        step = self._counts.setdefault(time, {})
        for template_id, position, count in zip(
            found.tolist(), placed[first].tolist(), counts.tolist(), strict=True
        ):
            line = lines[position]
            template = self._seen(template_id, "", time, line)
            template.count += count
            template.error = template.error or errors[position] or line_is_error(line)
            step[template_id] = step.get(template_id, 0.0) + count * scale
        self._follow_miner()

    def _follow_miner(self) -> None:
        """The miner's texts (a template generalises under its id), merges (a template merged
        into another one lends it its lines) and evictions."""
        assert self.miner is not None
        texts = {int(template.id): str(template.text) for template in self.miner.templates()}
        gone = sorted(self.templates.keys() - texts.keys())
        merged_into = self.miner.resolve(np.asarray(gone, dtype=np.int64)).tolist()
        for old, new in zip(gone, merged_into, strict=True):
            template = self.templates.pop(old)
            into = self.templates.get(new)
            if into is None or new == old:
                continue  # evicted
            into.count += template.count
            into.first_seen = min(into.first_seen, template.first_seen)
            into.last_seen = max(into.last_seen, template.last_seen)
            into.error = into.error or template.error
            into.in_baseline = into.in_baseline or template.in_baseline
            for counts in self._counts.values():
                if old in counts:
                    counts[new] = counts.get(new, 0.0) + counts.pop(old)
        for template_id, template in self.templates.items():
            template.text = clean(texts[template_id])

    # Loki's patterns.

    def count_patterns(self, patterns: Patterns, first_time: int) -> list[int]:
        """Counts Loki's buckets whose step time (a bucket's end) is `first_time` or later:
        the earlier ones were counted before. The ids of the templates new to the catalogue,
        which want an example line."""
        times = patterns.start + (np.arange(patterns.counts.shape[1]) + 1) * patterns.step
        taken = times >= first_time
        added = []
        for text, level, counts in zip(
            patterns.texts, patterns.levels, patterns.counts, strict=True
        ):
            lines = counts[taken]
            steps = np.flatnonzero(lines)
            if not len(steps):
                continue
            first, last = int(times[taken][steps[0]]), int(times[taken][steps[-1]])
            template_id = self._pattern_id(text)
            fresh = template_id not in self.templates
            template = self._seen(template_id, clean(text), first, "")
            template.last_seen = max(template.last_seen, last)
            template.count += int(lines.sum())
            template.error = template.error or level.lower() in ERROR_LEVELS or line_is_error(text)
            for time, count in zip(
                times[taken][steps].tolist(), lines[steps].tolist(), strict=True
            ):
                step = self._counts.setdefault(time, {})
                step[template_id] = step.get(template_id, 0.0) + count
            if fresh:
                added.append(template_id)
        self._evict_least_recent()
        return added

    def set_example(self, template_id: int, line: str) -> None:
        template = self.templates.get(template_id)
        if template is not None and not template.example:
            template.example = clean(line)

    def _pattern_id(self, text: str) -> int:
        """The id of Loki's pattern `text`: its own, or that of a pattern it generalises (Loki
        rewrites a pattern's text as it finds more variety, `<_>` for what varied), so that a
        template keeps its name and series."""
        known = self._by_text.get(text)
        if known is not None:
            return known
        if "<_>" in text:
            general = re.compile(".*?".join(map(re.escape, text.split("<_>"))), re.S)
            for template_id, template in self.templates.items():
                if general.fullmatch(template.text):
                    del self._by_text[template.text]
                    template.text = clean(text)
                    self._by_text[text] = template_id
                    return template_id
        template_id = self._by_text[text] = self._next_id
        self._next_id += 1
        return template_id

    def _evict_least_recent(self) -> None:
        excess = len(self.templates) - self.max_templates
        if excess <= 0:
            return
        oldest = sorted(self.templates.values(), key=lambda t: (t.last_seen, t.count, -t.id))
        for template in oldest[:excess]:
            del self.templates[template.id]
            self._by_text.pop(template.text, None)
        self._evicted += excess

    # Both.

    def _seen(self, template_id: int, text: str, time: int, line: str) -> Template:
        template = self.templates.get(template_id)
        if template is None:
            template = self.templates[template_id] = Template(
                template_id, text, time, time, in_baseline=not self.learnt_baseline
            )
        template.first_seen = min(template.first_seen, time)
        template.last_seen = max(template.last_seen, time)
        if line and not template.example:
            template.example = clean(line)
        return template

    def rates(self, start: int, step: int, points: int) -> Rates:
        """The templates' rates at the `points` steps from `start`, from the counts since the
        last call (which it forgets): 0 where a template had no line."""
        ids = sorted(self.templates)
        rows = {template_id: row for row, template_id in enumerate(ids)}
        values = np.zeros((len(ids), points))
        for time, counts in self._counts.items():
            column = (time - start) // step
            if 0 <= column < points:
                for template_id, count in counts.items():
                    row = rows.get(template_id)
                    if row is not None:
                        values[row, column] += count
        self._counts.clear()
        return Rates(ids, start, step, values / step)

    def forget_counts(self) -> None:
        """Drops the counts not yet taken by `rates` (a fetch that failed half-way)."""
        self._counts.clear()

    def new_templates(self, start: int, end: int) -> list[Template]:
        """The templates first seen from `start` to `end` (seconds) after the baseline."""
        return [
            template
            for template in self.templates.values()
            if not template.in_baseline and start <= template.first_seen <= end
        ]

    def to_bytes(self) -> bytes:
        header = {
            "source": self.source,
            "max_templates": self.max_templates,
            "learnt_baseline": self.learnt_baseline,
            "next_id": self._next_id,
            "evicted": self._evicted,
            "templates": [astuple(template) for template in self.templates.values()],
        }
        head = json.dumps(header, separators=(",", ":")).encode()
        miner = self.miner.state() if self.miner is not None else b""
        return _MAGIC + len(head).to_bytes(8, "big") + head + miner

    @classmethod
    def from_bytes(cls, data: bytes, new_miner: MinerFactory) -> Catalogue:
        """What `to_bytes` saved; ValueError when it is not such a thing."""
        if not data.startswith(_MAGIC):
            raise ValueError("not a log-pattern catalogue")
        offset = len(_MAGIC) + 8
        size = int.from_bytes(data[len(_MAGIC) : offset], "big")
        try:
            header = json.loads(data[offset : offset + size])
            source, bound = str(header["source"]), int(header["max_templates"])
            miner = new_miner(bound, data[offset + size :]) if source == MINED else None
            catalogue = cls(source, bound, miner)
            catalogue.learnt_baseline = bool(header["learnt_baseline"])
            catalogue._next_id = int(header["next_id"])
            catalogue._evicted = int(header["evicted"])
            for fields in header["templates"]:
                template = Template(*fields)
                catalogue.templates[template.id] = template
                if miner is None:
                    catalogue._by_text[template.text] = template.id
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"malformed log-pattern catalogue: {error}") from None
        return catalogue


class LogPatternsRegistry:
    """Every log-pattern detector's catalogue in this process, by detector id and creation
    time, for ListLogPatterns; the runners put them here."""

    def __init__(self) -> None:
        self._detectors: dict[str, tuple[datetime | None, Catalogue]] = {}

    def get(self, detector_id: str, created: datetime | None = None) -> Catalogue | None:
        found = self._detectors.get(detector_id)
        if found is None or (created is not None and found[0] != created):
            return None
        return found[1]

    def put(self, detector_id: str, created: datetime | None, catalogue: Catalogue) -> None:
        self._detectors[detector_id] = (created, catalogue)

    def discard(self, detector_id: str) -> None:
        """Forgets a detector's templates: it learns afresh."""
        self._detectors.pop(detector_id, None)

    def keep_only(self, detector_ids: set[str]) -> None:
        """Forgets the detectors that are gone (deleted)."""
        for detector_id in self._detectors.keys() - detector_ids:
            del self._detectors[detector_id]


def bump(severity: int) -> int:
    """An error template's severity: one higher (warning becomes critical)."""
    return min(CRITICAL, severity + 1) if severity else 0


# ListLogPatterns.

_TERM = re.compile(
    r"""\s*(?P<field>[a-z_]+)\s*(?P<op><=|>=|!=|=|<|>|:)\s*
        (?P<value>"(?:[^"\\]|\\.)*"|[^\s"()]+)\s*""",
    re.VERBOSE,
)
_AND = re.compile(r"AND\b")
_NUMBERS = ("count", "rate", "score")
_FLAGS = ("error", "in_baseline")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}
MAX_FILTER_LENGTH = 1000

Predicate = Callable[[log_pattern_pb2.LogPattern], bool]


def parse_filter(text: str) -> list[Predicate]:
    """The AIP-160 subset of ListLogPatterns' filter: `template:"timeout"`, `error = true`,
    `count >= 10` joined by AND. INVALID_ARGUMENT on `filter`."""
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid("filter", f"at most {MAX_FILTER_LENGTH} characters, got {len(text)}")
    predicates: list[Predicate] = []
    position = 0
    while text[position:].strip():
        match = _TERM.match(text, position)
        if match is None:
            raise invalid("filter", f"expected `field = value` at {shorten(text[position:], 40)!r}")
        predicates.append(_predicate(match["field"], match["op"], match["value"]))
        position = match.end()
        if position == len(text):
            break
        joiner = _AND.match(text, position)
        if joiner is None:
            raise invalid(
                "filter", f"expected AND at {shorten(text[position:], 40)!r}; OR is not supported"
            )
        position = joiner.end()
    return predicates


def _predicate(field: str, op: str, raw: str) -> Predicate:
    quoted = raw.startswith('"')
    value = re.sub(r"\\(.)", r"\1", raw[1:-1]) if quoted else raw
    if field == "template":
        if op == ":":
            return lambda item: value in item.template
        if op in ("=", "!="):
            return lambda item: _COMPARE[op](item.template, value)
        raise invalid("filter", f"template takes : (contains), = or !=, not {op}")
    if field in _FLAGS:
        if op not in ("=", "!=") or value not in ("true", "false"):
            raise invalid("filter", f"{field} takes = or != with true or false")
        flag = value == "true"
        return lambda item: _COMPARE[op](getattr(item, field), flag)
    if field in _NUMBERS:
        try:
            number = float(value)
        except ValueError:
            raise invalid("filter", f"{field}: {shorten(value, 40)!r} is not a number") from None
        if op == ":":
            raise invalid("filter", f"{field} takes =, !=, <, <=, > or >=")
        return lambda item: _COMPARE[op](getattr(item, field), number)
    known = ", ".join(sorted(("template", *_FLAGS, *_NUMBERS)))
    raise invalid("filter", f"unknown field {field!r}; known: {known}")


def list_patterns(
    detector_name: str,
    catalogue: Catalogue | None,
    ring: RecentScores | None,
    predicates: list[Predicate],
    offset: int,
    limit: int,
    warning: float,
    critical: float,
) -> tuple[list[log_pattern_pb2.LogPattern], int, int]:
    """A page of the detector's templates from `offset`, the most anomalous first (score, then
    lines, then id): the page, the offset after it (0 when last) and how many match."""
    if catalogue is None:
        return [], 0, 0
    latest: dict[str, tuple[float, float]] = {}
    if ring is not None:
        _, points = ring.latest_points()
        for key, row in ring.keys.items():
            latest[key] = (float(points[0, row]), float(points[1, row]))
    items = []
    for template in list(catalogue.templates.values()):
        rate, score = latest.get(series_key(template.labels), (math.nan, math.nan))
        score = 0.0 if math.isnan(score) else score
        level = int(severities(np.array([score]), warning, critical)[0])
        item = log_pattern_pb2.LogPattern(
            name=f"{detector_name}/logPatterns/{template.id}",
            template=template.text,
            count=template.count,
            example_line=template.example,
            rate=0.0 if math.isnan(rate) else rate,
            score=score,
            severity=detector_pb2.Severity.Name(bump(level) if template.error else level),
            error=template.error,
            in_baseline=template.in_baseline,
        )
        item.first_seen_time.FromSeconds(template.first_seen)
        item.last_seen_time.FromSeconds(template.last_seen)
        if all(predicate(item) for predicate in predicates):
            items.append(item)
    items.sort(key=lambda item: (-item.score, -item.count, _id_of(item.name)))
    page = items[offset : offset + limit]
    after = offset + len(page)
    return page, (after if after < len(items) else 0), len(items)


def _id_of(name: str) -> int:
    return int(name.rpartition("/")[2])
