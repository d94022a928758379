"""Log template mining: grouping quality on Loghub-2k, and speed against drain3.

    .venv/bin/python bench/logparse.py --data DIR --out DIR [--input raw|content]
    .venv/bin/python bench/logparse.py --speed --data DIR [--lines N] [--json PATH] [--quick]
    .venv/bin/python bench/logparse.py --synthetic [--seeds N]

Quality: for each system S in DIR (a folder S/ holding S_2k.log), one `TemplateMiner` with the
default configuration (the same for every system) learns the lines in order, in batches of
`--batch`; each line's group is the template its line ends in (merges resolved), written as
OUT/S/S_2k.log_structured.csv (LineId, EventId, EventTemplate), the format of
`shared/tools/loghub_score.py`. `--input raw` (the default) feeds the raw lines, header
included, as a log source hands them over; `--input content` feeds the `Content` column of
S_2k.log_structured.csv, the message without the header that the published parsers mine.

Speed (`--speed`): `--lines` lines (1,000,000 by default) drawn at random from the raw lines of
every system in DIR, each digit re-drawn at random so that lines repeat shapes but not text,
learnt by our miner (batches of `--batch`) and by drain3's `TemplateMiner` (default
configuration, one `add_log_message` per line) in separate processes on one numba thread; each
reports lines/s and its peak resident memory. `--json PATH` writes the figures, among them
`lines_per_s` (ours) and `speedup_vs_drain3`.

Synthetic (`--synthetic`): GA on logs of formats Loghub-2k lacks (nginx, klog, logfmt, JSON
lines, Java, syslog, logcat...), drawn with known templates by `tests/logs/formats.py`, 2,000
lines a format and seed, `--seeds` seeds (no data needed): a check that the one configuration
generalises, without the held-out Loghub systems.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numba
import numpy as np

from aiops.logs import MinerConfig, TemplateMiner

BATCH = 10_000


def systems(data: Path) -> list[str]:
    return sorted(p.name for p in data.iterdir() if (p / f"{p.name}_2k.log").is_file())


def raw_lines(data: Path, system: str) -> list[str]:
    """The lines of S_2k.log without their line endings (most files use CRLF)."""
    raw = (data / system / f"{system}_2k.log").read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.rstrip(b"\r").decode("utf-8", "replace") for line in lines]


def content_lines(data: Path, system: str) -> list[str]:
    path = data / system / f"{system}_2k.log_structured.csv"
    with path.open(newline="", encoding="utf-8") as file:
        return [row["Content"] for row in csv.DictReader(file)]


def mine(lines: list[str], batch: int, config: MinerConfig | None = None) -> tuple[Any, Any]:
    """Each line's final template id, and the miner."""
    miner = TemplateMiner(config)
    ids = np.concatenate(
        [miner.learn(lines[i : i + batch]) for i in range(0, len(lines), batch)]
        or [np.empty(0, np.int64)]
    )
    return miner.resolve(ids), miner


def quality(data: Path, out: Path, source: str, batch: int) -> None:
    read: Callable[[Path, str], list[str]] = raw_lines if source == "raw" else content_lines
    for system in systems(data):
        lines = read(data, system)
        started = time.perf_counter()
        ids, miner = mine(lines, batch)
        elapsed = time.perf_counter() - started
        texts = {t.id: t.text for t in miner.templates()}
        folder = out / system
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{system}_2k.log_structured.csv").open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["LineId", "EventId", "EventTemplate"])
            for n, tid in enumerate(ids.tolist(), 1):
                writer.writerow([n, f"T{tid}", texts.get(tid, "")])
        print(f"{system:<12}{len(lines):>7} lines {len(miner):>5} templates {elapsed:7.3f} s")


# --- speed ------------------------------------------------------------------------------------


def speed_lines(data: Path, count: int, seed: int = 7) -> list[str]:
    """`count` lines drawn from every system's raw lines, with each digit re-drawn."""
    samples = [line.encode() for s in systems(data) for line in raw_lines(data, s)]
    rng = np.random.default_rng(seed)
    chosen = rng.integers(0, len(samples), count)
    lengths = np.array([len(samples[i]) for i in chosen.tolist()], np.int64)
    buffer = np.frombuffer(b"".join(samples[i] for i in chosen.tolist()), np.uint8).copy()
    digits = (buffer >= 48) & (buffer <= 57)
    buffer[digits] = rng.integers(48, 58, int(digits.sum()), dtype=np.uint8)
    ends = np.cumsum(lengths)
    raw = buffer.tobytes()
    starts = (ends - lengths).tolist()
    return [raw[a:b].decode("utf-8", "replace") for a, b in zip(starts, ends.tolist(), strict=True)]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_ours(lines: list[str], batch: int) -> dict[str, Any]:
    numba.set_num_threads(1)
    warm = TemplateMiner()
    warm.learn(lines[:1000])  # compile (or load) the kernels
    before = peak_mb()
    miner = TemplateMiner()
    started = time.perf_counter()
    for i in range(0, len(lines), batch):
        miner.learn(lines[i : i + batch])
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed, "templates": len(miner), "evictions": miner.evictions,
        "peak_mb": peak_mb(), "start_mb": before, "numba_threads": numba.get_num_threads(),
    }  # fmt: skip


