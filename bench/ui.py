"""The operator's UI, live: from an event stored to the DOM showing it, and the anomalies page's
frames while 10,000 rows scroll and events arrive.

    .venv/bin/python bench/ui.py [--events N] [--rate R] [--quick] [--json PATH]

Needs the UI built (`npm run build --workspace web`) and Chromium (`--chromium`, default
/usr/bin/chromium), driven headless by playwright. Three kinds of process, all of this file:
- the server (`--serve`): the real aiops server with its Envoy (`start_app`, as `aiops serve`
  builds it: grpc-web and the built UI on one origin, free ports) on a SQLite file in a
  temporary directory, no detectors running. It creates a data source and a detector through
  the API, then stores new anomalies of that detector one per transaction through the event
  log (`events.log.recording`, an AnomalyRow and its ANOMALY event, as the pipeline stores
  them) at a fixed rate, and notes the wall clock (`time.time()`) as each commit returns: the
  time the event is stored. It also bulk-inserts the 10,000 older anomalies of part (b).
- the subscriber (`--subscribe`): two Python streams of ANOMALY events, one straight to the
  gRPC server and one through Envoy as grpc-web (HTTP/1.1, the framing the UI's transport
  uses), noting when each anomaly arrives: the transport without the UI.
- this driver: Chromium on `/#/anomalies` (1280x720), the measurements in the page. Nothing
  in the UI's code is changed for them: they are scripts the driver adds to the page.

(a) Latency. A MutationObserver in the page notes `performance.timeOrigin + performance.now()`
when each new anomaly's row (`role=row` named by the anomaly) enters the DOM, and the time a
frame has been painted after that (the first message after the next animation frame); and
when its toast's link enters the DOM (at most 3 toasts show at a time, the rest are counted in
a summary toast, so only some anomalies get one). A script added before the app starts passes
the body of the page's Subscribe stream (grpc-web over fetch) through a reader that notes when
each anomaly's name first shows in its bytes: the UI's own share is the row's time minus that
one. Every clock is this machine's wall clock, so
latency = page (or subscriber) time - the server's time after the commit; the driver checks
the page's clock against its own. New anomalies start now, so each goes to the top of the list,
which the page shows scrolled to the top. Run twice: on a list of its own events only, and
again with 10,000 more anomalies loaded. No event is awaited before the next is stored: the
server keeps to its rate.

(b) Frames. 10,000 anomalies are inserted in the database and the page reloaded (the time to a
full list is reported); then, while the server stores 10 new anomalies a second, the page
records the interval between animation frames (requestAnimationFrame timestamps, vsync
aligned: 16.7 ms at 60 Hz, a missed frame shows as 33.3 ms) and long tasks
(PerformanceObserver `longtask`, > 50 ms) in three phases: `idle` (events only), `scroll` (the
list's scroller scrolled by 2,000 px a second, down and back, from requestAnimationFrame: a
brisk wheel) and `sweep` (top to bottom of the 10,000 rows at an even pace, about 45,000 px a
second: every frame shows new rows, as when dragging the scrollbar). Scrolling is set from
the main thread (scrollTop), so a busy main thread shows; a compositor-driven wheel scroll
could stay smooth where this is not. It also counts "blank" frames: frames painted with a row
missing from the visible part of the list (the virtualiser renders the rows of a new scroll
position a little later), found by comparing the rows in the DOM with the scroll position in
each animation frame, after the scroll for that frame is set.

Headless Chromium here has no GPU: it rasterises and composites in software on the same cores
as the server, Envoy and the subscriber. The figures are for this machine, not a laptop's. Each
part reports the CPU its processes took and what every other process on the machine took
meanwhile (from /proc), so a run disturbed by someone else's work shows as such. `--profile
DIR` writes the page's V8 CPU profile of each part and prints where its time went; pointed
(`--ui-dir`) at a build without minifying (in web/: `npx vite build --minify false --outDir
/tmp/web-plain`) the functions keep their names.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[1]
DETECTOR_ID = "ui-bench"
DETECTOR = f"detectors/{DETECTOR_ID}"
VIEWPORT = {"width": 1280, "height": 720}
TARGET_MS = 50.0  # the original plan: an event in the UI within 50 ms
VSYNC_MS = 1000 / 60
# rAF timestamps are whole vsyncs apart give or take a fraction of a millisecond: a frame longer
# than this missed at least one vsync.
MISSED_MS = VSYNC_MS + 1.0
LONG_FRAME_MS = 50.0
UI_LOAD_LIMIT = 50_000


# The server process.


def serve(database: Path, ui_dir: Path) -> None:
    from aiops.store.database import migrate

    url = f"sqlite+aiosqlite:///{database}"
    migrate(url)
    asyncio.run(_serve(url, ui_dir))


async def _serve(url: str, ui_dir: Path) -> None:
    from aiops.app import start_app
    from aiops.config import Settings

    app = await start_app(
        Settings(
            grpc_address="127.0.0.1:0",
            http_address="127.0.0.1:0",
            database_url=url,
            run_detectors=False,
            envoy=True,
            ui_dir=str(ui_dir),
        )
    )
    loop = asyncio.get_running_loop()
    try:
        _say({"grpc": app.address, "http": str(app.http_url).rstrip("/")})
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            command = json.loads(line)
            if "setup" in command:
                _say(await _setup(app.address))
            elif "preload" in command:
                _say(await _preload(app, command["preload"]))
            elif "publish" in command:
                _say(await _publish(app, command["publish"], command["rate"], command["prefix"]))
            else:
                break
    finally:
        await app.stop(grace=None)


async def _setup(address: str) -> dict[str, Any]:
    """A data source and a stopped detector, created through the API as the UI would."""
    import grpc

    from aiops_api.v1 import (
        data_source_pb2,
        data_source_service_pb2,
        data_source_service_pb2_grpc,
        detector_pb2,
        detector_service_pb2,
        detector_service_pb2_grpc,
    )

    async with grpc.aio.insecure_channel(address) as channel:
        sources = data_source_service_pb2_grpc.DataSourceServiceStub(channel)  # type: ignore[no-untyped-call]
        detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)  # type: ignore[no-untyped-call]
        source = await sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source_id=DETECTOR_ID,
                data_source=data_source_pb2.DataSource(
                    kind=data_source_pb2.DataSource.KIND_PROMETHEUS,
                    urls=["http://127.0.0.1:9"],  # nothing there: no detector runs
                ),
            )
        )
        detector = await detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(
                detector_id=DETECTOR_ID,
                detector=detector_pb2.Detector(
                    data_source=source.name, query='rate(http_requests_total{job="api"}[5m])'
                ),
            )
        )
    return {"detector": str(detector.name)}


def _labels(i: int) -> dict[str, str]:
    return {
        "__name__": "http_requests_total",
        "job": "api",
        "instance": f"web-{i % 40}",
        "route": f"/v1/items/{i % 97}",
    }


async def _preload(app: Any, count: int) -> dict[str, Any]:
    """`count` older anomalies in one bulk insert, one a minute back from an hour ago (no
    events: the UI lists them when it loads)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from aiops.store.database import session_factory
    from aiops.store.models import AnomalyRow

    began = time.monotonic()
    now = datetime.now(UTC)
    states = ["STATE_OPEN"] * 8 + ["STATE_ACKNOWLEDGED", "STATE_FALSE_POSITIVE"]
    rows = [
        {
            "id": f"old-{i:05d}",
            "detector_id": DETECTOR_ID,
            "series_labels": _labels(i),
            "start_time": now - timedelta(hours=1, minutes=i),
            "end_time": now - timedelta(hours=1, minutes=i - 3),
            "peak_score": 0.95 + 0.049 * ((i * 7919) % 1000) / 1000,
            "peak_value": 100.0 + (i * 31) % 900,
            "severity": "SEVERITY_CRITICAL" if i % 5 == 0 else "SEVERITY_WARNING",
            "state": states[i % len(states)],
            "active": False,
            "revision": 1,
            "create_time": now,
            "update_time": now,
        }
        for i in range(count)
    ]
    async with session_factory(app.engine).begin() as session:
        await session.execute(insert(AnomalyRow), rows)
    return {"preloaded": count, "seconds": time.monotonic() - began}


