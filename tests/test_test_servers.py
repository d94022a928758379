"""The tests' own throw-away servers: ready when they answer, and when anything fails, an error
that says which command failed, what it said, and how the server's log ends."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import (
    NotReady,
    PostgresCluster,
    ServerError,
    free_port,
    http_probe,
    log_tail,
    run_checked,
    wait_until_ready,
)
from tests.redis import RedisServer


def never_ready() -> None:
    raise NotReady("connection refused, as it were")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "server.log"


@pytest.fixture
def sleeper(log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A 'server' that logs a line and then never answers."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["sh", "-c", "echo listening, or so it says; exec sleep 60"], stdout=output
        )
    yield process
    process.kill()
    process.wait()


def test_a_failed_psql_says_what_psql_said(postgres: PostgresCluster) -> None:
    with pytest.raises(ServerError) as raised:
        postgres.execute("SELEC 1")
    message = str(raised.value)
    assert "psql" in message
    assert "exited with code 1" in message
    assert 'syntax error at or near "SELEC"' in message
    assert str(postgres.log_path) in message  # and the server's log after it


def test_postgres_is_ready_when_it_answers_a_query(postgres: PostgresCluster) -> None:
    postgres.answers()
    postgres.execute("SELECT 1")


def test_a_server_that_exits_at_once_is_reported_with_its_log(log: Path) -> None:
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["sh", "-c", "echo 'FATAL: could not bind' >&2; exit 3"], stderr=output
        )
    with pytest.raises(ServerError) as raised:
        wait_until_ready("sh", process, never_ready, log, seconds=30)
    message = str(raised.value)
    assert "sh exited with code 3 before it was ready" in message
    assert "FATAL: could not bind" in message


def test_a_server_that_never_answers_is_reported_with_the_last_check_and_its_log(
    log: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    with pytest.raises(ServerError) as raised:
        wait_until_ready("sleeper", sleeper, never_ready, log, seconds=0.3)
    message = str(raised.value)
    assert "sleeper was not ready within 0.3 s" in message
    assert "connection refused, as it were" in message
    assert "listening, or so it says" in message


def test_a_failed_command_says_its_exit_code_stderr_stdout_and_the_server_log(log: Path) -> None:
    log.write_text("the server's last words\n")
    with pytest.raises(ServerError) as raised:
        run_checked(["sh", "-c", "echo to stdout; echo to stderr >&2; exit 4"], log=log)
    message = str(raised.value)
    assert "`sh -c 'echo to stdout; echo to stderr >&2; exit 4'` exited with code 4" in message
    assert "--- stderr ---\nto stderr" in message
    assert "--- stdout ---\nto stdout" in message
    assert "the server's last words" in message
    assert run_checked(["echo", "fine"]) == "fine\n"


def test_a_command_that_hangs_says_so_with_what_it_wrote(log: Path) -> None:
    with pytest.raises(ServerError, match=r"timed out after 0\.5 s[\s\S]*partial"):
        run_checked(["sh", "-c", "echo partial; exec sleep 30"], timeout=0.5)


def test_only_the_tail_of_a_long_log_is_quoted(log: Path) -> None:
    log.write_text("start " + "x" * 5000 + " end")
    tail = log_tail(log)
    assert "end" in tail
    assert "start" not in tail
    assert "last 2000 characters" in tail
    assert "unreadable" in log_tail(log.parent / "missing.log")


def test_an_http_probe_on_a_closed_port_is_not_ready() -> None:
    with pytest.raises(NotReady, match=r"GET http://127\.0\.0\.1:\d+/ready: ConnectError"):
        http_probe(f"http://127.0.0.1:{free_port()}/ready")()


def test_redis_answers_ping_with_redis_cli_and_without(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server.ping()
    monkeypatch.setattr(redis_server, "cli", None)  # the raw-socket PING
    redis_server.ping()


def test_redis_answers_ping_after_start_and_not_after_a_kill() -> None:
    server = RedisServer()
    try:
        server.start()
        server.ping()
        server.kill()
        with pytest.raises(NotReady):
            server.ping()
        server.start()  # again, on the same port, as the event bus tests do
        server.ping()
    finally:
        server.stop()
