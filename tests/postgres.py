"""A throw-away PostgreSQL cluster on loopback for the tests, from the Debian server binaries;
and what all the tests' throw-away servers share: a free port, commands whose failure says why,
and waiting until a server answers (an open port is not yet a server that answers)."""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

Command = Sequence[str | os.PathLike[str]]
LOG_TAIL = 2000  # characters of a server's log that an error quotes


class ServerError(RuntimeError):
    """A test server, or a command run on it, failed; the message says what ran, what it said,
    and how the server's log ends."""


class NotReady(Exception):
    """Raised by a readiness probe while the server does not answer yet; the message says how
    it failed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def log_tail(log: Path | None, chars: int = LOG_TAIL) -> str:
    """The end of the server log `log`, as a section to append to an error message."""
    if log is None:
        return ""
    try:
        text = log.read_text(errors="replace")
    except OSError as error:
        return f"\n--- {log}: unreadable: {error}"
    if len(text) > chars:
        return f"\n--- {log}, last {chars} characters ---\n{text[-chars:]}"
    return f"\n--- {log} ---\n{text}"


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _run(command: Command, timeout: float, cwd: Path | None) -> tuple[str, str | None]:
    """Runs `command`: (its stdout, None) when it succeeds, else (its stdout, a description of
    the failure with its exit code, stderr and stdout)."""
    shown = shlex.join(str(part) for part in command)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as error:
        # What it wrote until then, as bytes: run() does not decode it.
        status, stdout, stderr = (
            f"timed out after {timeout:g} s",
            _text(error.stdout),
            _text(error.stderr),
        )
    except OSError as error:
        return "", f"`{shown}` did not run: {error}"
    else:
        if result.returncode == 0:
            return result.stdout, None
        status, stdout, stderr = (
            f"exited with code {result.returncode}",
            result.stdout,
            result.stderr,
        )
    why = f"`{shown}` {status}"
    for name, output in (("stderr", stderr), ("stdout", stdout)):
        text = output.rstrip()
        why += f"\n--- {name} ---\n{text}" if text else f"\n--- {name}: empty"
    return stdout, why


def run_checked(
    command: Command, *, log: Path | None = None, timeout: float = 60, cwd: Path | None = None
) -> str:
    """Runs `command` and returns its stdout; when it fails or times out, raises ServerError
    with its exit code, stderr and stdout, and the tail of the server log `log`."""
    stdout, why = _run(command, timeout, cwd)
    if why is not None:
        raise ServerError(why + log_tail(log))
    return stdout


def probe_command(command: Command, timeout: float = 15) -> str:
    """A readiness probe's command: its stdout, or NotReady saying how it failed."""
    stdout, why = _run(command, timeout, None)
    if why is not None:
        raise NotReady(why)
    return stdout


def http_probe(url: str) -> Callable[[], None]:
    """A probe that a GET of `url` answers 200."""

    def probe() -> None:
        try:
            response = httpx.get(url, timeout=2)
        except httpx.TransportError as error:
            raise NotReady(f"GET {url}: {type(error).__name__}: {error}") from None
        if response.status_code != 200:
            raise NotReady(f"GET {url}: {response.status_code} {response.text[:500]}")

    return probe


def wait_until_ready(
    name: str,
    process: subprocess.Popen[bytes],
    probe: Callable[[], None],
    log: Path,
    seconds: float = 60,
) -> None:
    """Until `probe` passes (it raises NotReady until the server answers a real request); raises
    ServerError with the tail of the server's `log` if `process` exits first or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        code = process.poll()
        if code is not None:
            raise ServerError(f"{name} exited with code {code} before it was ready" + log_tail(log))
        try:
            probe()
            return
        except NotReady as error:
            why = str(error)
        if time.monotonic() >= deadline:
            raise ServerError(
                f"{name} was not ready within {seconds:g} s; the last check: {why}" + log_tail(log)
            )
        time.sleep(0.1)


def find_bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise RuntimeError(
        "PostgreSQL server binaries not found: run `make setup` "
        "(it installs Debian's postgresql package)"
    )


class PostgresCluster:
    """initdb + postgres in a temporary directory; as the `postgres` user when run as root,
    because PostgreSQL refuses to run as root."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.directory = Path(tempfile.mkdtemp(prefix="aiops-pg-"))
        self.log_path = self.directory / "postgres.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Ready once it answers a query, not once its port opens: it accepts connections a
        moment before it serves them. Stopped again, directory and all, if it fails."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        data = self.directory / "data"
        if self.as_user:
            shutil.chown(self.directory, "postgres", "postgres")
        run_checked(
            [*self.as_user, self.bindir / "initdb", "-D", data, "-U", "postgres",
             "--auth=trust", "--no-sync", "--encoding=UTF8"],
            timeout=120,
        )  # fmt: skip
        # The server's log goes to a file: a pipe nobody reads fills up and stalls the server.
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*self.as_user, self.bindir / "postgres", "-D", data, "-p", str(self.port),
             "-k", self.directory, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip
        wait_until_ready("postgres", self.process, self.answers, self.log_path)

    def answers(self) -> None:
        """A readiness probe: pg_isready, and a query."""
        probe_command(
            [self.bindir / "pg_isready", "-h", "127.0.0.1", "-p", str(self.port),
             "-U", "postgres", "-d", "postgres", "-t", "5"],
        )  # fmt: skip
        probe_command(self.psql("SELECT 1"))

    def psql(self, sql: str) -> list[str | os.PathLike[str]]:
        return [
            self.bindir / "psql", "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql,
        ]  # fmt: skip

    def execute(self, sql: str) -> None:
        """Runs administrative SQL through psql (a subprocess needs no event loop); raises
        ServerError with psql's message and the tail of the server's log when it fails."""
        run_checked(self.psql(sql), log=self.log_path, timeout=60)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: smart shutdown; connections are closed by now
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
            self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