async def _publish(app: Any, count: int, rate: float, prefix: str) -> dict[str, Any]:
    """`count` new anomalies at `rate` a second, each in a transaction of its own with its
    ANOMALY event; for each, its name and the wall clock once the commit returned."""
    from datetime import UTC, datetime, timedelta

    from aiops.events import log as event_log
    from aiops.resources import anomaly_message
    from aiops.store.database import session_factory
    from aiops.store.models import AnomalyRow
    from aiops_api.v1 import event_pb2

    sessions = session_factory(app.engine)
    loop = asyncio.get_running_loop()
    started = loop.time()
    stored: list[tuple[str, float]] = []
    store_ms: list[float] = []
    lag_ms = 0.0
    for i in range(count):
        due = started + i / rate
        now = loop.time()
        if due > now:
            await asyncio.sleep(due - now)
        else:
            lag_ms = max(lag_ms, (now - due) * 1000)
        began = time.time()
        start = datetime.now(UTC)
        async with event_log.recording(sessions, app.bus) as recorder:
            row = AnomalyRow(
                id=f"{prefix}-{i:05d}",
                detector_id=DETECTOR_ID,
                series_labels=_labels(i),
                start_time=start,
                end_time=start + timedelta(seconds=60),
                peak_score=0.99 if i % 5 == 0 else 0.96,
                peak_value=1000.0 + i,
                severity="SEVERITY_CRITICAL" if i % 5 == 0 else "SEVERITY_WARNING",
                state="STATE_OPEN",
                active=True,
            )
            recorder.session.add(row)
            await recorder.session.flush()
            change = event_pb2.AnomalyChange(anomaly=anomaly_message(row))
            recorder.add(event_pb2.Event(anomaly_change=change), DETECTOR_ID)
        committed = time.time()
        store_ms.append((committed - began) * 1000)
        stored.append((f"{DETECTOR}/anomalies/{row.id}", committed))
    return {
        "stored": stored,
        "seconds": loop.time() - started,
        "lag_max_ms": lag_ms,
        "store_ms_p50": float(np.median(store_ms)) if store_ms else 0.0,
    }


