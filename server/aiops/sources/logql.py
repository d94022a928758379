"""The shape of a LogQL log query, without Loki: its stream selector and what follows it (line
filters, parsers). Loki itself is the judge of the rest; this tells a log query from a metric
query and finds the selector that Loki's patterns endpoint takes."""

from __future__ import annotations

_QUOTES = {'"', "`"}


def split_selector(query: str) -> tuple[str, str] | None:
    """(`{...}`, the pipeline after it, stripped) of a log query; None when the query does not
    start with a stream selector (a metric query) or the selector's braces do not close.
    Braces inside quoted values (`{path="/a}"}`) do not count."""
    text = query.strip()
    if not text.startswith("{"):
        return None
    position = 1
    while position < len(text):
        char = text[position]
        if char in _QUOTES:
            position = _after_string(text, position)
            if position < 0:
                return None
            continue
        if char == "}":
            return text[: position + 1], text[position + 1 :].strip()
        position += 1
    return None


def _after_string(text: str, start: int) -> int:
    """The position after the string that starts at `start`; -1 when it does not end. Go's
    double-quoted strings have backslash escapes; backquoted ones have none."""
    quote = text[start]
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "\\" and quote == '"':
            position += 2
            continue
        if char == quote:
            return position + 1
        position += 1
    return -1
