"""How aiops logs: structlog renders every line, aiops' own and the stdlib's (grpc, SQLAlchemy,
alembic, httpx all log through `logging`), as one JSON object per line, or for a person at a
terminal. What is bound with `structlog.contextvars` (a request's id, a detector's name, a data
source's) goes into every line logged in that context, and into the tasks and threads it
starts."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog


def configure(level: str, format: str = "auto", stream: TextIO | None = None) -> None:
    """Sends every logger's lines at `level` (a `logging` level name) or above to `stream`
    (stderr) as JSON (`format` "json", or "auto" when `stream` is not a terminal) or as
    aligned text ("console"). Lines carry `timestamp` (ISO 8601, UTC), `level`, `logger`,
    `event` (the message) and what is bound in their context."""
    stream = stream if stream is not None else sys.stderr
    terminal = stream.isatty()
    as_json = format == "json" or (format == "auto" and not terminal)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendering: list[Any] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if as_json
        else [structlog.dev.ConsoleRenderer(colors=terminal)]
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # The stdlib's lines: their `extra=` fields too.
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a module's logger made before `configure` (in a test) would keep the
        # defaults.
        cache_logger_on_first_use=False,
    )
    # Chatty: a line per migration plugin and per HTTP request (at INFO).
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.INFO)  # a line per connection step at DEBUG
    logging.getLogger("aiosqlite").setLevel(logging.INFO)  # a line per statement at DEBUG
