"""False alarms on anomaly-free series: how often each algorithm, at its defaults, raises an
anomaly where there is none.

    .venv/bin/python bench/quiet.py [--quick] [--algorithms ensemble ewma] [--json PATH]

Each kind below is a family of series with nothing anomalous in them, drawn deterministically
(numpy's default_rng, fixed seeds), of the shapes operators' metrics have: 1-minute and
5-minute steps, daily and weekly cycles, heavy-tailed noise, slow trends, quantised gauges,
sparse counters; and the trap series that issue 19 names. Every series starts at its own step of
a week (a detector is created at any time) and is scored from a fresh state in one `update`
call, through the algorithm its API spec builds (`spec.prepare`, then `spec.build`, as a
backtest does). Anomalies are found as the server finds them (`find_spans` at the prepared
detector's thresholds, 0.95 and 0.99): a run of points at or above the warning threshold is one
false alarm, and a critical one when any of its points reaches the critical threshold. Nothing
is excluded: an alarm during a detector's warm-up counts.

The figure is false alarms per series-day (alarms / days of series scored), per kind and, over
all kinds with each kind weighing the same, per algorithm. Target for the default algorithm:
< 0.05 per series-day.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from aiops.detect import registry
from aiops.detect.anomalies import CRITICAL, find_spans
from aiops.detectors import spec

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as bench/quiet.py: bench.nab
    sys.path.insert(0, str(REPO))

from bench.nab import detector_spec  # noqa: E402

TARGET = 0.05  # false alarms per series-day, for the default algorithm
DAY = 86_400
WEEK = 7 * DAY
# A Monday, 00:00 UTC: every series starts a whole number of steps into the week after it.
EPOCH = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp())

# (rng, seconds since EPOCH of each point, index of each point from the series' start) -> values
Generator = Callable[[np.random.Generator, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Kind:
    """A family of anomaly-free series: `days` of points every `step` seconds."""

    name: str
    step: int
    days: int
    generate: Generator
    trap: bool = False  # one of the series issue 19 names

    @property
    def points(self) -> int:
        return self.days * DAY // self.step


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def business_hours(rng: np.random.Generator, seconds: np.ndarray) -> np.ndarray:
    """A daily profile in [0, 1]: low at night, a peak in the afternoon of a random time zone,
    with a random share of a second (morning) hump."""
    zone = rng.uniform(0, DAY)
    phase = 2 * np.pi * ((seconds + zone) % DAY) / DAY
    hump = rng.uniform(0.0, 0.4)
    profile = 0.5 * (1 - np.cos(phase)) + hump * 0.5 * (1 - np.cos(2 * phase))
    result: np.ndarray = profile / (1 + hump)
    return result


def daily(rng: np.random.Generator, seconds: np.ndarray, _: np.ndarray) -> np.ndarray:
    """Traffic-like: a level, a daily cycle of 10 to 60 % of it, Gaussian noise of 1 to 5 %."""
    level = log_uniform(rng, 1.0, 1e4)
    amplitude = rng.uniform(0.1, 0.6)
    noise = rng.uniform(0.01, 0.05)
    cycle = business_hours(rng, seconds)
    result: np.ndarray = level * (1 + amplitude * cycle + noise * rng.standard_normal(len(seconds)))
    return result


def weekly(rng: np.random.Generator, seconds: np.ndarray, _: np.ndarray) -> np.ndarray:
    """`daily`, with the cycle's amplitude 20 to 70 % of a weekday's on Saturdays and Sundays
    (their business hours are quieter; nights look alike)."""
    level = log_uniform(rng, 1.0, 1e4)
    amplitude = rng.uniform(0.2, 0.8)
    noise = rng.uniform(0.01, 0.05)
    weekend = rng.uniform(0.2, 0.7)
    cycle = business_hours(rng, seconds)
    day_of_week = (seconds % WEEK) // DAY  # 0 is Monday
    scale = np.where(day_of_week >= 5, weekend, 1.0)
    result: np.ndarray = level * (
        1 + amplitude * scale * cycle + noise * rng.standard_normal(len(seconds))
    )
    return result


def heavy_tailed(rng: np.random.Generator, seconds: np.ndarray, _: np.ndarray) -> np.ndarray:
    """Latency-like: a daily cycle under Student-t noise of 3 degrees of freedom (a point 10
    scales out is a few times a day at 1-minute steps)."""
    level = log_uniform(rng, 1.0, 1e4)
    amplitude = rng.uniform(0.0, 0.4)
    scale = rng.uniform(0.01, 0.04)
    cycle = business_hours(rng, seconds)
    result: np.ndarray = level * (1 + amplitude * cycle + scale * rng.standard_t(3, len(seconds)))
    return result


def trend(rng: np.random.Generator, seconds: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Disk- or memory-like: a linear trend of -30 to +60 % over the series, a small daily
    cycle (0 to 10 %), low noise (0.2 to 2 %)."""
    level = log_uniform(rng, 10.0, 1e5)
    growth = rng.uniform(-0.3, 0.6)
    amplitude = rng.uniform(0.0, 0.1)
    noise = rng.uniform(0.002, 0.02)
    cycle = business_hours(rng, seconds)
    fraction = index / max(len(index) - 1, 1)
    result: np.ndarray = level * (
        1 + growth * fraction + amplitude * cycle + noise * rng.standard_normal(len(seconds))
    )
    return result


