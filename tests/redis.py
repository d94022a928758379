"""A throw-away Redis on loopback for the tests, from Debian's redis-server, with no persistence:
the bus keeps nothing in Redis that the event log does not have."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.postgres import free_port, wait_until_listening


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server not found: run `make setup` (it installs Debian's redis-server)"
            )
        self.binary = binary
        self.directory = Path(tempfile.mkdtemp(prefix="aiops-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.directory],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until_listening("redis-server", self.process, self.port, self.directory / "redis.log")

    def flush(self) -> None:
        """Empties it between tests: a test's replicas must not see the last test's events."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            connection.sendall(b"FLUSHALL\r\n")
            answer = connection.recv(64)
        if answer != b"+OK\r\n":
            raise RuntimeError(f"FLUSHALL answered {answer!r}")

    def kill(self) -> None:
        """Gone at once, as in a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
            self.log.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