# The subscriber process.


def subscribe(grpc_address: str, http_url: str) -> None:
    asyncio.run(_subscribe(grpc_address, http_url))


async def _subscribe(grpc_address: str, http_url: str) -> None:
    import grpc
    import httpx

    from aiops_api.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc

    loop = asyncio.get_running_loop()
    arrived: dict[str, dict[str, float]] = {"grpc": {}, "grpc_web": {}}
    up = {"grpc": asyncio.Event(), "grpc_web": asyncio.Event()}
    request = event_service_pb2.SubscribeRequest(types=[event_pb2.EVENT_TYPE_ANOMALY])

    def note(kind: str, event: event_pb2.Event) -> None:
        if event.HasField("heartbeat"):
            up[kind].set()
        elif event.HasField("anomaly_change"):
            arrived[kind].setdefault(event.anomaly_change.anomaly.name, time.time())

    async def direct() -> None:
        async with grpc.aio.insecure_channel(grpc_address) as channel:
            stub = event_service_pb2_grpc.EventServiceStub(channel)  # type: ignore[no-untyped-call]
            async for event in stub.Subscribe(request):
                note("grpc", event)

    async def web() -> None:
        body = request.SerializeToString()
        frame = b"\x00" + len(body).to_bytes(4, "big") + body
        headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}
        async with (
            httpx.AsyncClient(timeout=None) as client,
            client.stream(
                "POST",
                f"{http_url}/aiops.v1.EventService/Subscribe",
                content=frame,
                headers=headers,
            ) as response,
        ):
            buffer = b""
            async for chunk in response.aiter_raw():
                buffer += chunk
                while len(buffer) >= 5:
                    flags, length = buffer[0], int.from_bytes(buffer[1:5], "big")
                    if len(buffer) < 5 + length:
                        break
                    message, buffer = buffer[5 : 5 + length], buffer[5 + length :]
                    if not flags & 0x80:  # not the trailer
                        note("grpc_web", event_pb2.Event.FromString(message))

    tasks = [asyncio.create_task(direct()), asyncio.create_task(web())]
    await asyncio.wait_for(asyncio.gather(*(u.wait() for u in up.values())), 30)
    _say({"up": True})
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        for kind, stream in zip(arrived, tasks, strict=True):
            if stream.done():
                raise RuntimeError(f"the {kind} stream ended: {stream.exception()!r}")
        _say({kind: dict(times) for kind, times in arrived.items()})
        for times in arrived.values():
            times.clear()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# The page's instruments.

# Notes when each row (and toast link) of an anomaly whose name starts with `prefix` enters the
# DOM, and when the frame after it has been painted.
WATCH_JS = """
(prefix) => {
  const now = () => performance.timeOrigin + performance.now();
  const rows = {}, painted = {}, toasts = {};
  const ROW = '[role="row"][aria-label]';
  const TOAST = 'a[href^="#/anomalies?anomaly="]';
  const afterPaint = (names) =>
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        const t = now();
        for (const name of names) painted[name] ??= t;
      };
      channel.port2.postMessage(0);
    });
  const observer = new MutationObserver((records) => {
    const t = now();
    const fresh = [];
    const row = (el) => {
      const name = el.getAttribute("aria-label");
      if (name.startsWith(prefix) && rows[name] === undefined) {
        rows[name] = t;
        fresh.push(name);
      }
    };
    const toast = (el) => {
      const query = el.getAttribute("href").split("?")[1] ?? "";
      const name = new URLSearchParams(query).get("anomaly") ?? "";
      if (name.startsWith(prefix)) toasts[name] ??= t;
    };
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (!(node instanceof Element)) continue;
        if (node.matches(ROW)) row(node);
        node.querySelectorAll(ROW).forEach(row);
        if (node.matches(TOAST)) toast(node);
        node.querySelectorAll(TOAST).forEach(toast);
      }
    }
    if (fresh.length) afterPaint(fresh);
  });
  observer.observe(document.body, { childList: true, subtree: true });
  window.__uiBench = { rows, painted, toasts, stop: () => observer.disconnect() };
}
"""

