"""The `aiops` command: serve, migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from aiops import structured_logs
from aiops.config import Settings, load_settings
from aiops.watch import TYPES as WATCH_TYPES

if TYPE_CHECKING:
    from aiops.demo import Demo

log = logging.getLogger("aiops")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiops", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML file of settings (or AIOPS_CONFIG)")
    parser.add_argument(
        "--database-url",
        help=f"SQLAlchemy async URL (AIOPS_DATABASE_URL; default {Settings.database_url})",
    )
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (AIOPS_LOG_LEVEL)")
    parser.add_argument(
        "--log-format",
        help="json (one object per line), console, or auto: json but at a terminal "
        "(AIOPS_LOG_FORMAT)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="migrate the database, then serve gRPC, and the UI and grpc-web (Envoy)"
    )
    serve.add_argument(
        "--grpc-address",
        help=f"host:port to listen on, port 0 for any (AIOPS_GRPC_ADDRESS; "
        f"default {Settings.grpc_address})",
    )
    serve.add_argument(
        "--http-address",
        help="host:port of Envoy: the UI and grpc-web, port 0 for any (AIOPS_HTTP_ADDRESS; "
        f"default {Settings.http_address})",
    )
    serve.add_argument(
        "--no-envoy",
        dest="envoy",
        action="store_const",
        const=False,
        help="start no Envoy, where one runs separately (AIOPS_ENVOY=false)",
    )
    serve.add_argument(
        "--cors-origins",
        help="comma-separated origins of a UI served elsewhere that may call grpc-web, "
        "e.g. http://localhost:5173 (AIOPS_CORS_ORIGINS)",
    )
    serve.add_argument(
        "--metrics-address",
        help="host:port of Prometheus' /metrics, port 0 for any, '' for none "
        f"(AIOPS_METRICS_ADDRESS; default {Settings.metrics_address})",
    )
    serve.add_argument(
        "--heartbeat-interval",
        type=float,
        help="seconds between heartbeat events on every stream (AIOPS_HEARTBEAT_INTERVAL; "
        f"default {Settings.heartbeat_interval})",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="serving processes sharing the gRPC port, each with its own event loop "
        f"(AIOPS_WORKERS; default one per core, {Settings.workers} here)",
    )
    commands.add_parser("migrate", help="bring the database schema up to date")
    watch = commands.add_parser(
        "watch", help="print a server's events as they happen (reconnects and resumes)"
    )
    watch.add_argument(
        "--grpc-address", help=f"the server (AIOPS_GRPC_ADDRESS; default {Settings.grpc_address})"
    )
    watch.add_argument(
        "--type",
        action="append",
        default=[],
        choices=list(WATCH_TYPES),
        help="only these event types (repeatable)",
    )
    watch.add_argument(
        "--detector", action="append", default=[], help="detectors/{id} (repeatable)"
    )
    watch.add_argument(
        "--data-source", action="append", default=[], help="dataSources/{id} (repeatable)"
    )
    watch.add_argument("--min-severity", choices=["warning", "critical"], help="anomalies only")
    watch.add_argument("--after", type=int, default=0, help="replay the events after this sequence")
    watch.add_argument("--json", action="store_true", help="one JSON object per line")

    args = parser.parse_args(argv)
    flags = {
        "database_url": args.database_url,
        "log_level": args.log_level,
        "log_format": args.log_format,
        "grpc_address": getattr(args, "grpc_address", None),
        "heartbeat_interval": getattr(args, "heartbeat_interval", None),
        "http_address": getattr(args, "http_address", None),
        "envoy": getattr(args, "envoy", None),
        "cors_origins": getattr(args, "cors_origins", None),
        "workers": getattr(args, "workers", None),
        "metrics_address": getattr(args, "metrics_address", None),
    }
    try:
        settings = load_settings(flags, config_file=args.config)
    except (ValueError, OSError) as e:
        parser.error(str(e))
    structured_logs.configure(settings.log_level, settings.log_format)

    from sqlalchemy.exc import SQLAlchemyError

    from aiops.store.database import migrate

    if args.command == "watch":
        from aiops.watch import run_watch

        return run_watch(args, settings.grpc_address)

    # An operator's mistakes (a wrong URL, a busy port) get one line, not a traceback.
    try:
        migrate(settings.database_url)
        if args.command == "migrate":
            log.info("database schema is up to date")
            return 0
        asyncio.run(_serve(settings))
    except (OSError, SQLAlchemyError) as e:
        log.error("%s", e)
        return 1
    return 0


async def _serve(settings: Settings) -> None:
    from aiops import heap
    from aiops.app import start_app

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = await start_app(settings)
    heap.freeze()
    # Tests and scripts read this line for the port; keep its shape. Signals are handled
    # before it appears, so whoever reads it may stop the server at once.
    print(f"aiops: serving on {running.address}", flush=True)
    if running.http_url is not None:
        print(f"aiops: UI at {running.http_url}", flush=True)
    if running.metrics is not None:
        print(f"aiops: metrics at {running.metrics.url}", flush=True)
    demo = await _start_demo_or_data_source(settings, running.address)
    await stop.wait()
    log.info("shutting down")
    await running.stop()
    if demo is not None:
        await demo.stop()


async def _start_demo_or_data_source(settings: Settings, address: str) -> Demo | None:
    import grpc

    from aiops import demo

    if settings.prometheus_url:
        async with grpc.aio.insecure_channel(address) as channel:
            await demo.ensure_data_source(
                channel, "prometheus", settings.prometheus_url, "Prometheus (AIOPS_PROMETHEUS_URL)"
            )
        return None
    if not settings.demo or not settings.run_detectors:
        return None
    if not demo.available():
        log.info("no Prometheus configured and no prometheus binary found: no demo")
        return None
    running = demo.Demo()
    await running.start(address)
    return running


if __name__ == "__main__":
    sys.exit(main())
