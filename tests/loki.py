"""A real Loki on loopback for the tests: the single binary scripts/install-tools builds, on a
fresh filesystem store, stopped again at the end; and the log lines the tests push into it."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from aiops.demo_logs import LOKI_CONFIG
from tests.postgres import ServerError, free_port, http_probe, log_tail, wait_until_ready

BINARY = Path(__file__).resolve().parent.parent / ".tools" / "bin" / "loki"
NS = 1_000_000_000

# The test data, in an hour that ended an hour ago (Loki is told to accept old lines):
# {app="api", level="info"}: "GET /orders/k 200" at minute k, for k in 0..59;
# {app="api", level="error"}: "GET /orders/k 500 upstream timeout" at minutes 0, 10, ... 50;
# {app="batch", shard="a"|"b"}: twelve lines a few nanoseconds apart around half past, three of
# them at the same nanosecond (TIED_NS + 2) and more at others, for paging;
# {app="checkout"}: 'level=info msg="checkout done" cart=k items=... took=...ms' at minute k,
# for k in 0..59: lines Loki's pattern ingester makes one pattern of (it wants four tokens or
# more, and lists a pattern from 30 lines in the range asked).
BASE = (int(time.time()) // 3600 - 2) * 3600  # seconds
MINUTES = 60
ERROR_MINUTES = range(0, MINUTES, 10)
TIED_NS = (BASE + 30 * 60) * NS + 7
BATCH_OFFSETS = {"a": [0, 1, 2, 2, 3, 5, 5, 8], "b": [2, 4, 5, 6]}  # ns after TIED_NS


def sample_streams() -> list[dict[str, object]]:
    """The test data as Loki push streams: [{"stream": labels, "values": [[ns, line], ...]}]."""
    info = [[str((BASE + 60 * k) * NS), f"GET /orders/{k} 200"] for k in range(MINUTES)]
    errors = [
        [str((BASE + 60 * k) * NS), f"GET /orders/{k} 500 upstream timeout"] for k in ERROR_MINUTES
    ]
    streams: list[dict[str, object]] = [
        {"stream": {"app": "api", "level": "info"}, "values": info},
        {"stream": {"app": "api", "level": "error"}, "values": errors},
    ]
    checkout = [
        [
            str((BASE + 60 * k) * NS),
            f'level=info msg="checkout done" cart={1000 + k} items={k % 7 + 1} took={k % 13 + 2}ms',
        ]
        for k in range(MINUTES)
    ]
    streams.append({"stream": {"app": "checkout"}, "values": checkout})
    for shard, offsets in BATCH_OFFSETS.items():
        values = [[str(TIED_NS + o), f"shard {shard} line {i}"] for i, o in enumerate(offsets)]
        streams.append({"stream": {"app": "batch", "shard": shard}, "values": values})
    return streams


class LokiServer:
    """Loki, started and filled with `streams` (as push() takes them)."""

    def __init__(self, streams: list[dict[str, object]]) -> None:
        if not BINARY.exists():
            raise RuntimeError(f"{BINARY} not found: run `make setup` (scripts/install-tools)")
        self.directory = Path(tempfile.mkdtemp(prefix="aiops-loki-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = LOKI_CONFIG.format(
            http_port=self.port, grpc_port=free_port(), directory=self.directory
        )
        (self.directory / "loki.yaml").write_text(config)
        # The log goes to a file: a pipe nobody reads stalls the server.
        self.log_path = self.directory / "loki.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(BINARY), "-config.file=loki.yaml"],
            cwd=self.directory,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        # Ready once /ready answers 200 (the ingester has joined its ring), not once the port
        # opens; stopped, directory and all, if it is not or if it refuses the test data.
        try:
            wait_until_ready("loki", self.process, http_probe(f"{self.url}/ready"), self.log_path)
            try:
                self.push(streams)
            except (RuntimeError, httpx.TransportError) as error:
                raise ServerError(
                    f"Loki did not take the test data: {error}" + log_tail(self.log_path)
                ) from error
        except BaseException:
            self.stop()
            raise

    def push(self, streams: list[dict[str, object]]) -> None:
        """Pushes streams of [nanoseconds as a string, line] pairs, as Loki's JSON push API
        takes them."""
        self.push_body(json.dumps({"streams": streams}).encode())

    def push_body(self, body: bytes) -> None:
        """Pushes a JSON push request as it is: bytes that no str holds (invalid UTF-8) too."""
        response = httpx.post(
            f"{self.url}/loki/api/v1/push",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        if response.status_code != 204:
            raise RuntimeError(f"Loki refused the push: {response.status_code} {response.text}")

    def wait_for_patterns(self, selector: str, start: int, end: int, count: int) -> list[str]:
        """Loki's patterns of `selector` in [start, end) (seconds), once it lists `count` of
        them: its pattern ingester gets the lines a second or so after they are pushed, and
        lists a pattern from 30 lines in the range. ServerError after 60 s."""
        params = {"query": selector, "start": str(start * NS), "end": str(end * NS), "step": "60s"}
        deadline = time.monotonic() + 60
        found: list[str] = []
        while time.monotonic() < deadline:
            response = httpx.get(f"{self.url}/loki/api/v1/patterns", params=params, timeout=30)
            if response.status_code == 200:
                found = [item["pattern"] for item in response.json()["data"] or []]
                if len(found) >= count:
                    return found
            time.sleep(0.5)
        raise ServerError(f"Loki listed {found} for {selector}, not {count} patterns")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
