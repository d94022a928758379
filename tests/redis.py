"""A throw-away Redis on loopback for the tests, from Debian's redis-server, with no persistence:
the bus keeps nothing in Redis that the event log does not have."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.postgres import (
    NotReady,
    ServerError,
    free_port,
    log_tail,
    probe_command,
    wait_until_ready,
)


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server not found: run `make setup` (it installs Debian's redis-server)"
            )
        self.binary = binary
        # redis-cli comes with redis-tools, which redis-server depends on; a raw PING otherwise.
        self.cli = shutil.which("redis-cli")
        self.directory = Path(tempfile.mkdtemp(prefix="aiops-redis-"))
        self.log_path = self.directory / "redis.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Ready once it answers PING. Killed again if it does not."""
        # The log goes to a file (kept across restarts): a pipe nobody reads stalls the server.
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.directory],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until_ready("redis-server", self.process, self.ping, self.log_path)
        except BaseException:
            self.kill()
            raise

    def ping(self) -> None:
        """A readiness probe: raises NotReady unless the server answers PING with PONG."""
        if self.cli is not None:
            answer = probe_command([self.cli, "-h", "127.0.0.1", "-p", str(self.port), "ping"])
            if answer.strip() != "PONG":
                raise NotReady(f"`redis-cli ping` answered {answer!r}")
            return
        try:
            answer_bytes = self._send(b"PING\r\n", timeout=2)
        except OSError as error:
            raise NotReady(f"PING to 127.0.0.1:{self.port}: {error}") from None
        if answer_bytes != b"+PONG\r\n":
            raise NotReady(f"PING answered {answer_bytes!r}")

    def _send(self, command: bytes, timeout: float) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as connection:
            connection.sendall(command)
            return connection.recv(256)

    def flush(self) -> None:
        """Empties it between tests: a test's replicas must not see the last test's events."""
        answer = self._send(b"FLUSHALL\r\n", timeout=5)
        if answer != b"+OK\r\n":
            raise ServerError(f"FLUSHALL answered {answer!r}" + log_tail(self.log_path))

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
            self.process = None
            self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
