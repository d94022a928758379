"""A log line's severity, guessed from the level words it holds (a hint, not a parser)."""

from __future__ import annotations

LEVELS = ("error", "warn", "info", "debug")

_WORDS = {
    "error": "error", "err": "error", "fatal": "error", "critical": "error", "crit": "error",
    "severe": "error", "emerg": "error", "emergency": "error", "alert": "error", "panic": "error",
    "e": "error", "f": "error",
    "warn": "warn", "warning": "warn", "w": "warn",
    "info": "info", "notice": "info", "information": "info", "i": "info", "n": "info",
    "debug": "debug", "trace": "debug", "fine": "debug", "finer": "debug", "finest": "debug",
    "verbose": "debug", "d": "debug", "v": "debug",
}  # fmt: skip
_SINGLE_LETTERS = frozenset("efwindv")
_STRIP = "[]()<>{}:;,.='\"|"


def line_level(line: str, max_tokens: int = 12) -> str | None:
    """'error', 'warn', 'info', 'debug' or None, from the first level word among the first
    `max_tokens` tokens (where a header puts it): ERROR, ERR, FATAL, CRITICAL, SEVERE, EMERG,
    ALERT, PANIC -> 'error'; WARN, WARNING -> 'warn'; INFO, NOTICE -> 'info'; DEBUG, TRACE,
    FINE -> 'debug', in any case and bracketed or not (`[error]`, `<WARN>`, `level=info`).
    Single-letter levels (Android's `E`, `W`, `I`, `D`) count only in upper case. A line with
    no level word that mentions an exception, a traceback or a panic elsewhere is 'error'."""
    tokens = line.split(None, max_tokens)
    for token in tokens[:max_tokens]:
        word = token.strip(_STRIP)
        if "=" in word:  # level=info, severity=ERROR
            key, _, word = word.partition("=")
            if key.lower() not in ("level", "lvl", "severity", "loglevel"):
                continue
            word = word.strip(_STRIP)
        lower = word.lower()
        if len(lower) == 1 and not (word.isupper() and lower in _SINGLE_LETTERS):
            continue
        level = _WORDS.get(lower)
        if level is not None:
            return level
    lower = line.lower()
    if "exception" in lower or "traceback" in lower or "panic:" in lower:
        return "error"
    return None
