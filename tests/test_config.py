"""Settings precedence and the errors an operator gets for bad settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aiops.config import Settings, cors_origins, load_settings


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aiops.toml"
    path.write_text(text)
    return path


def test_defaults_listen_on_loopback_with_a_sqlite_file() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.grpc_address == "127.0.0.1:50051"
    assert settings.database_url == "sqlite+aiosqlite:///aiops.db"
    # Envoy on by default, the UI from the checkout's web/dist, no other origin allowed.
    assert settings.envoy is True
    assert settings.http_address == "127.0.0.1:8080"
    assert settings.cors_origins == ""
    assert settings.metrics_address == "127.0.0.1:9464"  # Prometheus' /metrics, loopback only
    assert Path(settings.ui_dir) == Path(__file__).resolve().parents[1] / "web" / "dist"


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


def test_envoy_is_turned_off_by_the_environment_and_origins_are_a_list() -> None:
    settings = load_settings(
        environ={
            "AIOPS_ENVOY": "false",
            "AIOPS_CORS_ORIGINS": " http://localhost:5173/, https://ui.example.com ,",
        }
    )
    assert settings.envoy is False
    assert cors_origins(settings) == ["http://localhost:5173", "https://ui.example.com"]


def test_one_serving_process_per_core_unless_told() -> None:
    assert load_settings(environ={}).workers == len(os.sched_getaffinity(0))
    assert load_settings({"workers": "3"}, environ={"AIOPS_WORKERS": "1"}).workers == 3


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
        ("", {"AIOPS_ENVOY": "maybe"}, "'envoy' in environment: not a boolean"),
        ("", {"AIOPS_HTTP_ADDRESS": "8080"}, "'http_address' in environment must be ip:port"),
        ("", {"AIOPS_HTTP_ADDRESS": "ui.example.com:80"}, "must be ip:port or localhost:port"),
        ('cors_origins = "localhost:5173"\n', {}, "'localhost:5173' is not an origin"),
        ("", {"AIOPS_CORS_ORIGINS": "http://x/ui"}, "'http://x/ui' is not an origin"),
        ("", {"AIOPS_WORKERS": "0"}, "'workers' in environment must be positive"),
        ("", {"AIOPS_METRICS_ADDRESS": "9464"}, "'metrics_address' in environment must be ip:port"),
        ('metrics_address = "prom:1"\n', {}, "'metrics_address' in config file .* or empty"),
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
