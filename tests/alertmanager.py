"""A real Alertmanager on loopback for the tests: Debian's binary, a fresh data directory and a
receiver that sends nothing on, stopped again at the end."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tests.postgres import free_port, http_probe, wait_until_ready
from tests.prometheus import binary

CONFIG = """\
route:
  receiver: nowhere
  group_wait: 1s
receivers:
  - name: nowhere
"""


class AlertmanagerServer:
    def __init__(self, port: int | None = None) -> None:
        """Started on `port` (a free one when None); ready once its API answers."""
        self.directory = Path(tempfile.mkdtemp(prefix="aiops-alertmanager-"))
        (self.directory / "alertmanager.yml").write_text(CONFIG)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.directory / "alertmanager.log"
        self.log = self.log_path.open("ab")
        self.start()

    def start(self) -> None:
        """Starts it (again, after `kill`: it forgets its alerts, as a fresh one would)."""
        self.process = subprocess.Popen(
            [
                binary("prometheus-alertmanager"),
                "--config.file=alertmanager.yml",
                "--storage.path=data",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # alone: no gossip port
            ],
            cwd=self.directory,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(
                "alertmanager", self.process, http_probe(f"{self.url}/api/v2/status"), self.log_path
            )
        except BaseException:
            self.stop()
            raise

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts it holds that have not ended (a resolved one is not listed)."""
        response = httpx.get(f"{self.url}/api/v2/alerts", timeout=10, trust_env=False)
        alerts: list[dict[str, Any]] = response.raise_for_status().json()
        return alerts

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.kill()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