def run_drain3(lines: list[str], batch: int) -> dict[str, Any]:
    from drain3 import TemplateMiner as Drain3  # type: ignore[import-untyped]
    from drain3.template_miner_config import (  # type: ignore[import-untyped]
        TemplateMinerConfig,
    )

    config = TemplateMinerConfig()
    config.profiling_enabled = False
    before = peak_mb()
    miner = Drain3(config=config)
    started = time.perf_counter()
    for line in lines:
        miner.add_log_message(line)
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed, "templates": len(miner.drain.clusters), "peak_mb": peak_mb(),
        "start_mb": before,
    }  # fmt: skip


def _child(target: Callable[..., dict[str, Any]], lines: list[str], batch: int, pipe: Any) -> None:
    pipe.send(target(lines, batch))


def in_process(target: Callable[..., dict[str, Any]], lines: list[str], batch: int) -> Any:
    """`target(lines, batch)` in a forked process, so that each side's peak memory is its own:
    `start_mb` is the resident memory as it starts (the lines included, shared with this
    process), `peak_mb` its peak."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(target, lines, batch, send))
    process.start()
    result = receive.recv()
    process.join()
    return result


def speed(data: Path, count: int, batch: int, json_path: str | None) -> None:
    started = time.perf_counter()
    lines = speed_lines(data, count)
    print(f"{count:,} lines (mean {sum(map(len, lines)) / max(1, count):.0f} characters) built "
          f"in {time.perf_counter() - started:.1f} s; "
          f"NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}")  # fmt: skip
    ours = in_process(run_ours, lines, batch)
    ours_rate = count / ours["seconds"]
    print(f"ours    {ours_rate:12,.0f} lines/s  {ours['seconds']:8.2f} s  "
          f"{ours['templates']:>6} templates  peak {ours['peak_mb']:.0f} MB "
          f"(from {ours['start_mb']:.0f} MB)  numba threads {ours['numba_threads']}")  # fmt: skip
    theirs = in_process(run_drain3, lines, batch)
    theirs_rate = count / theirs["seconds"]
    print(f"drain3  {theirs_rate:12,.0f} lines/s  {theirs['seconds']:8.2f} s  "
          f"{theirs['templates']:>6} templates  peak {theirs['peak_mb']:.0f} MB "
          f"(from {theirs['start_mb']:.0f} MB)")  # fmt: skip
    ratio = ours_rate / theirs_rate
    print(f"speedup {ratio:.1f}x")
    if json_path:
        figures = {
            "lines": count, "lines_per_s": ours_rate, "drain3_lines_per_s": theirs_rate,
            "speedup_vs_drain3": ratio, "peak_mb": ours["peak_mb"],
            "drain3_peak_mb": theirs["peak_mb"], "start_mb": ours["start_mb"],
            "drain3_start_mb": theirs["start_mb"], "templates": ours["templates"],
            "drain3_templates": theirs["templates"], "numba_threads": ours["numba_threads"],
        }  # fmt: skip
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n")


# --- synthetic formats ------------------------------------------------------------------------


def synthetic(seeds: int) -> None:
    repo = str(Path(__file__).resolve().parents[1])
    if repo not in sys.path:  # run as bench/logparse.py: tests.logs.formats
        sys.path.insert(0, repo)
    from tests.logs import formats

    print(f"{'format':<10}" + "".join(f"  seed {s}" for s in range(seeds)) + "    mean")
    means = []
    for fmt in formats.FORMATS:
        scores = []
        for seed in range(seeds):
            lines, truth = formats.generate(fmt, seed=seed)
            ids, _ = mine(lines, BATCH)
            scores.append(formats.grouping_accuracy(truth, ids.tolist()))
        means.append(sum(scores) / seeds)
        print(f"{fmt.name:<10}" + "".join(f"  {g:6.3f}" for g in scores) + f"  {means[-1]:6.3f}")
    print(f"{'mean':<10}" + " " * 8 * seeds + f"  {sum(means) / len(means):6.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="Loghub-2k folder")
    parser.add_argument("--out", type=Path, help="where the predictions go (quality)")
    parser.add_argument("--input", choices=("raw", "content"), default="raw")
    parser.add_argument("--batch", type=int, default=BATCH, help="lines per learn() call")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines for --speed")
    parser.add_argument("--quick", action="store_true", help="--speed on 100,000 lines")
    parser.add_argument("--json", help="write the speed figures here")
    parser.add_argument("--synthetic", action="store_true", help="GA on synthetic formats")
    parser.add_argument("--seeds", type=int, default=5, help="seeds for --synthetic")
    args = parser.parse_args(argv)
    if args.synthetic:
        synthetic(max(1, args.seeds))
        return 0
    if args.data is None:
        parser.error("give --data DIR (or --synthetic)")
    if not systems(args.data):
        parser.error(f"no <S>/<S>_2k.log in {args.data}")
    if args.speed:
        speed(args.data, 100_000 if args.quick else args.lines, args.batch, args.json)
    elif args.out:
        quality(args.data, args.out, args.input, args.batch)
    else:
        parser.error("give --out DIR (quality) or --speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
