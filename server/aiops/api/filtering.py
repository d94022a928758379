"""A small subset of AIP-160 filters: `field op value` comparisons joined by AND."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from aiops.validation import invalid, shorten

MAX_FILTER_LENGTH = 1000

_TERM = re.compile(
    r"""\s*(?P<field>[a-z_][a-z0-9_.]*)\s*(?P<op><=|>=|!=|=|<|>)\s*
        (?P<value>"(?:[^"\\]|\\.)*"|[^\s"()]+)\s*""",
    re.VERBOSE,
)
_AND = re.compile(r"AND\b")

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda column, value: column == value,
    "!=": lambda column, value: column != value,
    "<": lambda column, value: column < value,
    "<=": lambda column, value: column <= value,
    ">": lambda column, value: column > value,
    ">=": lambda column, value: column >= value,
}


@dataclass(frozen=True)
class FilterField:
    """A field a filter may name: its column, how a value text becomes a column value, and
    which operators make sense on it."""

    column: InstrumentedAttribute[Any]
    parse: Callable[[str], Any] = str
    operators: frozenset[str] = frozenset({"=", "!="})


def enum_value(enum_type: Any, prefix: str) -> Callable[[str], str]:
    """Accepts `STATE_RUNNING` or `RUNNING`; stores the full name."""
    names = {name for name, number in enum_type.items() if number}

    def parse(text: str) -> str:
        name = text if text.startswith(prefix) else prefix + text
        if name not in names:
            raise ValueError(f"must be one of {', '.join(sorted(names))}")
        return name

    return parse


def parse_filter(text: str, fields: dict[str, FilterField]) -> list[ColumnElement[bool]]:
    """Turns a filter into SQL conditions to AND together; raises INVALID_ARGUMENT on `filter`."""
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid("filter", f"at most {MAX_FILTER_LENGTH} characters, got {len(text)}")
    conditions: list[ColumnElement[bool]] = []
    position = 0
    while text.strip():
        match = _TERM.match(text, position)
        if match is None:
            raise invalid("filter", f"expected `field = value` at {shorten(text[position:], 40)!r}")
        conditions.append(_condition(match, fields))
        position = match.end()
        if position == len(text):
            break
        joiner = _AND.match(text, position)
        if joiner is None:
            raise invalid(
                "filter", f"expected AND at {shorten(text[position:], 40)!r}; OR is not supported"
            )
        position = joiner.end()
    return conditions


def _condition(match: re.Match[str], fields: dict[str, FilterField]) -> ColumnElement[bool]:
    name, op, raw = match["field"], match["op"], match["value"]
    field = fields.get(name)
    if field is None:
        raise invalid("filter", f"unknown field {name!r}; known: {', '.join(sorted(fields))}")
    if op not in field.operators:
        raise invalid("filter", f"{name} does not support {op}")
    text = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith('"') else raw
    try:
        value = field.parse(text)
    except ValueError as e:
        raise invalid("filter", f"{name}: {e}") from None
    condition: ColumnElement[bool] = _OPERATORS[op](field.column, value)
    return condition