def quantised_gauge(rng: np.random.Generator, seconds: np.ndarray, _: np.ndarray) -> np.ndarray:
    """A small whole-number gauge (open connections, busy workers): Poisson around a mean of 1
    to 30 that follows a daily cycle."""
    mean = log_uniform(rng, 1.0, 30.0)
    amplitude = rng.uniform(0.0, 1.0)
    cycle = business_hours(rng, seconds)
    return rng.poisson(mean * (1 + amplitude * cycle)).astype(np.float64)


def sparse_counter(rng: np.random.Generator, seconds: np.ndarray, _: np.ndarray) -> np.ndarray:
    """Errors per step (`increase(errors_total[1m])`): mostly 0, a count of 0.005 to 0.2 a step
    on average, busier in business hours."""
    mean = log_uniform(rng, 0.005, 0.2)
    amplitude = rng.uniform(0.0, 2.0)
    cycle = business_hours(rng, seconds)
    return rng.poisson(mean * (1 + amplitude * cycle)).astype(np.float64)


def trap_mod11(_: np.random.Generator, seconds: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Issue 19: 100 + ((37 i) mod 11) - 5, a bounded, deterministic wobble."""
    result: np.ndarray = 100.0 + ((37 * index) % 11) - 5.0
    return result


def trap_normal(rng: np.random.Generator, seconds: np.ndarray, _: np.ndarray) -> np.ndarray:
    """Issue 19: N(100, 5) noise."""
    return rng.normal(100.0, 5.0, len(seconds))


def trap_sine(rng: np.random.Generator, seconds: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Issue 19: 100 + 80 sin(2 pi t / 288) + N(0, 5), a deep daily cycle at 5-minute steps."""
    result: np.ndarray = (
        100.0 + 80.0 * np.sin(2 * np.pi * index / 288) + rng.normal(0.0, 5.0, len(seconds))
    )
    return result


def trap_gauge_5_6(rng: np.random.Generator, seconds: np.ndarray, _: np.ndarray) -> np.ndarray:
    """Issue 19: a gauge that is 5, and 6 about 3 % of the time."""
    result: np.ndarray = 5.0 + (rng.random(len(seconds)) < 0.03)
    return result


def trap_flat_quantised(
    rng: np.random.Generator, seconds: np.ndarray, index: np.ndarray
) -> np.ndarray:
    """Issue 19: flat at 100 for the first 30 to 720 points, then N(100, 4) rounded to tens
    (mostly 100, 90 or 110 a fifth of the time)."""
    flat = int(rng.integers(30, 721))
    values = 10.0 * np.round(rng.normal(100.0, 4.0, len(seconds)) / 10.0)
    values[:flat] = 100.0
    return values


KINDS = (
    Kind("daily_1m", 60, 7, daily),
    Kind("daily_5m", 300, 14, daily),
    Kind("weekly_5m", 300, 28, weekly),
    Kind("heavy_tailed_1m", 60, 7, heavy_tailed),
    Kind("heavy_tailed_5m", 300, 14, heavy_tailed),
    Kind("trend_5m", 300, 14, trend),
    Kind("quantised_gauge_1m", 60, 7, quantised_gauge),
    Kind("sparse_counter_1m", 60, 7, sparse_counter),
    Kind("trap_mod11_1m", 60, 7, trap_mod11, trap=True),
    Kind("trap_normal_1m", 60, 7, trap_normal, trap=True),
    Kind("trap_sine_5m", 300, 14, trap_sine, trap=True),
    Kind("trap_gauge_5_6_1m", 60, 7, trap_gauge_5_6, trap=True),
    Kind("trap_flat_quantised_1m", 60, 7, trap_flat_quantised, trap=True),
)


@dataclass(frozen=True)
class Series:
    first_step: int  # time / step of its first point
    values: np.ndarray


def draw(kind: Kind, count: int, seed: int) -> list[Series]:
    """`count` series of `kind`, the same for the same seed whatever else runs."""
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    index = np.arange(kind.points)
    out = []
    for _ in range(count):
        start = EPOCH + int(rng.integers(0, WEEK // kind.step)) * kind.step
        seconds = start + kind.step * index
        values = kind.generate(rng, seconds - EPOCH, index)
        out.append(Series(start // kind.step, np.asarray(values, dtype=np.float64)))
    return out


@dataclass
class Tally:
    """One algorithm's false alarms on one kind."""

    series_days: float = 0.0
    warning: int = 0  # anomalies (runs at or above the warning threshold)
    critical: int = 0  # of which reach the critical threshold
    by_day: tuple[int, int, int] = (0, 0, 0)  # warnings starting on day 0, day 1, later

    def per_day(self, count: int) -> float:
        return count / self.series_days if self.series_days else 0.0


def score(algorithm: str, kind: Kind, series_list: list[Series]) -> Tally:
    detector = detector_spec(algorithm, kind.step)
    built, scoring = spec.build(detector)
    warning, critical = detector.thresholds.warning, detector.thresholds.critical
    per_day = DAY // kind.step
    tally = Tally()
    day0, day1, later = 0, 0, 0
    for series in series_list:
        values = series.values[np.newaxis, :]
        scored = built.update(values, built.new_state(1), series.first_step, scoring)
        spans = find_spans(scored.scores, warning, critical)
        tally.series_days += values.shape[1] / per_day
        tally.warning += len(spans)
        tally.critical += sum(span.severity == CRITICAL for span in spans)
        for span in spans:
            day = span.start // per_day
            day0, day1, later = day0 + (day == 0), day1 + (day == 1), later + (day >= 2)
    tally.by_day = (day0, day1, later)
    return tally


def table(title: str, algorithms: list[str], cells: dict[str, dict[str, str]]) -> None:
    """Kinds down, algorithms across; `cells[row][algorithm]` already formatted."""
    first = max(len(row) for row in cells) + 2
    width = max(len(text) for row in cells.values() for text in row.values())
    width = max(width, *(len(name) for name in algorithms)) + 2
    print(f"\n{title}")
    print("kind".ljust(first) + "".join(name.rjust(width) for name in algorithms))
    for row, by_algorithm in cells.items():
        print(row.ljust(first) + "".join(by_algorithm[name].rjust(width) for name in algorithms))


def rates(
    per_kind: dict[str, dict[str, float]], means: dict[str, float]
) -> dict[str, dict[str, str]]:
    rows = {
        kind: {name: f"{rate:.3f}" for name, rate in row.items()} for kind, row in per_kind.items()
    }
    rows["mean over kinds"] = {name: f"{rate:.3f}" for name, rate in means.items()}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--algorithms", nargs="+", choices=list(registry.BY_NAME), default=list(registry.BY_NAME)
    )
    parser.add_argument("--series", type=int, help="series per kind (default 40, quick 5)")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--quick", action="store_true", help="5 series a kind")
    parser.add_argument("--json", type=Path, help="write the run's figures here")
    args = parser.parse_args()
    count = args.series or (5 if args.quick else 40)

    started = time.perf_counter()
    drawn = {kind.name: draw(kind, count, args.seed) for kind in KINDS}
    points = sum(kind.points * count for kind in KINDS)
    print(
        f"{len(KINDS)} kinds x {count} series, {points:,} points per algorithm "
        f"(drawn in {time.perf_counter() - started:.1f} s); thresholds: the API's defaults"
    )

    figures: dict[str, float | int | str] = {
        "series_per_kind": count,
        "points_per_algorithm": points,
        "seed": args.seed,
        "target_per_series_day": TARGET,
    }
    warnings: dict[str, dict[str, float]] = {kind.name: {} for kind in KINDS}
    criticals: dict[str, dict[str, float]] = {kind.name: {} for kind in KINDS}
    tallies: dict[str, dict[str, Tally]] = {}
    mean_warning: dict[str, float] = {}
    mean_critical: dict[str, float] = {}
    summaries: dict[str, str] = {}
    for algorithm in args.algorithms:
        began = time.perf_counter()
        tallies[algorithm] = {}
        for kind in KINDS:
            tally = score(algorithm, kind, drawn[kind.name])
            tallies[algorithm][kind.name] = tally
            warnings[kind.name][algorithm] = tally.per_day(tally.warning)
            criticals[kind.name][algorithm] = tally.per_day(tally.critical)
            figures[f"{algorithm}_{kind.name}_per_series_day"] = round(
                tally.per_day(tally.warning), 4
            )
            figures[f"{algorithm}_{kind.name}_critical_per_series_day"] = round(
                tally.per_day(tally.critical), 4
            )
        mean_warning[algorithm] = float(np.mean([warnings[k.name][algorithm] for k in KINDS]))
        mean_critical[algorithm] = float(np.mean([criticals[k.name][algorithm] for k in KINDS]))
        operator = float(np.mean([warnings[k.name][algorithm] for k in KINDS if not k.trap]))
        traps = float(np.mean([warnings[k.name][algorithm] for k in KINDS if k.trap]))
        worst = max(KINDS, key=lambda k: warnings[k.name][algorithm]).name
        seconds = time.perf_counter() - began
        figures[f"{algorithm}_false_alarms_per_series_day"] = round(mean_warning[algorithm], 4)
        figures[f"{algorithm}_critical_per_series_day"] = round(mean_critical[algorithm], 4)
        figures[f"{algorithm}_operator_kinds_per_series_day"] = round(operator, 4)
        figures[f"{algorithm}_trap_kinds_per_series_day"] = round(traps, 4)
        figures[f"{algorithm}_worst_kind"] = worst
        figures[f"{algorithm}_worst_kind_per_series_day"] = round(warnings[worst][algorithm], 4)
        figures[f"{algorithm}_seconds"] = round(seconds, 2)
        summaries[algorithm] = (
            f"{algorithm}: {mean_warning[algorithm]:.3f} false alarms per series-day "
            f"(operator kinds {operator:.3f}, traps {traps:.3f}; worst {worst} "
            f"{warnings[worst][algorithm]:.3f}), {mean_critical[algorithm]:.3f} critical; "
            f"{seconds:.1f} s with compiling"
        )

    table(
        "False alarms per series-day (anomalies at >= warning, 0.95)",
        args.algorithms,
        rates(warnings, mean_warning),
    )
    table(
        "Critical false alarms per series-day (anomalies reaching critical, 0.99)",
        args.algorithms,
        rates(criticals, mean_critical),
    )
    table(
        "Where the warnings start: on day 0 / day 1 / later days of the series (counts)",
        args.algorithms,
        {
            kind.name: {
                name: " / ".join(str(n) for n in tallies[name][kind.name].by_day)
                for name in args.algorithms
            }
            for kind in KINDS
        },
    )

    print()
    for algorithm in args.algorithms:
        line = summaries[algorithm]
        if algorithm == registry.DEFAULT:
            verdict = "meets" if mean_warning[algorithm] < TARGET else "misses"
            line += f"  <- the default; target < {TARGET}: {verdict} it"
        print(line)
    figures["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        args.json.write_text(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
