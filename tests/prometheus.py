"""A real Prometheus on loopback for the tests: Debian's binaries, a fresh data directory
filled from OpenMetrics text by promtool, stopped again at the end."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.postgres import free_port, http_probe, run_checked, wait_until_ready

# The test data: six hours of minutes ending an hour ago (old enough to sit in blocks, young
# enough to be kept), for two series, and 100,000 series of one sample each.
BASE = (int(time.time()) // 3600 - 7) * 3600
MINUTES = 360
MANY = 100_000


def sample_data() -> str:
    """demo{instance="a"} = 1.5 k at minute k; demo{instance="b"} = -k for the first half;
    many{i="0".."99999"} = 1 at BASE."""
    lines = ["# TYPE demo gauge"]
    lines += [f'demo{{instance="a"}} {k * 1.5} {BASE + 60 * k}' for k in range(MINUTES)]
    lines += [f'demo{{instance="b"}} {-k} {BASE + 60 * k}' for k in range(MINUTES // 2)]
    lines += ["# TYPE many gauge"]
    lines += [f'many{{i="{i}"}} 1 {BASE}' for i in range(MANY)]
    return "\n".join([*lines, "# EOF", ""])


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: run `make setup` (it installs Debian's prometheus)")
    return path


class PrometheusServer:
    def __init__(self, openmetrics: str | None = None, config: str | None = None) -> None:
        """Loads `openmetrics` (history) when given, and starts with `config` as its
        prometheus.yml (no scrapes by default)."""
        self.directory = Path(tempfile.mkdtemp(prefix="aiops-prometheus-"))
        if openmetrics is not None:
            (self.directory / "data.om").write_text(openmetrics)
            command = ["tsdb", "create-blocks-from", "openmetrics", "data.om", "tsdb"]
            try:
                run_checked([binary("promtool"), *command], cwd=self.directory, timeout=120)
            except BaseException:
                shutil.rmtree(self.directory, ignore_errors=True)
                raise
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = config or "global:\n  scrape_interval: 15s\n"
        # The log goes to a file (kept across restarts): a pipe nobody reads stalls the server.
        self.log_path = self.directory / "prometheus.log"
        self.log = self.log_path.open("ab")
        self.start()

    def start(self, config: str | None = None) -> None:
        """Starts Prometheus on the data directory (again, after `kill`), with `config` as its
        prometheus.yml when given; ready once /-/ready answers 200 (the TSDB is open). Stopped,
        directory and all, if it is not."""
        if config is not None:
            self.config = config
        (self.directory / "prometheus.yml").write_text(self.config)
        self.process = subprocess.Popen(
            [
                binary("prometheus"),
                "--config.file=prometheus.yml",
                "--storage.tsdb.path=tsdb",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            cwd=self.directory,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(
                "prometheus", self.process, http_probe(f"{self.url}/-/ready"), self.log_path
            )
        except BaseException:
            self.stop()
            raise

    def kill(self) -> None:
        """Stops the process, keeping its data for `start`."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.kill()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