# Before the app runs: notes when the body of the page's Subscribe stream (grpc-web over fetch)
# first holds each anomaly's name, by passing the stream through a reader that looks for the
# names in the bytes; the app gets the same bytes, one promise later.
RECEIPT_JS = """
(() => {
  const received = {};
  window.__uiBenchReceived = received;
  const pattern = /detectors\\/[a-z0-9-]+\\/anomalies\\/[a-z0-9-]+/g;
  const decoder = new TextDecoder("latin1");
  const fetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await fetch(input, init);
    const url = typeof input === "string" ? input : (input.url ?? String(input));
    if (!url.endsWith("/aiops.v1.EventService/Subscribe") || response.body === null) {
      return response;
    }
    const reader = response.body.getReader();
    let tail = "";
    const body = new ReadableStream({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        const t = performance.timeOrigin + performance.now();
        const text = tail + decoder.decode(value);
        for (const name of text.match(pattern) ?? []) received[name] ??= t;
        tail = text.slice(-100);
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
})();
"""

# Frame intervals, long tasks and blank frames in each phase; see the module's docstring.
FRAMES_JS = """
async ({ phases, settleMs }) => {
  const table = document.querySelector('[role="table"][aria-label="Anomalies"]');
  const header = table.querySelector('[role="row"][aria-rowindex="1"]');
  const rowHeight = header.getBoundingClientRect().height;
  const count = Number(table.getAttribute("aria-rowcount")) - 1;
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const blank = () => {
    // Data row i lies at [h(i+1), h(i+2)); the sticky header covers the top row height.
    const top = table.scrollTop, height = table.clientHeight;
    const first = Math.max(0, Math.floor(top / rowHeight));
    const last = Math.min(count - 1, Math.ceil((top + height) / rowHeight) - 2);
    const present = new Set();
    for (const el of table.querySelectorAll('[role="row"][aria-rowindex]')) {
      present.add(Number(el.getAttribute("aria-rowindex")) - 2);
    }
    let missing = 0;
    for (let i = first; i <= last; i++) if (!present.has(i)) missing++;
    return missing / Math.max(1, last - first + 1);
  };
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const results = [];
  for (const phase of phases) {
    const longTasks = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) longTasks.push([entry.startTime, entry.duration]);
    });
    observer.observe({ type: "longtask" });
    if (phase.mode === "sweep") table.scrollTop = 0;
    const frames = [], blanks = [];
    const t0 = await frame();
    const from = table.scrollTop;
    // The position for now: down and back at pxPerS (scroll), or the whole list once (sweep).
    const position = () => {
      const span = table.scrollHeight - table.clientHeight;
      const elapsed = performance.now() - t0;
      if (phase.mode === "sweep") return Math.min(1, elapsed / phase.ms) * span;
      const travelled = (from + (phase.pxPerS * elapsed) / 1000) % (2 * span);
      return travelled <= span ? travelled : 2 * span - travelled;
    };
    // Set after a frame is painted, where input lands: the virtualiser gets the scroll event
    // in the next frame, the one that shows the new position, as with a wheel or a drag.
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      table.scrollTop = position();
    };
    let last = t0;
    while (last - t0 < phase.ms) {
      const t = await frame();
      frames.push(t - last);
      blanks.push(blank());
      if (phase.mode !== "idle") channel.port2.postMessage(0);
      last = t;
    }
    channel.port1.close();
    for (const entry of observer.takeRecords()) longTasks.push([entry.startTime, entry.duration]);
    observer.disconnect();
    results.push({
      name: phase.name,
      t0,
      frames,
      blanks,
      longTasks,
      rowsInDom: table.querySelectorAll('[role="row"][aria-rowindex]').length - 1,
      rowCount: Number(table.getAttribute("aria-rowcount")) - 1,
    });
  }
  return { rowHeight, results };
}
"""

LISTED_JS = """
(total) => {
  const table = document.querySelector('[role="table"][aria-label="Anomalies"]');
  return table !== null && Number(table.getAttribute("aria-rowcount")) - 1 >= total
    && table.querySelector('[role="row"][aria-rowindex="2"]') !== null;
}
"""


# The driver.


def _say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


