"""The real stack the end-to-end tests drive, on loopback: an exporter whose series the tests
spike, a Prometheus that holds their history and scrapes them live, `aiops serve` (with its
Envoy serving the built UI) as an operator runs it, and the UI built when it is stale."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.postgres import NotReady, ServerError, log_tail, wait_until_ready
from tests.prometheus import PrometheusServer
from tests.test_envoy import alive, children_named

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
UI_DIR = WEB / "dist"
# What the built UI is made from: newer than web/dist/index.html means a rebuild.
UI_SOURCES = [
    WEB / "src",
    WEB / "index.html",
    WEB / "vite.config.ts",
    WEB / "package.json",
    ROOT / "clients" / "ts" / "src",
    ROOT / "clients" / "ts" / "package.json",
    ROOT / "package-lock.json",
]

# The test series: one gauge per test case, so that the tests sharing a stack spike their own.
METRIC = "e2e_load"
CASES = ("created", "spiky", "doomed", "restart-a", "restart-b", "charted")
NORMAL = 100.0
SPIKE = 1000.0
SCRAPE = "500ms"
CALM = 5.0  # seconds of NORMAL between two spikes of a case: 3 points or more, and a margin
HISTORY_SECONDS = 600  # backfilled, one sample a second, ending when Prometheus starts


def newest_mtime(paths: Iterable[Path]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            newest = max([newest, *(p.stat().st_mtime for p in path.rglob("*") if p.is_file())])
        elif path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def build_ui() -> None:
    """Builds web/dist when index.html is missing or older than what it is built from.
    Without VITE_AIOPS_URL: the UI calls the origin that serves it."""
    index = UI_DIR / "index.html"
    if index.exists() and index.stat().st_mtime >= newest_mtime(UI_SOURCES):
        return
    npm = shutil.which("npm")
    if npm is None or not (ROOT / "node_modules").is_dir():
        raise RuntimeError("cannot build the UI: run `make setup` (npm and node_modules)")
    env = {k: v for k, v in os.environ.items() if k != "VITE_AIOPS_URL"}
    command = [npm, "run", "build", "--workspace", "web"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not index.exists():
        output = result.stdout + result.stderr
        raise ServerError(f"`npm run build --workspace web` failed:\n{output}")


def snapshot_ui(target: Path) -> Path:
    """A copy of web/dist for the tests' servers, built first if it is stale: a build that
    runs meanwhile (vite empties dist/ first) cannot pull the files from under an Envoy that
    starts, or restarts, during the run."""
    for _ in range(5):
        build_ui()
        shutil.rmtree(target, ignore_errors=True)
        try:
            shutil.copytree(UI_DIR, target)
        except (FileNotFoundError, shutil.Error):
            time.sleep(1)  # being rebuilt right now
            continue
        index = (target / "index.html").read_text()
        if all((target / asset).exists() for asset in re.findall(r'="\./([^"]+)"', index)):
            return target
        time.sleep(1)
    raise ServerError(f"{UI_DIR} kept changing while it was copied")


class Exporter:
    """A /metrics endpoint with one gauge per case, NORMAL until a test spikes it. Served from
    a thread of its own, so that Prometheus scrapes it whatever the tests' event loop does."""

    def __init__(self) -> None:
        self.values = dict.fromkeys(CASES, NORMAL)
        self.calm_at: dict[str, float] = {}  # monotonic time a case may spike again
        self.scrapes: deque[tuple[float, dict[str, float]]] = deque(maxlen=240)
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served = dict(exporter.values)
                exporter.scrapes.append((time.time(), served))
                lines = [f"# TYPE {METRIC} gauge"]
                lines += [f'{METRIC}{{case="{c}"}} {v}' for c, v in served.items()]
                body = ("\n".join(lines) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    async def spike(self, case: str, seconds: float = 3.0) -> float:
        """SPIKE for `seconds`, then NORMAL again; returns when it began. A detector looking
        up (direction UP, robust_z_score over 5 points) raises one anomaly for it: its first
        points are far above the median of the 5 before, and by the third above it they are
        the median. Lasting 3 s, it outlasts a scrape or two that a busy machine misses. It
        waits until the case has been NORMAL for CALM, long enough for the median to be
        NORMAL again."""
        await asyncio.sleep(max(0.0, self.calm_at.get(case, 0.0) - time.monotonic()))
        began = time.time()
        print(f"{case}: {SPIKE:g} from {began:.3f} for {seconds:g} s")
        self.values[case] = SPIKE
        try:
            await asyncio.sleep(seconds)
        finally:
            self.values[case] = NORMAL
            self.calm_at[case] = time.monotonic() + CALM
        return began

    def spikes_served(self) -> str:
        """When the scrapes this exporter remembers got a SPIKE, by case: to tell, when a test
        waits for an anomaly in vain, whether Prometheus saw the spike."""
        served: dict[str, list[str]] = {}
        for at, values in list(self.scrapes):
            for case, value in values.items():
                if value == SPIKE:
                    served.setdefault(case, []).append(f"{at:.2f}")
        return "; ".join(f"{case} at {', '.join(times)}" for case, times in served.items())

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def history(end: int) -> str:
    """HISTORY_SECONDS of NORMAL for every case, one sample a second, up to `end`: the
    detectors' backfill learns it, with the labels the scrapes get (the target's dropped)."""
    lines = [f"# TYPE {METRIC} gauge"]
    for case in CASES:
        lines += [
            f'{METRIC}{{case="{case}"}} {NORMAL} {t}' for t in range(end - HISTORY_SECONDS, end)
        ]
    return "\n".join([*lines, "# EOF", ""])


def start_prometheus(exporter: Exporter) -> PrometheusServer:
    """A Prometheus with the history backfilled, scraping the exporter every SCRAPE."""
    config = (
        f"global:\n  scrape_interval: {SCRAPE}\n  scrape_timeout: 400ms\n"
        "scrape_configs:\n  - job_name: exporter\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{exporter.port}']\n"
        "    metric_relabel_configs:\n      - action: labeldrop\n        regex: instance|job\n"
    )
    return PrometheusServer(history(int(time.time())), config)


AIOPS = Path(sys.executable).with_name("aiops")  # the console script: .venv/bin/aiops
SERVING = re.compile(r"^aiops: serving on (\S+)$", re.M)
UI_AT = re.compile(r"^aiops: UI at (http://(\S+?)/)$", re.M)
# The pipeline and the streams, fast: a point is fetched a second after its step, heartbeats
# every second (the UI calls a stream dead after three missed), 60 points of backfill.
SETTINGS = {
    "AIOPS_DEMO": "false",
    "AIOPS_EVALUATION_DELAY": "1",
    "AIOPS_HEARTBEAT_INTERVAL": "1",
    "AIOPS_BACKFILL_POINTS": "60",
    "AIOPS_HEALTH_INTERVAL": "2",
    "AIOPS_LOG_LEVEL": "INFO",
}


def can_bind(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError:
            return False
    return True


class AiopsServer:
    """`aiops serve` as an operator runs it, on a SQLite file in `directory`, its output (both
    streams, across restarts) in aiops.log there. The first start picks free ports; a restart
    takes the same ones, so that a browser's tab finds it again."""

    def __init__(self, directory: Path, ui_dir: Path) -> None:
        self.directory = directory
        self.ui_dir = ui_dir
        self.database_url = f"sqlite+aiosqlite:///{directory / 'aiops.db'}"
        self.log_path = directory / "aiops.log"
        self.grpc_address = "127.0.0.1:0"
        self.http_address = "127.0.0.1:0"
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        """Starts the process; `ready` waits for it."""
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    AIOPS, "--database-url", self.database_url, "serve",
                    "--grpc-address", self.grpc_address, "--http-address", self.http_address,
                ],
                cwd=self.directory,
                env={**os.environ, **SETTINGS, "AIOPS_UI_DIR": str(self.ui_dir),
                     "PYTHONUNBUFFERED": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def ready(self) -> None:
        """Until it prints where the UI is (Envoy answers by then); ServerError with its log
        if it exits first or takes too long (the first start may compile the numba kernels)."""
        assert self.process is not None

        def printed() -> None:
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                text = log.read().decode(errors="replace")
            serving, ui = SERVING.search(text), UI_AT.search(text)
            if serving is None or ui is None:
                raise NotReady("no 'aiops: UI at' line yet")
            self.grpc_address, self.url, self.http_address = serving[1], ui[1], ui[2]

        wait_until_ready("aiops serve", self.process, printed, self.log_path, seconds=180)

    def start(self) -> None:
        self.launch()
        self.ready()

    def envoy_pids(self) -> list[int]:
        return [] if self.process is None else children_named(self.process.pid, "envoy")

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown, no last checkpoint. Returns once its Envoy (which
        the kernel ends a moment later) is gone and both addresses are free again."""
        assert self.process is not None
        envoys = self.envoy_pids()
        assert envoys, "aiops serve runs no Envoy"
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(map(alive, envoys)) or not (
            can_bind(self.grpc_address) and can_bind(self.http_address)
        ):
            if time.monotonic() > deadline:
                raise ServerError(
                    f"Envoy {envoys} or the addresses {self.grpc_address}, "
                    f"{self.http_address} still held 30 s after aiops serve was killed"
                    + log_tail(self.log_path)
                )
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended within 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def execute(self, sql: str) -> None:
        """Runs `sql` on the server's SQLite file, as another process may (it uses WAL)."""
        with contextlib.closing(sqlite3.connect(self.directory / "aiops.db", timeout=30)) as db:
            db.execute(sql)
            db.commit()

    def log_tail(self) -> str:
        return log_tail(self.log_path, 6000)
