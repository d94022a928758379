"""line_level: the severity hint."""

from __future__ import annotations

import pytest

from aiops.logs import line_level


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("2015-10-18 18:01:47,978 ERROR [main] o.a.Foo: boom", "error"),
        ("[Sun Dec 04 04:47:44 2005] [error] mod_jk child in error state 6", "error"),
        ("- 1117 2005.06.03 R02 RAS KERNEL FATAL data TLB error interrupt", "error"),
        ("Jun 14 15:16:01 host app: SEVERE: disk gone", "error"),
        ("2015-07-29 17:41:44,747 - WARN  [Send@688] - Send worker leaving", "warn"),
        ("level=warning msg=slow", "warn"),
        ("081109 203615 148 INFO dfs.DataNode: ok", "info"),
        ("03-17 16:13:38.811  1702  2395 D WindowManager: x", "debug"),
        ("03-17 16:13:38.811  1702  2395 E WindowManager: x", "error"),
        ("panic: runtime error: index out of range", "error"),
        ("Traceback (most recent call last):", "error"),
        ("a plain message", None),
        ("", None),
        ("i am here", None),  # a lower-case single letter is a word, not a level
    ],
)
def test_line_level(line: str, level: str | None) -> None:
    assert line_level(line) == level
