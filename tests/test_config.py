"""Settings precedence and the errors an operator gets for bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.config import Settings, load_settings


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aiops.toml"
    path.write_text(text)
    return path


def test_defaults_listen_on_loopback_with_a_sqlite_file() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.grpc_address == "127.0.0.1:50051"
    assert settings.database_url == "sqlite+aiosqlite:///aiops.db"


def test_flags_beat_environment_beats_file_beats_defaults(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        'grpc_address = "127.0.0.1:1"\ndatabase_url = "sqlite+aiosqlite:///file.db"\n'
        'heartbeat_interval = 2.5\nlog_level = "DEBUG"\n',
    )
    environ = {"AIOPS_GRPC_ADDRESS": "127.0.0.1:2", "AIOPS_DATABASE_URL": "sqlite+aiosqlite:///e"}
    settings = load_settings({"grpc_address": "127.0.0.1:3"}, environ, config)
    assert settings.grpc_address == "127.0.0.1:3"  # flag
    assert settings.database_url == "sqlite+aiosqlite:///e"  # environment
    assert settings.heartbeat_interval == 2.5  # file
    assert settings.log_level == "DEBUG"  # file


def test_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    config = write_config(tmp_path, "heartbeat_interval = 7\n")
    settings = load_settings(environ={"AIOPS_CONFIG": str(config)})
    assert settings.heartbeat_interval == 7.0


@pytest.mark.parametrize(("text", "value"), [("false", False), ("0", False), ("True", True)])
def test_booleans_read_from_the_environment(text: str, value: bool) -> None:
    assert load_settings(environ={"AIOPS_RUN_DETECTORS": text}).run_detectors is value


def test_flags_left_unset_do_not_override() -> None:
    settings = load_settings({"grpc_address": None}, {"AIOPS_GRPC_ADDRESS": "127.0.0.1:9"})
    assert settings.grpc_address == "127.0.0.1:9"


@pytest.mark.parametrize(
    ("file_text", "environ", "message"),
    [
        ("colour = 1\n", {}, "unknown setting 'colour' in config file"),
        ("", {"AIOPS_HEARTBEAT_INTERVAL": "often"}, "setting 'heartbeat_interval' in environment"),
        ("heartbeat_interval = 0\n", {}, "must be positive"),
        ("", {"AIOPS_LOG_LEVEL": "LOUD"}, "must be one of DEBUG, INFO, WARNING, ERROR"),
        ("", {"AIOPS_RUN_DETECTORS": "maybe"}, "'run_detectors' in environment: not a boolean"),
        ("backfill_points = -5\n", {}, "'backfill_points' in config file .* must be positive"),
        ("", {"AIOPS_EVALUATION_DELAY": "-1"}, "must not be negative"),
    ],
)
def test_bad_settings_name_the_setting_and_where_it_came_from(
    tmp_path: Path, file_text: str, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings(environ=environ, config_file=write_config(tmp_path, file_text))


def test_malformed_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_settings(environ={}, config_file=write_config(tmp_path, "grpc_address = \n"))
