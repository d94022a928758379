"""The UI's charts against their speed targets, in a real Chromium against the real stack: a
chart of 100,000 points drawn, 50 live charts' frames, and a 10,000-series detector's page
opened; each beside a reference measured in the same run.

    .venv/bin/python bench/charts.py [--parts 1,2,3] [--quick] [--json PATH]

Needs the UI built (`npm run build --workspace web`), Chromium (`--chromium`, default
/usr/bin/chromium, driven headless by playwright at 1280x720 like bench/ui.py) and Debian's
`prometheus` and `promtool`. Each part starts its own stack and stops it after:
- Prometheus (tests/prometheus.py) holding the part's history, written as OpenMetrics and
  loaded by promtool. The detectors query it through `offset` (`bench_x offset 10800s`): the
  history lies three hours back, in blocks, and each step of a running detector reads the next
  stored sample, so a detector scores real points from Prometheus every step without an
  exporter scraped in real time. Values: a sine over an hour plus noise, a few spikes.
- the real server, a child process of this file (`--serve`): `start_app` as `aiops serve` builds
  it, its Envoy serving the built UI (web/dist) and grpc-web on one origin (free ports), SQLite
  in a temporary directory, detectors running; the part's settings (`recent_points`,
  `backfill_points`). The driver creates the data source and a detector (the ensemble, a one
  hour season) through the API and starts it; the server backfills it as it would any.
- this driver: Chromium on the detector's page, `/#/detectors/{id}`. Nothing in web/src is
  changed for the measurements: a script added before the app starts notes, in page time
  (`performance.now()`, 0 at the navigation), when each grpc-web call is sent and when the
  last bytes of its answer are in the page (its fetch's body passed through a reader), and a
  MutationObserver notes when each chart's `data-points` (set by TimeChart right after
  uPlot's setData; uPlot draws in a microtask queued before the observer's) reaches a count,
  and when the frame after it has been painted (a message posted from the observer's callback
  runs once that frame's rendering is done).

(1) Render: one series, `recent_points` and `backfill_points` 100,000 at a 1 s step, so the
detector keeps 100,000 points; the detector is stopped once backfilled, so nothing else moves.
The page is loaded N times (5; --quick 2); ours is the time from the last bytes of the
ReadDetectorScores answer (4 MB) being in the page to the frame painted with data-points =
100,000: decoding the answer, filling the ChartBuffer, the anomaly markers, the wait for the
next animation frame (the chart redraws once per frame), uPlot's setData and draw. Reference,
in the same page after each load: bare uPlot (node_modules/uplot/dist/uPlot.iife.min.js, added
to the page) with the same options as TimeChart (the same five series, band, score axis,
legend, markers, width and height) given the same 100,000 points (read over gRPC by the
driver, already in uPlot's arrays), timed from its setData in an animation frame to the frame
painted; its first run in each page is cold (its code not yet compiled, as ours is on a fresh
load), then 3 warm runs.

(2) Frames: 50 series at a 1 s step (defaults: `recent_points` 360, `backfill_points` 360), each
scored every second, so SCORES events bring a point a second to each chart. On the detector's
page the 4 top series are charted by default; the driver ticks the other 46 in the picker.
Each phase records the interval between animation frames (requestAnimationFrame, vsync
aligned: 16.7 ms; a missed vsync shows as 33.3 ms), long tasks and long animation frames
(> 50 ms), how many chart redraws happened (changes of `data-points`), and the main thread's
busy time (the CDP Performance domain's TaskDuration, ScriptDuration, layout and style).
Phases, in this order: `4 live`, `50 live` (at 1280x720, scrolled to the charts: 3 are in
view; TimeChart does not redraw a chart out of view until it comes into view), `50 live, all on
screen` (a viewport tall enough for all 50 charts), then the detector is stopped: `50 stopped,
all on screen` and `50 stopped` (the reference: the same page with nothing arriving).

(3) Open: 10,000 series at a 15 s step, `backfill_points` 240 (the last hour), `recent_points`
360 (the default). Two ways, each N times (5; --quick 2), medians: a fresh tab (a new page in
one browser context, so the bundle comes from its HTTP cache as for someone who has used the
UI; one unmeasured open first) navigates to the detector's page, timed from the navigation's
start; and a tab already on the detectors' list (the app loaded, its stream live) clicks the
detector's link, timed from the click event. Ours is the time to the series picker painted and
to the charts of the 4 default series painted with the last hour (data-points >= 240); for the
fresh tab that includes the HTML, the bundle and the first render (the page's calls start on the
route's mount, beside the app's own: its Subscribe stream, its lists), for both
ListDetectorSeries over the 10,000 series and the charts' points: one ReadDetectorScores of the
top 4 series (page_size 4) beside it. Reference, between the opens: the same calls made bare
over gRPC from Python (ListDetectorSeries and the ReadDetectorScores of the top 4 at once, as
the page makes them; and, as the page made them before, ListDetectorSeries then a
ReadDetectorScores per series on its exact labels), 3 times per open; the page's own calls
through Envoy are timed too.

Headless Chromium here has no GPU: it rasterises and composites in software on the same two
cores as the server, Envoy and Prometheus. Each part reports the CPU its processes took and
what other processes on the machine took meanwhile (bench/ui.py's CpuWindow). `--profile DIR`
writes the page's V8 CPU profile of one more load in (1), of the `50 live` phase in (2) and of
one more fresh tab in (3) (bench/ui.py's Profiler; `--ui-dir` on an unminified build keeps the
names).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as bench/charts.py: bench.ui and tests.prometheus
    sys.path.insert(0, str(REPO))

from bench import ui  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.prometheus import PrometheusServer

UPLOT_JS = REPO / "node_modules" / "uplot" / "dist" / "uPlot.iife.min.js"
VIEWPORT = ui.VIEWPORT
# The history lies this far back; the detectors read it through `offset`.
OFFSET = 3 * 3600
PERIOD = 3600  # the ensemble's season
RENDER_POINTS = 100_000
RENDER_TARGET_MS = 300.0
LIVE_SERIES = 50
LIVE_POINTS = 360
FRAME_TARGET_MS = ui.VSYNC_MS  # "frames under 16 ms": every frame in its vsync
OPEN_SERIES = 10_000
OPEN_STEP = 15
OPEN_POINTS = 240  # an hour at 15 s
OPEN_SHOWN = 4  # charts the page shows by default (seriesData.ts DEFAULT_SHOWN)
OPEN_TARGET_MS = 500.0
LISTED = 50  # series the picker lists (seriesData.ts SERIES_LIST_SIZE)


# The server process.


def serve(settings: dict[str, Any], database: Path, ui_dir: Path) -> None:
    from aiops.store.database import migrate

    url = f"sqlite+aiosqlite:///{database}"
    migrate(url)
    asyncio.run(_serve(url, ui_dir, settings))


async def _serve(url: str, ui_dir: Path, overrides: dict[str, Any]) -> None:
    from aiops.app import start_app
    from aiops.config import Settings

    app = await start_app(
        Settings(
            grpc_address="127.0.0.1:0",
            http_address="127.0.0.1:0",
            database_url=url,
            run_detectors=True,
            envoy=True,
            ui_dir=str(ui_dir),
            **overrides,
        )
    )
    loop = asyncio.get_running_loop()
    try:
        ui._say({"grpc": app.address, "http": str(app.http_url).rstrip("/")})
        await loop.run_in_executor(None, sys.stdin.read)  # until the driver closes it
    finally:
        await app.stop(grace=None)


class Child(ui.Child):
    """A process of this file (bench/ui.py's Child runs that file)."""

    def __init__(self, *args: str, log: IO[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.role = args[0]


class CpuWindow(ui.CpuWindow):
    """bench/ui.py's, which counts a process that ended meanwhile as someone else's; this one
    counts what `note()` last saw of it as ours (the renderer of a tab closed since)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[int, float] = {}

    def note(self) -> None:
        self.seen.update(ui._cpu_by_process())

    def figures(self) -> dict[str, float]:
        seconds = time.monotonic() - self.began
        busy = ui._machine_busy() - self.busy
        last = {**self.seen, **ui._cpu_by_process()}
        ours = sum(t - self.ours.get(pid, 0.0) for pid, t in last.items())
        return {
            "ours_cpu_percent": round(100 * ours / seconds),
            "others_cpu_percent": round(100 * max(0.0, busy - ours) / seconds),
        }


# Prometheus' history.


def signal(series: int, points: int, start: int, step: int, seed: int) -> np.ndarray:
    """[series, points]: 100 + a sine over an hour (each series its own phase) + noise, and a
    spike of +20 every 5,000 points or so."""
    rng = np.random.default_rng(seed)
    times = start + step * np.arange(points)
    phases = rng.uniform(0, 2 * np.pi, (series, 1))
    values = 100 + 10 * np.sin(2 * np.pi * times / 3600 + phases)
    values += rng.normal(0, 1, (series, points))
    spikes = rng.random((series, points)) < 1 / 5000
    values[spikes] += 20
    return np.asarray(values.round(3))


def openmetrics(metric: str, labels: list[str], start: int, step: int, values: np.ndarray) -> str:
    """OpenMetrics text of `values` [series, time] for promtool; `labels[i]` is series i's label
    set as written between the braces."""
    times = [str(start + step * k) for k in range(values.shape[1])]
    lines = [f"# TYPE {metric} gauge"]
    for label_set, row in zip(labels, values.tolist(), strict=True):
        head = f"{metric}{{{label_set}}} "
        lines += [f"{head}{v} {t}" for v, t in zip(row, times, strict=True)]
    return "\n".join([*lines, "# EOF", ""])


def history(metric: str, labels: list[str], step: int, before: int, after: int) -> str:
    """The series' samples, `step` apart, from `before` steps before now to `after` steps after
    it, all OFFSET seconds back: what `metric offset OFFSET` reads from now on."""
    now = int(time.time()) // step * step
    start = now - OFFSET - before * step
    values = signal(len(labels), before + after, start, step, seed=len(labels))
    return openmetrics(metric, labels, start, step, values)


# The stack of one part.


@dataclass
class Stack:
    prometheus: PrometheusServer
    server: Child
    grpc: str
    http: str
    channel: Any
    detectors: Any
    sources: Any


@contextlib.contextmanager
def stack(
    name: str, om: str, settings: dict[str, Any], args: argparse.Namespace, scratch: Path
) -> Iterator[Stack]:
    import grpc

    from aiops_api.v1 import data_source_service_pb2_grpc, detector_service_pb2_grpc
    from tests.prometheus import PrometheusServer

    began = time.monotonic()
    prometheus = PrometheusServer(om)
    loaded = time.monotonic() - began
    log = (scratch / f"{name}.log").open("w")
    server: Child | None = None
    channel = None
    try:
        server = Child(
            "--serve",
            "--settings",
            json.dumps(settings),
            "--database",
            str(scratch / f"{name}.db"),
            "--ui-dir",
            str(args.ui_dir.resolve()),
            log=log,
        )
        urls = server.hear(300)
        print(f"  Prometheus loaded in {loaded:.1f} s; server up at {urls['http']}", flush=True)
        # (1)'s answer is 4 MB, about gRPC's default limit of 4 MiB
        channel = grpc.insecure_channel(
            urls["grpc"], options=[("grpc.max_receive_message_length", 64 * 2**20)]
        )
        yield Stack(
            prometheus,
            server,
            urls["grpc"],
            urls["http"],
            channel,
            detector_service_pb2_grpc.DetectorServiceStub(channel),  # type: ignore[no-untyped-call]
            data_source_service_pb2_grpc.DataSourceServiceStub(channel),  # type: ignore[no-untyped-call]
        )
    except BaseException:
        log.flush()
        sys.stderr.write((scratch / f"{name}.log").read_text()[-5000:])
        raise
    finally:
        if channel is not None:
            channel.close()
        if server is not None:
            server.stop()
        log.close()
        prometheus.stop()


def start_detector(s: Stack, detector_id: str, query: str, step: int, series: int) -> str:
    """Creates the data source and the detector over `query` and starts it; returns its name
    once it is RUNNING with all `series` in its recent points (its backfill learnt)."""
    from aiops_api.v1 import (
        data_source_pb2,
        data_source_service_pb2,
        detector_pb2,
        detector_service_pb2,
    )

    s.sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source_id="bench",
            data_source=data_source_pb2.DataSource(
                kind=data_source_pb2.DataSource.KIND_PROMETHEUS, urls=[s.prometheus.url]
            ),
        )
    )
    spec = detector_pb2.Detector(
        data_source="dataSources/bench", query=query, step={"seconds": step}
    )
    spec.ensemble.period.seconds = PERIOD
    created = s.detectors.CreateDetector(
        detector_service_pb2.CreateDetectorRequest(detector_id=detector_id, detector=spec)
    )
    name = str(created.name)
    began = time.monotonic()
    s.detectors.StartDetector(detector_service_pb2.StartDetectorRequest(name=name))
    while True:
        got = s.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
        if got.state == detector_pb2.Detector.STATE_RUNNING:
            listed = s.detectors.ListDetectorSeries(
                detector_service_pb2.ListDetectorSeriesRequest(parent=name, page_size=1)
            )
            if listed.total_size >= series:
                break
        elif got.state == detector_pb2.Detector.STATE_FAILED:
            raise RuntimeError(f"{name} failed: {got.state_reason}")
        if time.monotonic() - began > 600:
            raise RuntimeError(f"{name} not running after 600 s")
        time.sleep(0.25)
    print(f"  {name} running, backfilled in {time.monotonic() - began:.1f} s", flush=True)
    return name


def stop_detector(s: Stack, name: str) -> None:
    from aiops_api.v1 import detector_pb2, detector_service_pb2

    s.detectors.StopDetector(detector_service_pb2.StopDetectorRequest(name=name))
    while (
        s.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name)).state
        != detector_pb2.Detector.STATE_STOPPED
    ):
        time.sleep(0.1)


def exact_selector(labels: dict[str, str]) -> str:
    """The UI's key of a series (seriesData.ts exactSelector): its labels, sorted, exactly."""

    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ", ".join(f'{k}="{escape(labels[k])}"' for k in sorted(labels)) + "}"


# The page's instruments.

# Before the app runs: the grpc-web calls' times, and each chart's `data-points` reaching
# `config.points` (the DOM, then the frame painted), the picker listed; times in ms since the
# navigation. `config` comes before this text (`window.__chartsConfig = {...};`).
INIT_JS = """
(() => {
  const config = window.__chartsConfig;
  const now = () => performance.now();
  const state = {
    calls: [], charts: {}, redraws: 0, listed: null, listedPainted: null, clicked: null,
  };
  window.__charts = state;
  // When people clicked last (the event's time), for an open from the detectors' list.
  document.addEventListener("click", (event) => { state.clicked = event.timeStamp; }, true);
  const afterPaint = (note) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      note(now());
      channel.port1.close();
    };
    channel.port2.postMessage(0);
  };

  const fetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : (input.url ?? String(input));
    const call = { method: url.split("/").pop(), sent: now(), headers: null, last: null, bytes: 0 };
    state.calls.push(call);
    const response = await fetch(input, init);
    call.headers = now();
    if (call.method === "Subscribe" || response.body === null) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        call.bytes += value.byteLength;
        call.last = now();
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };

  const PICKER = '[aria-label^="Series of "] li';
  const attributes = { subtree: true, attributes: true, attributeFilter: ["data-points"] };
  const observer = new MutationObserver((records) => {
    const t = now();
    let added = false;
    for (const record of records) {
      if (record.type === "childList") {
        added = true;
        continue;
      }
      state.redraws++;
      const el = record.target;
      const name = el.getAttribute("aria-label");
      const points = Number(el.getAttribute("data-points"));
      const chart = (state.charts[name] ??= { points: 0, drawn: null, painted: null });
      chart.points = points;
      if (chart.drawn === null && points >= config.points) {
        chart.drawn = t;
        afterPaint((p) => {
          chart.painted = p;
        });
      }
    }
    if (added && state.listed === null && document.querySelector(PICKER) !== null) {
      state.listed = t;
      afterPaint((p) => {
        state.listedPainted = p;
      });
      // From here on only the charts' counts: the legends change text every redraw.
      observer.disconnect();
      observer.observe(document, attributes);
    }
  });
  observer.observe(document, { ...attributes, childList: true });
})();
"""

# Whether `count` charts have been painted with their points (and the picker listed).
READY_JS = """
(count) => {
  const state = window.__charts;
  if (state === undefined || state.listedPainted === null) return false;
  return Object.values(state.charts).filter((c) => c.painted !== null).length >= count;
}
"""

# Bare uPlot beside ours: the same options as TimeChart.tsx builds for SeriesChart (five series
# in the same order, the band, the score axis, the legend, the marker hook, height 180, the
# same width), the same points in uPlot's arrays. Each run: setData in an animation frame, then
# the frame painted after uPlot drew (a draw hook posts a message, as the observer does for
# ours). The first run is cold (this uPlot's code not compiled yet).
REFERENCE_JS = """
async ({ columns, start, step, runs, warning, critical }) => {
  const decode = (text) => {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new Float64Array(bytes.buffer);
  };
  const fields = ["value", "score", "expected", "lower", "upper"].map((f) => decode(columns[f]));
  const n = fields[0].length;
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = start + i * step;
  const ys = fields.map((column) => Array.from(column, (v) => (Number.isNaN(v) ? null : v)));
  const [value, score, expected, lower, upper] = ys;
  const data = [xs, upper, lower, value, expected, score];
  const empty = [new Float64Array(0), [], [], [], [], []];

  const ours = document.querySelector("figure[data-points]");
  const root = getComputedStyle(document.documentElement);
  const read = (name, fallback) => root.getPropertyValue(name).trim() || fallback;
  const colors = {
    value: read("--chart-value", "#2857c5"),
    expected: read("--chart-expected", "#6b7480"),
    band: read("--chart-band", "rgba(107, 116, 128, 0.18)"),
    score: read("--chart-score", "rgb(142 68 173 / 60%)"),
    warning: read("--chart-warning", "#e8a400"),
    critical: read("--chart-critical", "#d93025"),
  };
  const figureStyle = getComputedStyle(ours);
  const axisColor = figureStyle.getPropertyValue("--muted").trim() || "#5b6470";
  const gridColor = figureStyle.getPropertyValue("--border").trim() || "#d5d9e0";
  const markers = [];
  for (let i = 0; i < n; i++) {
    const s = fields[1][i], v = fields[0][i];
    if (s >= warning && !Number.isNaN(v)) {
      const color = s >= critical ? colors.critical : colors.warning;
      markers.push({ time: xs[i], value: v, color });
    }
  }

  const figure = document.createElement("figure");
  figure.className = "time-chart";
  const host = document.createElement("div");
  host.className = "time-chart-plot";
  figure.append(host);
  const box = document.createElement("div");
  box.className = "series-chart";
  box.append(figure);
  ours.closest(".series-chart").after(box);

  const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });
  const time = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  const format = (_, raw) =>
    raw === null || raw === undefined || Number.isNaN(raw) ? "-" : number.format(raw);
  const axis = (options) => ({
    stroke: axisColor,
    grid: { stroke: gridColor, width: 1 },
    ticks: { stroke: gridColor, width: 1 },
    ...options,
  });
  let drawn = null;
  const hidden = { show: false };
  const edge = { scale: "y", stroke: colors.band, width: 0, points: hidden, value: format };
  const line = { scale: "y", points: hidden, spanGaps: false, value: format };
  const tenths = (_, splits) => splits.map((v) => v.toFixed(1));
  const options = {
    width: Math.max(200, host.clientWidth || 600),
    height: 180,
    series: [
      { label: "Time", value: (_, raw) => (raw == null ? "-" : time.format(raw * 1000)) },
      { ...edge, label: "Expected band high" },
      { ...edge, label: "Expected band low" },
      { ...line, label: "Value", stroke: colors.value, width: 1.5 },
      { ...line, label: "Expected", stroke: colors.expected, width: 1, dash: [5, 4] },
      { ...line, label: "Score", scale: "score", stroke: colors.score, width: 1 },
    ],
    bands: [{ series: [1, 2], fill: colors.band }],
    scales: {
      x: {
        time: true,
        range: (_, min, max) => {
          if (min === null || max === null) return [Date.now() / 1000 - 3600, Date.now() / 1000];
          return min === max ? [min - 60, max + 60] : [min, max];
        },
      },
      y: {
        auto: true,
        range: (_, min, max) => {
          if (min === null || max === null) return [0, 1];
          if (min === max) {
            const pad = Math.max(1, Math.abs(min) * 0.1);
            return [min >= 0 && min - pad < 0 ? 0 : min - pad, max + pad];
          }
          return uPlot.rangeNum(min, max, 0.1, true);
        },
      },
      score: { auto: false, range: [0, 1] },
    },
    axes: [
      axis({ space: 80 }),
      axis({ scale: "y", size: 56 }),
      axis({ scale: "score", side: 1, size: 40, grid: { show: false }, values: tenths }),
    ],
    cursor: { y: false, points: { size: 6 } },
    legend: { show: true, live: true },
    hooks: {
      draw: [
        (u) => {
          const { ctx, bbox } = u;
          const radius = 4 * devicePixelRatio;
          ctx.save();
          for (const marker of markers) {
            const x = u.valToPos(marker.time, "x", true);
            const y = u.valToPos(marker.value, "y", true);
            if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
            if (x < bbox.left || x > bbox.left + bbox.width) continue;
            if (y < bbox.top || y > bbox.top + bbox.height) continue;
            ctx.beginPath();
            ctx.fillStyle = marker.color;
            ctx.arc(x, y, radius, 0, 2 * Math.PI);
            ctx.fill();
          }
          ctx.restore();
          if (drawn !== null) drawn(performance.now());
        },
      ],
    },
  };
  const plot = new uPlot(options, empty, host);
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const results = [];
  for (let run = 0; run < runs; run++) {
    drawn = null;
    plot.setData(empty);
    await frame();
    await frame();
    results.push(
      await new Promise((resolve) =>
        requestAnimationFrame(() => {
          const t0 = performance.now();
          drawn = (t) => {
            drawn = null;
            const channel = new MessageChannel();
            channel.port1.onmessage = () => {
              channel.port1.close();
              resolve({ drawn: t - t0, painted: performance.now() - t0 });
            };
            channel.port2.postMessage(0);
          };
          plot.setData(data);
          plot.setLegend({ idx: n - 1 }, false);
        }),
      ),
    );
  }
  const width = plot.width;
  plot.destroy();
  box.remove();
  return { results, width, points: n, markers: markers.length };
}
"""

# One phase of (2): frame intervals, long tasks, long animation frames, redraws.
FRAMES_JS = """
async ({ ms }) => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const longTasks = [], loafs = [];
  const tasks = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longTasks.push(entry.duration);
  });
  tasks.observe({ type: "longtask" });
  const frames_ = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) loafs.push(entry.duration);
  });
  frames_.observe({ type: "long-animation-frame" });
  const redraws = window.__charts.redraws;
  const frames = [];
  const t0 = await frame();
  let last = t0;
  while (last - t0 < ms) {
    const t = await frame();
    frames.push(t - last);
    last = t;
  }
  for (const entry of tasks.takeRecords()) longTasks.push(entry.duration);
  for (const entry of frames_.takeRecords()) loafs.push(entry.duration);
  tasks.disconnect();
  frames_.disconnect();
  return { frames, longTasks, loafs, redraws: window.__charts.redraws - redraws };
}
"""

# How many charts there are, and how many are in view (inside the viewport and the panel).
IN_VIEW_JS = """
() => {
  const panel = document.querySelector("aside").getBoundingClientRect();
  let shown = 0, total = 0;
  for (const figure of document.querySelectorAll("figure[data-points]")) {
    total++;
    const r = figure.getBoundingClientRect();
    const top = Math.max(r.top, panel.top, 0);
    const bottom = Math.min(r.bottom, panel.bottom, innerHeight);
    if (bottom > top) shown++;
  }
  return { total, shown };
}
"""


def new_page(browser: Browser, points: int) -> Page:
    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
    page.add_init_script(f"window.__chartsConfig = {json.dumps({'points': points})};{INIT_JS}")
    return page


def ms(value: float) -> float:
    return round(value, 1)


def median(values: list[float]) -> float:
    return ms(statistics.median(values)) if values else float("nan")


# (1) Render.


def render(args: argparse.Namespace, scratch: Path, browser: Browser) -> dict[str, Any]:
    from aiops_api.v1 import detector_service_pb2

    print("(1) a chart of 100,000 points", flush=True)
    om = history("bench_chart", ['instance="web-0"'], 1, RENDER_POINTS + 600, 900)
    settings = {"recent_points": RENDER_POINTS, "backfill_points": RENDER_POINTS}
    with stack("render", om, settings, args, scratch) as s:
        name = start_detector(s, "render", f"bench_chart offset {OFFSET}s", 1, 1)
        stop_detector(s, name)
        kept = s.detectors.ReadDetectorScores(
            detector_service_pb2.ReadDetectorScoresRequest(detector=name)
        )
        [series] = kept.series
        columns = {
            field: base64.b64encode(np.asarray(getattr(series, plural), float).tobytes()).decode()
            for field, plural in [
                ("value", "values"),
                ("score", "scores"),
                ("expected", "expected"),
                ("lower", "lower"),
                ("upper", "upper"),
            ]
        }
        points = len(series.values)
        print(f"  {points:,} points kept; {args.loads} loads of the page", flush=True)
        reference = {
            "columns": columns,
            "start": series.start_time.seconds,
            "step": kept.step.seconds,
            "runs": 4,
            "warning": 0.95,
            "critical": 0.99,
        }
        page = new_page(browser, points)
        loads: list[dict[str, Any]] = []
        bare: list[dict[str, Any]] = []
        window = CpuWindow()
        for k in range(args.loads):
            if k == 0:
                page.goto(f"{s.http}/#/{name}")
            else:
                page.reload()
            page.wait_for_function(READY_JS, arg=1, timeout=120_000, polling=100)
            loads.append(page.evaluate("() => window.__charts"))
            page.add_script_tag(path=str(UPLOT_JS))
            bare.append(page.evaluate(REFERENCE_JS, reference))
        cpu = window.figures()
        profiled = None
        if args.profile is not None:
            profiler = ui.Profiler(page, args.profile / "render.cpuprofile")
            page.reload()
            page.wait_for_function(READY_JS, arg=1, timeout=120_000, polling=100)
            profiled = profiler.stop(1, "load")
        page.close()

    ours, server_ms, wait_ms, answer_bytes = [], [], [], []
    drawn = []
    for load in loads:
        [chart] = [c for c in load["charts"].values() if c["painted"] is not None]
        reads = [c for c in load["calls"] if c["method"] == "ReadDetectorScores"]
        read = max(reads, key=lambda c: c["bytes"])
        ours.append(chart["painted"] - read["last"])
        drawn.append(chart["drawn"] - read["last"])
        server_ms.append(read["headers"] - read["sent"])
        wait_ms.append(read["last"] - read["sent"])
        answer_bytes.append(read["bytes"])
    cold = [b["results"][0]["painted"] for b in bare]
    warm = [r["painted"] for b in bare for r in b["results"][1:]]
    figures: dict[str, Any] = {
        "points": points,
        "markers": bare[0]["markers"],
        "width_px": bare[0]["width"],
        "loads": len(loads),
        "answer_bytes": answer_bytes[0],
        "read_first_byte_ms": median(server_ms),
        "read_all_bytes_ms": median(wait_ms),
        "ours_drawn_ms": median(drawn),
        "ours_ms": median(ours),
        "ours_ms_all": [ms(v) for v in ours],
        "bare_cold_drawn_ms": median([b["results"][0]["drawn"] for b in bare]),
        "bare_cold_ms": median(cold),
        "bare_cold_ms_all": [ms(v) for v in cold],
        "bare_warm_ms": median(warm),
        **cpu,
    }
    figures["ratio_cold"] = round(figures["ours_ms"] / figures["bare_cold_ms"], 2)
    figures["ratio_warm"] = round(figures["ours_ms"] / figures["bare_warm_ms"], 2)
    figures["met"] = figures["ours_ms"] < RENDER_TARGET_MS
    if profiled is not None:
        figures["profile"] = profiled
    return figures


# (2) Frames.


def frames(args: argparse.Namespace, scratch: Path, browser: Browser) -> dict[str, Any]:
    print("(2) 50 live charts", flush=True)
    labels = [f'instance="web-{i:02d}"' for i in range(LIVE_SERIES)]
    om = history("bench_live", labels, 1, LIVE_POINTS + 600, 1800)
    settings = {"recent_points": LIVE_POINTS, "backfill_points": LIVE_POINTS}
    figures: dict[str, Any] = {"phase_seconds": args.phase_seconds}
    with stack("frames", om, settings, args, scratch) as s:
        name = start_detector(s, "live", f"bench_live offset {OFFSET}s", 1, LIVE_SERIES)
        page = new_page(browser, LIVE_POINTS - 60)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(f"{s.http}/#/{name}")
        page.wait_for_function(READY_JS, arg=4, timeout=60_000, polling=100)
        series = page.get_by_role("region", name="Series")
        series.get_by_role("status").filter(has_text="Live").wait_for(timeout=30_000)

        def scroll_to_charts() -> None:
            page.evaluate(
                "() => document.querySelector('figure[data-points]').scrollIntoView({block:"
                " 'start'})"
            )

        def phase(label: str, profile: Path | None = None) -> None:
            page.wait_for_timeout(1000)
            view = page.evaluate(IN_VIEW_JS)
            before = _metrics(cdp)
            window = CpuWindow()
            profiler = ui.Profiler(page, profile) if profile is not None else None
            measured = page.evaluate(FRAMES_JS, {"ms": args.phase_seconds * 1000})
            profiled = profiler.stop(args.phase_seconds, "second") if profiler else None
            figures[label] = {
                **_frame_figures(measured, view, _metrics(cdp), before, args.phase_seconds),
                **window.figures(),
            }
            if profiled is not None:
                figures[label]["profile"] = profiled
            print(f"  {label}: {_frame_line(figures[label])}", flush=True)

        scroll_to_charts()
        phase("4 live")
        picker = page.get_by_role("list", name=f"Series of {name}")
        unchecked = picker.locator("input[type=checkbox]:not(:checked)")
        began = time.monotonic()
        while unchecked.count() > 0:
            unchecked.first.check()
        page.wait_for_function(READY_JS, arg=LIVE_SERIES, timeout=60_000, polling=100)
        figures["tick_46_s"] = round(time.monotonic() - began, 1)
        scroll_to_charts()
        phase("50 live", args.profile / "frames.cpuprofile" if args.profile else None)
        tall = page.evaluate("() => document.querySelector('aside').scrollHeight") + 200
        page.set_viewport_size({"width": VIEWPORT["width"], "height": tall})
        figures["tall_viewport_px"] = tall
        phase("50 live, all on screen")
        stop_detector(s, name)
        page.get_by_text("is not running").wait_for(timeout=30_000)
        phase("50 stopped, all on screen")
        page.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
        scroll_to_charts()
        phase("50 stopped")
        page.close()
    return figures


def _metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def _frame_figures(
    measured: dict[str, Any],
    view: dict[str, int],
    after: dict[str, float],
    before: dict[str, float],
    seconds: float,
) -> dict[str, Any]:
    deltas = np.asarray(measured["frames"])
    busy = {
        key: round((after[name] - before[name]) * 1000 / seconds, 1)
        for key, name in [
            ("main_busy_ms_per_s", "TaskDuration"),
            ("script_ms_per_s", "ScriptDuration"),
            ("layout_ms_per_s", "LayoutDuration"),
            ("style_ms_per_s", "RecalcStyleDuration"),
        ]
    }
    loafs = measured["loafs"]
    return {
        "charts": view["total"],
        "charts_in_view": view["shown"],
        "redraws_per_s": round(measured["redraws"] / seconds, 1),
        "frames": len(deltas),
        "fps": round(len(deltas) / (float(deltas.sum()) / 1000), 1),
        "frame_ms_p50": ms(float(np.percentile(deltas, 50))),
        "frame_ms_p95": ms(float(np.percentile(deltas, 95))),
        "frame_ms_p99": ms(float(np.percentile(deltas, 99))),
        "frame_ms_max": ms(float(deltas.max())),
        "frames_over_16_7ms": int((deltas > ui.MISSED_MS).sum()),
        "share_over_16_7ms": round(float((deltas > ui.MISSED_MS).mean()), 3),
        "dropped": int(np.maximum(np.round(deltas / ui.VSYNC_MS) - 1, 0).sum()),
        "long_tasks": len(measured["longTasks"]),
        "long_task_ms_max": round(float(max(measured["longTasks"], default=0.0))),
        "long_animation_frames": len(loafs),
        "long_animation_frame_ms_max": round(float(max(loafs, default=0.0))),
        **busy,
    }


def _frame_line(p: dict[str, Any]) -> str:
    return (
        f"{p['charts']} charts ({p['charts_in_view']} in view), {p['redraws_per_s']} redraws/s: "
        f"{p['fps']} fps, frame ms p50 {p['frame_ms_p50']} p95 {p['frame_ms_p95']} p99 "
        f"{p['frame_ms_p99']} max {p['frame_ms_max']}, {p['frames_over_16_7ms']} of "
        f"{p['frames']} over 16.7 ms; main thread busy {p['main_busy_ms_per_s']} ms/s"
    )


# (3) Open.


def open_page(args: argparse.Namespace, scratch: Path, browser: Browser) -> dict[str, Any]:
    from aiops_api.v1 import detector_service_pb2

    print("(3) opening the page of a detector of 10,000 series", flush=True)
    labels = [f'instance="web-{i % 40}",route="/v1/items/{i:04d}"' for i in range(OPEN_SERIES)]
    om = history("bench_open", labels, OPEN_STEP, OPEN_POINTS + 40, 80)
    settings = {"backfill_points": OPEN_POINTS}
    with stack("open", om, settings, args, scratch) as s:
        name = start_detector(s, "open", f"bench_open offset {OFFSET}s", OPEN_STEP, OPEN_SERIES)

        def bare() -> tuple[float, float]:
            """The page's calls (ms): ListDetectorSeries and one ReadDetectorScores of the top
            series at once; and of it, ListDetectorSeries'."""
            began = time.perf_counter()
            listing = s.detectors.ListDetectorSeries.future(
                detector_service_pb2.ListDetectorSeriesRequest(parent=name, page_size=LISTED)
            )
            read = s.detectors.ReadDetectorScores.future(
                detector_service_pb2.ReadDetectorScoresRequest(detector=name, page_size=OPEN_SHOWN)
            )
            listing.result()
            listed_ms = (time.perf_counter() - began) * 1000
            answer = read.result()
            took = (time.perf_counter() - began) * 1000
            assert len(answer.series) == OPEN_SHOWN, "short read"
            assert all(len(a.values) >= OPEN_POINTS for a in answer.series), "short read"
            return took, listed_ms

        def bare_per_series() -> float:
            """The calls as the page made them before (ms): ListDetectorSeries, then a
            ReadDetectorScores per series on its exact labels, the 4 at once."""
            began = time.perf_counter()
            listed = s.detectors.ListDetectorSeries(
                detector_service_pb2.ListDetectorSeriesRequest(parent=name, page_size=LISTED)
            )
            reads = [
                s.detectors.ReadDetectorScores.future(
                    detector_service_pb2.ReadDetectorScoresRequest(
                        detector=name, filter=exact_selector(dict(item.labels)), page_size=10
                    )
                )
                for item in listed.series[:OPEN_SHOWN]
            ]
            answers = [read.result() for read in reads]
            took = (time.perf_counter() - began) * 1000
            assert all(len(a.series[0].values) >= OPEN_POINTS for a in answers), "short read"
            return took

        context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        context.add_init_script(
            f"window.__chartsConfig = {json.dumps({'points': OPEN_POINTS})};{INIT_JS}"
        )

        window = CpuWindow()

        def fresh_tab(profile: Path | None = None) -> dict[str, Any]:
            page = context.new_page()
            profiler = ui.Profiler(page, profile) if profile is not None else None
            page.goto(f"{s.http}/#/{name}")
            page.wait_for_function(READY_JS, arg=OPEN_SHOWN, timeout=60_000, polling=50)
            found: dict[str, Any] = page.evaluate(COLLECT_JS)
            if profiler is not None:
                found["profile"] = profiler.stop(1, "open")
            window.note()
            page.close()
            return found

        def in_app() -> dict[str, Any]:
            page = context.new_page()
            page.goto(f"{s.http}/#/detectors")
            link = page.locator(f'a[href="#/{name}"]')
            link.wait_for(timeout=30_000)
            page.wait_for_selector('[data-state="live"]', timeout=30_000)
            page.wait_for_timeout(500)
            link.click()
            page.wait_for_function(READY_JS, arg=OPEN_SHOWN, timeout=60_000, polling=50)
            found: dict[str, Any] = page.evaluate(COLLECT_JS)
            window.note()
            page.close()
            return found

        tabs: list[dict[str, Any]] = []
        clicks: list[dict[str, Any]] = []
        bares: list[tuple[float, float]] = []
        bares_per_series: list[float] = []
        fresh_tab()  # fills the HTTP cache
        window = CpuWindow()
        for _ in range(args.opens):
            tabs.append(_open_row(fresh_tab(), clicked=False))
            time.sleep(0.3)
            clicks.append(_open_row(in_app(), clicked=True))
            time.sleep(0.3)
            bares += [bare() for _ in range(3)]
            bares_per_series += [bare_per_series() for _ in range(3)]
            time.sleep(0.3)
        cpu = window.figures()
        profiled = None
        if args.profile is not None:
            profiled = fresh_tab(args.profile / "open.cpuprofile")["profile"]
        context.close()

    def medians(rows: list[dict[str, Any]]) -> dict[str, Any]:
        keys = [k for k in rows[0] if k not in ("points", "calls")]
        return {
            **{key: median([r[key] for r in rows]) for key in keys},
            "points": min(r["points"] for r in rows),
            "charts_painted_ms_all": [r["charts_painted_ms"] for r in rows],
            # One open's calls, where its time went: method, sent, headers, last bytes (ms).
            "calls_of_last_open": rows[-1]["calls"],
        }

    figures: dict[str, Any] = {
        "series": OPEN_SERIES,
        "opens": len(tabs),
        "fresh_tab": medians(tabs),
        "in_app": medians(clicks),
        "bare_grpc_ms": median([b[0] for b in bares]),
        "bare_grpc_ms_all": [ms(b[0]) for b in bares],
        "bare_list_ms": median([b[1] for b in bares]),
        "bare_per_series_ms": median(bares_per_series),
        **cpu,
    }
    for key in ("fresh_tab", "in_app"):
        part = figures[key]
        part["ratio"] = round(part["charts_painted_ms"] / figures["bare_grpc_ms"], 1)
        part["met"] = part["charts_painted_ms"] < OPEN_TARGET_MS
    if profiled is not None:
        figures["profile"] = profiled
    return figures


# What an open found: the instruments' notes, the navigation's and the resources' timing.
COLLECT_JS = """
() => ({
  charts: window.__charts,
  nav: performance.getEntriesByType("navigation")[0].toJSON(),
  resources: performance
    .getEntriesByType("resource")
    .filter((r) => r.initiatorType !== "fetch")
    .map((r) => r.toJSON()),
})
"""


def _open_row(found: dict[str, Any], clicked: bool) -> dict[str, Any]:
    """One open's times, ms since the navigation started (a fresh tab) or since the click on
    the detector's link in the list (`clicked`); only the calls made since."""
    state = found["charts"]
    t0 = state["clicked"] if clicked else 0.0
    calls = [c for c in state["calls"] if c["sent"] >= t0]

    def first(method: str) -> dict[str, Any]:
        return next(c for c in calls if c["method"] == method)

    painted = sorted(c["painted"] for c in state["charts"].values() if c["painted"] is not None)
    listing = first("ListDetectorSeries")
    # The charts' reads: those sent before the last of the default charts was painted.
    painted_last = painted[OPEN_SHOWN - 1]
    reads = [c for c in calls if c["method"] == "ReadDetectorScores" and c["sent"] < painted_last]
    row: dict[str, Any] = {}
    if not clicked:
        nav = found["nav"]
        scripts = [r["responseEnd"] for r in found["resources"] if r["name"].endswith(".js")]
        row = {
            "html_ms": ms(nav["responseEnd"]),
            "bundle_ms": ms(max(scripts)) if scripts else float("nan"),
            "app_first_call_ms": ms(min(c["sent"] for c in calls)),
            "list_detectors_answered_ms": ms(first("ListDetectors")["last"]),
        }
    return {
        **row,
        "series_listed_sent_ms": ms(listing["sent"] - t0),
        "series_listed_answered_ms": ms(listing["last"] - t0),
        "series_listed_call_ms": ms(listing["last"] - listing["sent"]),
        "picker_painted_ms": ms(state["listedPainted"] - t0),
        "reads": len(reads),
        "reads_sent_ms": ms(min(r["sent"] for r in reads) - t0),
        "reads_answered_ms": ms(max(r["last"] for r in reads) - t0),
        "reads_call_ms": ms(max(r["last"] for r in reads) - min(r["sent"] for r in reads)),
        "first_chart_painted_ms": ms(painted[0] - t0),
        "charts_painted_ms": ms(painted[OPEN_SHOWN - 1] - t0),
        "points": min(c["points"] for c in state["charts"].values()),
        "calls": [
            [
                c["method"],
                ms(c["sent"] - t0),
                ms((c["headers"] or t0) - t0),
                ms((c["last"] or t0) - t0),
                c["bytes"],
            ]
            for c in calls
        ],
    }


# The driver.


def measure(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    import os

    from playwright.sync_api import sync_playwright

    figures: dict[str, Any] = {**ui._build(args.ui_dir), "loadavg_before": os.getloadavg()[0]}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, headless=True, args=["--no-sandbox"]
        )
        figures["chromium"] = browser.version
        if 1 in args.parts:
            figures["render"] = render(args, scratch, browser)
        if 2 in args.parts:
            figures["frames"] = frames(args, scratch, browser)
        if 3 in args.parts:
            figures["open"] = open_page(args, scratch, browser)
        browser.close()
    figures["loadavg_after"] = os.getloadavg()[0]
    figures["cpus"] = os.cpu_count()
    return figures


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def print_report(f: dict[str, Any]) -> None:
    print(
        f"\nat {f['commit']}, UI {f['ui_bundle']}; Chromium {f['chromium']} headless (no GPU), "
        f"{VIEWPORT['width']}x{VIEWPORT['height']}, {f['cpus']} cores, load average "
        f"{f['loadavg_before']:.2f} before, {f['loadavg_after']:.2f} after"
    )
    r = f.get("render")
    if r is not None:
        print(
            f"\n(1) {r['points']:,} points ({r['markers']} markers) in a {r['width_px']} px chart, "
            f"{r['loads']} loads; the answer: {r['answer_bytes'] / 2**20:.1f} MiB, first byte "
            f"{r['read_first_byte_ms']} ms, all {r['read_all_bytes_ms']} ms after it was sent\n"
            f"  ours, answer in the page -> chart painted: {r['ours_ms']} ms median "
            f"({r['ours_drawn_ms']} to data-points set) {r['ours_ms_all']}\n"
            f"  bare uPlot, setData -> painted: cold {r['bare_cold_ms']} ms "
            f"{r['bare_cold_ms_all']}, warm {r['bare_warm_ms']} ms\n"
            f"  ours / bare: {r['ratio_cold']}x cold, {r['ratio_warm']}x warm; CPU, % of a "
            f"core: this run {r['ours_cpu_percent']}, other processes "
            f"{r['others_cpu_percent']}\n"
            f"  target < {RENDER_TARGET_MS:.0f} ms: {verdict(r['met'])}"
        )
        ui.print_profile(r)
    fr = f.get("frames")
    if fr is not None:
        print(
            f"\n(2) frames, {fr['phase_seconds']} s a phase (ticking 46 series took "
            f"{fr['tick_46_s']} s; all on screen: 1280x{fr['tall_viewport_px']})"
        )
        print(
            f"  {'phase':26} {'charts':>6} {'redraw/s':>8} {'fps':>5} {'p50':>5} {'p95':>5} "
            f"{'p99':>5} {'max':>6} {'>16.7':>9} {'long':>4} {'LoAF':>4} {'busy ms/s':>9} "
            f"{'script':>6} {'CPU %':>5} {'others':>6}"
        )
        phases = [k for k, v in fr.items() if isinstance(v, dict) and "fps" in v]
        for name in phases:
            p = fr[name]
            print(
                f"  {name:26} {p['charts_in_view']:>2}/{p['charts']:<3} {p['redraws_per_s']:>8} "
                f"{p['fps']:>5} {p['frame_ms_p50']:>5} {p['frame_ms_p95']:>5} "
                f"{p['frame_ms_p99']:>5} {p['frame_ms_max']:>6} "
                f"{p['frames_over_16_7ms']:>4}/{p['frames']:<4} {p['long_tasks']:>4} "
                f"{p['long_animation_frames']:>4} {p['main_busy_ms_per_s']:>9} "
                f"{p['script_ms_per_s']:>6} {p['ours_cpu_percent']:>5} "
                f"{p['others_cpu_percent']:>6}"
            )
            ui.print_profile(p)
        live, idle = fr["50 live"], fr["50 stopped"]
        print(
            f"  50 live vs stopped: p99 {live['frame_ms_p99']} / {idle['frame_ms_p99']} ms "
            f"({live['frame_ms_p99'] / idle['frame_ms_p99']:.2f}x), main thread "
            f"{live['main_busy_ms_per_s']} / {idle['main_busy_ms_per_s']} ms/s"
        )
        for name in ("50 live", "50 live, all on screen"):
            p = fr[name]
            met = p["frames_over_16_7ms"] == 0
            print(
                f"  target, {name}: every frame within its vsync ({FRAME_TARGET_MS:.1f} ms): "
                f"{verdict(met)} ({p['frames_over_16_7ms']} of {p['frames']} over, "
                f"max {p['frame_ms_max']} ms)"
            )
    o = f.get("open")
    if o is not None:
        t, c = o["fresh_tab"], o["in_app"]
        print(
            f"\n(3) opening the page of a detector of {o['series']:,} series, {o['opens']} opens "
            f"each way (medians, ms)\n"
            f"  fresh tab, since the navigation: HTML {t['html_ms']}, bundle {t['bundle_ms']}, "
            f"the app's first call {t['app_first_call_ms']}, ListDetectors answered "
            f"{t['list_detectors_answered_ms']}"
        )
        for label, p in [("fresh tab", t), ("from the list, since the click", c)]:
            print(
                f"  {label}: ListDetectorSeries sent {p['series_listed_sent_ms']}, answered "
                f"{p['series_listed_answered_ms']} ({p['series_listed_call_ms']} ms); picker "
                f"painted {p['picker_painted_ms']}; ReadDetectorScores ({p['reads']:g} of "
                f"them) sent {p['reads_sent_ms']}, answered {p['reads_answered_ms']} "
                f"({p['reads_call_ms']} ms); first chart painted {p['first_chart_painted_ms']}, "
                f"all {OPEN_SHOWN} ({p['points']}+ points) {p['charts_painted_ms']} "
                f"{p['charts_painted_ms_all']}"
            )
        print(
            f"  bare gRPC from Python (ListDetectorSeries and one ReadDetectorScores of the top "
            f"{OPEN_SHOWN} at once): {o['bare_grpc_ms']} ms (the listing {o['bare_list_ms']}); "
            f"as the page made them before (ListDetectorSeries, then {OPEN_SHOWN} "
            f"ReadDetectorScores on exact labels): {o['bare_per_series_ms']} ms; ours / bare: "
            f"fresh tab {t['ratio']}x, from the list {c['ratio']}x; CPU, % of a core: this run "
            f"{o['ours_cpu_percent']}, other processes {o['others_cpu_percent']}"
        )
        for label, p in [("fresh tab", t), ("from the list", c)]:
            print(
                f"  target < {OPEN_TARGET_MS:.0f} ms, {label}: {verdict(p['met'])} "
                f"({p['charts_painted_ms']} ms)"
            )
        ui.print_profile(o)


def summary(f: dict[str, Any]) -> dict[str, Any]:
    """The headline figures against the targets, flat."""
    out: dict[str, Any] = {}
    if "render" in f:
        r = f["render"]
        out |= {
            "render_100k_ms": r["ours_ms"],
            "render_100k_bare_uplot_cold_ms": r["bare_cold_ms"],
            "render_100k_ratio_cold": r["ratio_cold"],
            "render_100k_target_ms": RENDER_TARGET_MS,
            "render_100k_met": r["met"],
        }
    if "frames" in f:
        live, idle = f["frames"]["50 live"], f["frames"]["50 stopped"]
        out |= {
            "frames_50_live_p99_ms": live["frame_ms_p99"],
            "frames_50_live_max_ms": live["frame_ms_max"],
            "frames_50_live_share_over_16_7ms": live["share_over_16_7ms"],
            "frames_50_stopped_p99_ms": idle["frame_ms_p99"],
            "frames_50_live_met": live["frames_over_16_7ms"] == 0,
        }
    if "open" in f:
        o = f["open"]
        out |= {
            "open_10k_fresh_tab_ms": o["fresh_tab"]["charts_painted_ms"],
            "open_10k_from_list_ms": o["in_app"]["charts_painted_ms"],
            "open_10k_bare_grpc_ms": o["bare_grpc_ms"],
            "open_10k_target_ms": OPEN_TARGET_MS,
            "open_10k_fresh_tab_met": o["fresh_tab"]["met"],
            "open_10k_from_list_met": o["in_app"]["met"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2,3", help="which parts, such as 1,3")
    parser.add_argument("--loads", type=int, default=5, help="page loads in (1)")
    parser.add_argument("--phase-seconds", type=float, default=10.0, help="each phase of (2)")
    parser.add_argument("--opens", type=int, default=5, help="measured opens in (3)")
    parser.add_argument(
        "--ui-dir", type=Path, default=REPO / "web" / "dist", help="the built UI (web/dist)"
    )
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium's executable")
    parser.add_argument("--quick", action="store_true", help="2 loads, 4 s phases, 2 opens")
    parser.add_argument(
        "--profile", type=Path, help="a folder for the page's CPU profiles (see the docstring)"
    )
    parser.add_argument("--json", type=Path, help="write the figures here as one JSON object")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(json.loads(args.settings), args.database, args.ui_dir)
        return
    args.parts = {int(p) for p in args.parts.split(",")}
    if args.quick:
        args.loads, args.phase_seconds, args.opens = 2, 4.0, 2
    if not (args.ui_dir / "index.html").is_file():
        sys.exit("the UI is not built: npm run build --workspace web")

    with tempfile.TemporaryDirectory() as scratch:
        figures = measure(args, Path(scratch))
    figures["command"] = " ".join(["bench/charts.py", *sys.argv[1:]])
    figures["summary"] = summary(figures)
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
