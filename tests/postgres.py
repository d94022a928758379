"""A throw-away PostgreSQL cluster on loopback for the tests, from the Debian server binaries."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def find_bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise RuntimeError(
        "PostgreSQL server binaries not found: run `make setup` "
        "(it installs Debian's postgresql package)"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_listening(
    name: str, process: subprocess.Popen[bytes], port: int, log: Path, seconds: float = 30
) -> None:
    """Until the server `process` accepts connections on `port`; its `log` if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on port {port} within {seconds:g} s")


class PostgresCluster:
    """initdb + postgres in a temporary directory; as the `postgres` user when run as root,
    because PostgreSQL refuses to run as root."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.directory = Path(tempfile.mkdtemp(prefix="aiops-pg-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        data = self.directory / "data"
        if self.as_user:
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(
            [*self.as_user, self.bindir / "initdb", "-D", data, "-U", "postgres",
             "--auth=trust", "--no-sync", "--encoding=UTF8"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        # The server's log goes to a file: a pipe nobody reads fills up and stalls the server.
        self.log = (self.directory / "postgres.log").open("wb")
        self.process = subprocess.Popen(
            [*self.as_user, self.bindir / "postgres", "-D", data, "-p", str(self.port),
             "-k", self.directory, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip
        wait_until_listening("postgres", self.process, self.port, self.directory / "postgres.log")

    def execute(self, sql: str) -> None:
        """Runs administrative SQL through psql (a subprocess needs no event loop)."""
        subprocess.run(
            [self.bindir / "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: smart shutdown; connections are closed by now
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