class Child:
    """A process of this file, spoken to in JSON lines over its stdin and stdout."""

    def __init__(self, *args: str, log: IO[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.role = args[0]

    def tell(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def hear(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.process.kill()
            raise RuntimeError(f"{self.role} (pid {self.process.pid}): no answer")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.tell(message)
        return self.hear(timeout)

    def stop(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _cpu_by_process() -> dict[int, float]:
    """CPU seconds (user + system) of this process and every live process descended from it:
    the server, its Envoy, the subscriber, playwright's driver and Chromium."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
    ours = {os.getpid()}
    grown = True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in ours} - ours
        ours |= more
        grown = bool(more)
    return {pid: cpu[pid] for pid in ours}


def _machine_busy() -> float:
    """CPU seconds the whole machine (every core) has been busy since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class CpuWindow:
    """How busy the machine was over a stretch of the run: by this benchmark's processes, and
    by everything else (other people's tests), in % of one core."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.busy = _machine_busy()
        self.ours = _cpu_by_process()

    def figures(self) -> dict[str, float]:
        seconds = time.monotonic() - self.began
        busy = _machine_busy() - self.busy
        # Processes that ended meanwhile are not counted as ours: "others" errs high.
        ours = sum(t - self.ours.get(pid, 0.0) for pid, t in _cpu_by_process().items())
        return {
            "ours_cpu_percent": round(100 * ours / seconds),
            "others_cpu_percent": round(100 * max(0.0, busy - ours) / seconds),
        }


def stats(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"n": 0}
    a = np.asarray(values_ms)
    return {
        "n": len(a),
        "p50": round(float(np.percentile(a, 50)), 1),
        "p95": round(float(np.percentile(a, 95)), 1),
        "max": round(float(a.max()), 1),
        "mean": round(float(a.mean()), 1),
    }


def latency(
    page: Page,
    server: Child,
    subscriber: Child,
    prefix: str,
    events: int,
    rate: float,
    grace: float,
    profile: Path | None,
) -> dict[str, Any]:
    """Part (a): `events` new anomalies at `rate` a second; stored-to-seen figures for the
    subscriber's two streams and the page (DOM, painted, toast); with `profile`, the page's
    CPU profile over them is written in that folder."""
    page.evaluate(WATCH_JS, f"{DETECTOR}/anomalies/{prefix}-")
    profiler = Profiler(page, profile / f"latency-{prefix}.cpuprofile") if profile else None
    window = CpuWindow()
    published = server.ask(
        {"publish": events, "rate": rate, "prefix": prefix}, events / rate * 3 + 120
    )
    stored: dict[str, float] = dict(published["stored"])
    last = published["stored"][-1][0]
    with contextlib.suppress(Exception):  # what never shows is counted below
        page.wait_for_function(
            "(name) => window.__uiBench.painted[name] !== undefined", arg=last, timeout=grace * 1000
        )
    seen = page.evaluate(
        "() => { window.__uiBench.stop(); const b = window.__uiBench;"
        " return { rows: b.rows, painted: b.painted, toasts: b.toasts,"
        " received: window.__uiBenchReceived }; }"
    )
    transport = subscriber.ask({"report": True}, 30)
    profiled = profiler.stop(len(stored), "event") if profiler else None

    def since_stored(times: dict[str, float], scale: float) -> tuple[list[float], int]:
        late = [times[n] / scale - t for n, t in stored.items() if n in times]
        return [1000 * s for s in late], len(stored) - len(late)

    figures: dict[str, Any] = {
        "events": len(stored),
        "rate": rate,
        "publish_seconds": round(published["seconds"], 1),
        "publish_lag_max_ms": round(published["lag_max_ms"], 1),
        "commit_ms_p50": round(published["store_ms_p50"], 2),
        **window.figures(),
    }
    for key, times, scale in [
        ("grpc", transport["grpc"], 1.0),
        ("grpc_web", transport["grpc_web"], 1.0),
        ("page_received", seen["received"], 1000.0),
        ("dom", seen["rows"], 1000.0),
        ("painted", seen["painted"], 1000.0),
        ("toast", seen["toasts"], 1000.0),
    ]:
        values, missing = since_stored(times, scale)
        figures[key] = {**stats(values), "missing": missing}
    # The UI's own share, per event: from the bytes in the page to the row in the DOM.
    ui_ms = [
        seen["rows"][n] - seen["received"][n]
        for n in stored
        if n in seen["rows"] and n in seen["received"]
    ]
    figures["ui_received_to_dom"] = stats(ui_ms)
    if profiled is not None:
        figures["profile"] = profiled
    return figures


def frames(
    page: Page, server: Child, rate: float, phases: list[dict[str, Any]], profile: Path | None
) -> dict[str, Any]:
    """Part (b): the phases' frame figures while the server stores `rate` anomalies a second;
    with `profile`, the page's CPU profile over them is written in that folder."""
    settle_ms = 1000
    seconds = (settle_ms + sum(p["ms"] for p in phases)) / 1000 + 2
    profiler = Profiler(page, profile / "frames.cpuprofile") if profile else None
    server.tell({"publish": round(seconds * rate), "rate": rate, "prefix": "scroll"})
    window = CpuWindow()
    measured = page.evaluate(FRAMES_JS, {"phases": phases, "settleMs": settle_ms})
    cpu = window.figures()
    published = server.hear(seconds * 3 + 120)
    profiled = profiler.stop(seconds, "second") if profiler else None
    figures: dict[str, Any] = {
        "events": len(published["stored"]),
        "rate": rate,
        "publish_lag_max_ms": round(published["lag_max_ms"], 1),
        "row_height_px": measured["rowHeight"],
        **cpu,
    }
    if profiled is not None:
        figures["profile"] = profiled
    for phase, result in zip(phases, measured["results"], strict=True):
        deltas = np.asarray(result["frames"])
        blanks = np.asarray(result["blanks"])
        long_tasks = [duration for _, duration in result["longTasks"]]
        # Where the slow frames and long tasks fell, seconds into the phase: to tell a
        # pattern (an event, the end of the list) from a hiccup (another process, a GC).
        ends = np.cumsum(deltas) / 1000
        slow = [
            [round(float(e), 2), round(float(d))]
            for e, d in zip(ends, deltas, strict=True)
            if d > LONG_FRAME_MS
        ]
        tasks = [
            [round((start - result["t0"]) / 1000, 2), round(duration)]
            for start, duration in result["longTasks"]
        ]
        figures[result["name"]] = {
            "seconds": round(float(deltas.sum()) / 1000, 1),
            "px_per_s": phase.get("pxPerS")
            or round(measured["rowHeight"] * result["rowCount"] / (phase["ms"] / 1000)),
            "frames": len(deltas),
            "fps": round(len(deltas) / (float(deltas.sum()) / 1000), 1),
            "frame_ms_p50": round(float(np.percentile(deltas, 50)), 1),
            "frame_ms_p95": round(float(np.percentile(deltas, 95)), 1),
            "frame_ms_p99": round(float(np.percentile(deltas, 99)), 1),
            "frame_ms_max": round(float(deltas.max()), 1),
            "frames_over_16_7ms": int((deltas > MISSED_MS).sum()),
            "frames_over_50ms": int((deltas > LONG_FRAME_MS).sum()),
            # vsyncs that passed without a frame
            "dropped": int(np.maximum(np.round(deltas / VSYNC_MS) - 1, 0).sum()),
            "long_tasks": len(long_tasks),
            "long_task_ms_total": round(float(sum(long_tasks))),
            "long_task_ms_max": round(float(max(long_tasks, default=0.0))),
            "blank_frames": int((blanks > 0).sum()),
            # of the rows that should show, the share missing: mean over all frames, and max
            "blank_share_mean": round(float(blanks.mean()), 2) if len(blanks) else 0.0,
            "blank_share_max": round(float(blanks.max()), 2) if len(blanks) else 0.0,
            "rows_in_dom": result["rowsInDom"],
            "frames_over_50ms_at": slow,
            "long_tasks_at": tasks,
            "rows": result["rowCount"],
        }
    return figures


class Profiler:
    """The page's V8 CPU profile (CDP), sampled every 200 us, for `path`."""

    def __init__(self, page: Page, path: Path) -> None:
        self.path = path
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Profiler.enable")
        self.cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        self.cdp.send("Profiler.start")

    def stop(self, count: float, per: str) -> dict[str, Any]:
        """Writes the profile to its path; returns the time (ms) over the profile divided by
        `count` (of `per`: events, seconds) spent running JavaScript, in the garbage collector
        and in the browser's own work on the page's thread ("(program)": style, layout,
        paint, parsing), and the functions with the most self time."""
        profile = self.cdp.send("Profiler.stop")["profile"]
        self.cdp.detach()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(profile))
        nodes = {node["id"]: node["callFrame"] for node in profile["nodes"]}
        spent: Counter[str] = Counter()
        for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
            frame = nodes[sample]
            name = frame["functionName"] or "(anonymous)"
            if frame["url"]:
                name += f" {frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber'] + 1}"
            spent[name] += delta
        per_event = {k: v / 1000 / max(1.0, count) for k, v in spent.items()}
        special = ("(idle)", "(program)", "(garbage collector)", "(root)")
        js = sorted(((v, k) for k, v in per_event.items() if k not in special), reverse=True)
        return {
            "file": str(self.path),
            "per": per,
            "js_ms": round(sum(v for v, _ in js), 2),
            "gc_ms": round(per_event.get("(garbage collector)", 0.0), 2),
            "program_ms": round(per_event.get("(program)", 0.0), 2),
            "top_self_ms": {k: round(v, 2) for v, k in js[:10]},
        }


def clock_offset_ms(page: Page) -> dict[str, float]:
    """The page's clock minus this process's, from the tightest of 20 round trips."""
    best = (float("inf"), 0.0)
    for _ in range(20):
        before = time.time()
        theirs = page.evaluate("() => performance.timeOrigin + performance.now()") / 1000
        after = time.time()
        best = min(best, (after - before, theirs - (before + after) / 2))
    return {"offset_ms": round(best[1] * 1000, 2), "uncertainty_ms": round(best[0] * 500, 2)}


def _build(ui_dir: Path) -> dict[str, str]:
    """What was measured: the commit (and whether web/ differs from it) and the bundle served."""
    index = (ui_dir / "index.html").read_text()
    bundle = index.split("assets/", 1)[1].split('"', 1)[0] if "assets/" in index else ""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "web", "clients/ts"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        commit, changed = "", ""
    return {"commit": commit + (" (web/ changed since)" if changed else ""), "ui_bundle": bundle}


def measure(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    log = (args.log or scratch / "children.log").open("w")
    load_before = os.getloadavg()
    server = Child(
        "--serve",
        "--database",
        str(scratch / "aiops.db"),
        "--ui-dir",
        str(args.ui_dir.resolve()),
        log=log,
    )
    subscriber: Child | None = None
    try:
        urls = server.hear(300)
        server.ask({"setup": True}, 60)
        subscriber = Child(
            "--subscribe", "--address", urls["grpc"], "--http", urls["http"], log=log
        )
        subscriber.hear(60)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=args.chromium, headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
            page.add_init_script(RECEIPT_JS)
            page.goto(f"{urls['http']}/#/anomalies")
            page.wait_for_selector('[data-state="live"]', timeout=60_000)
            page.get_by_text("No anomalies yet").wait_for(timeout=60_000)
            figures: dict[str, Any] = {
                **_build(args.ui_dir),
                "chromium": browser.version,
                "viewport": f"{VIEWPORT['width']}x{VIEWPORT['height']}",
                "clock": clock_offset_ms(page),
            }
            print(f"page live at {urls['http']}; (a) {args.events} events at {args.rate}/s")
            figures["latency_small"] = latency(
                page, server, subscriber, "a", args.events, args.rate, args.grace, args.profile
            )

            preloaded = server.ask({"preload": args.rows}, 300)
            # The UI loads the newest anomalyLoadLimit (web/src/app/extra.ts) and says so.
            total = min(args.rows + args.events, UI_LOAD_LIMIT)
            began = time.time()
            page.reload()
            page.wait_for_function(LISTED_JS, arg=total, timeout=300_000, polling=50)
            figures["load"] = {
                "rows": total,
                "insert_s": round(preloaded["seconds"], 2),
                "page_to_list_s": round(time.time() - began, 2),
                "js_heap_mib": round(
                    page.evaluate("() => performance.memory.usedJSHeapSize") / 2**20, 1
                ),
            }
            page.wait_for_selector('[data-state="live"]', timeout=60_000)
            print(
                f"{total:,} anomalies listed in {figures['load']['page_to_list_s']} s; (b) frames"
            )
            phases = [
                {"name": "idle", "mode": "idle", "ms": args.phase_seconds / 2 * 1000},
                {
                    "name": "scroll",
                    "mode": "scroll",
                    "ms": args.phase_seconds * 1000,
                    "pxPerS": 2000,
                },
                {"name": "sweep", "mode": "sweep", "ms": args.phase_seconds * 1000},
            ]
            figures["frames"] = frames(page, server, args.scroll_rate, phases, args.profile)

            page.evaluate("() => { document.querySelector('[role=\"table\"]').scrollTop = 0; }")
            page.wait_for_timeout(500)
            print(f"(a) again with {args.rows:,} more anomalies listed")
            figures["latency_10k"] = latency(
                page, server, subscriber, "b", args.events, args.rate, args.grace, args.profile
            )
            figures["clock_after"] = clock_offset_ms(page)
            browser.close()
    finally:
        for child in [subscriber, server]:
            if child is not None:
                child.stop()
        log.close()
    figures["loadavg_before"] = [round(x, 2) for x in load_before]
    figures["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    figures["cpus"] = os.cpu_count()
    return figures


def print_profile(part: dict[str, Any]) -> None:
    profile = part.get("profile")
    if profile is None:
        return
    print(
        f"  page CPU profile ({profile['file']}), per {profile['per']}: JavaScript "
        f"{profile['js_ms']} ms, GC {profile['gc_ms']} ms, the browser's own work on the "
        f"page's thread {profile['program_ms']} ms; most self time:"
    )
    for name, ms in list(profile["top_self_ms"].items())[:6]:
        print(f"    {ms:6.2f} ms  {name}")


def print_table(f: dict[str, Any]) -> None:
    print(
        f"\nat {f['commit']}, UI {f['ui_bundle']}; Chromium {f['chromium']} headless (no GPU), "
        f"{f['viewport']}, {f['cpus']} cores, load "
        f"average {f['loadavg_before'][0]} before, {f['loadavg_after'][0]} after; page clock "
        f"{f['clock']['offset_ms']:+} ms (+-{f['clock']['uncertainty_ms']}) from this process's"
    )
    more = f"{f['load']['rows'] - f['latency_small']['events']:,} more"
    for key, title in [("latency_small", "its own events only"), ("latency_10k", more)]:
        a = f[key]
        print(
            f"\n(a) stored -> seen, {a['events']} events at {a['rate']}/s, list of {title} "
            f"(commit p50 {a['commit_ms_p50']} ms; CPU, % of a core: this run "
            f"{a['ours_cpu_percent']}, other processes {a['others_cpu_percent']})"
        )
        print(f"  {'':34} {'n':>5} {'p50':>7} {'p95':>7} {'max':>7} {'missing':>8}")
        for part, label in [
            ("grpc", "Python client, gRPC direct"),
            ("grpc_web", "Python client, grpc-web via Envoy"),
            ("page_received", "page: bytes of its stream"),
            ("dom", "page: row in the DOM"),
            ("painted", "page: frame painted after it"),
            ("toast", "page: toast in the DOM (if shown)"),
            ("ui_received_to_dom", "the UI's own: bytes -> DOM"),
        ]:
            s = a[part]
            print(
                f"  {label:34} {s['n']:>5} {s.get('p50', '-'):>7} {s.get('p95', '-'):>7} "
                f"{s.get('max', '-'):>7} {s.get('missing', ''):>8}"
            )
        print_profile(a)
    load, b = f["load"], f["frames"]
    print(
        f"\n(b) {load['rows']:,} anomalies: listed {load['page_to_list_s']} s after reload, JS "
        f"heap {load['js_heap_mib']} MiB; {b['events']} events at {b['rate']}/s meanwhile (CPU, "
        f"% of a core: this run {b['ours_cpu_percent']}, other processes {b['others_cpu_percent']})"
    )
    print(
        f"  {'phase':8} {'px/s':>7} {'frames':>6} {'fps':>5} {'p50':>5} {'p95':>5} {'p99':>5} "
        f"{'max':>6} {'>16.7':>6} {'>50':>4} {'dropped':>7} {'long':>4} {'long ms':>7} "
        f"{'blank':>5} {'rows missing':>12}"
    )
    for name in ("idle", "scroll", "sweep"):
        p = b[name]
        print(
            f"  {name:8} {p['px_per_s'] if name != 'idle' else 0:>7} {p['frames']:>6} "
            f"{p['fps']:>5} {p['frame_ms_p50']:>5} {p['frame_ms_p95']:>5} {p['frame_ms_p99']:>5} "
            f"{p['frame_ms_max']:>6} {p['frames_over_16_7ms']:>6} {p['frames_over_50ms']:>4} "
            f"{p['dropped']:>7} {p['long_tasks']:>4} {p['long_task_ms_total']:>7} "
            f"{p['blank_frames']:>5} {round(100 * p['blank_share_mean']):>11}%"
        )
    print_profile(b)
    for key in ("latency_small", "latency_10k"):
        dom = f[key]["dom"]
        met = dom.get("p95", float("inf")) < TARGET_MS and dom.get("missing", 1) == 0
        verdict = "met" if met else "NOT met"
        print(f"{key}: DOM p95 {dom.get('p95')} ms: target < {TARGET_MS:.0f} ms {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=250, help="events per latency run")
    parser.add_argument("--rate", type=float, default=5.0, help="events a second, latency runs")
    parser.add_argument("--rows", type=int, default=10_000, help="anomalies preloaded for (b)")
    parser.add_argument("--scroll-rate", type=float, default=10.0, help="events a second in (b)")
    parser.add_argument("--phase-seconds", type=float, default=10.0, help="each scroll phase")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to wait for the last")
    parser.add_argument(
        "--ui-dir", type=Path, default=REPO / "web" / "dist", help="the built UI (web/dist)"
    )
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium's executable")
    parser.add_argument(
        "--quick", action="store_true", help="50 events per latency run, 4 s phases"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="a folder: the page's CPU profile of each part goes there (.cpuprofile, for "
        "DevTools; --ui-dir on an unminified build keeps the names); slows the page",
    )
    parser.add_argument("--log", type=Path, help="keep the children's stderr (server log) here")
    parser.add_argument("--json", type=Path, help="write the figures here as one JSON object")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--subscribe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--http", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.database, args.ui_dir)
        return
    if args.subscribe:
        subscribe(args.address, args.http)
        return
    if args.quick:
        args.events, args.phase_seconds = 50, 4.0
    if not (args.ui_dir / "index.html").is_file():
        sys.exit("the UI is not built: npm run build --workspace web")

    with tempfile.TemporaryDirectory() as scratch:
        try:
            figures = measure(args, Path(scratch))
        except BaseException:
            log = args.log or Path(scratch) / "children.log"
            if log.exists():
                sys.stderr.write(log.read_text()[-5000:])
            raise
    figures["command"] = " ".join(["bench/ui.py", *sys.argv[1:]])
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
