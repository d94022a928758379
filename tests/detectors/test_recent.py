"""What a detector scored lately, kept for charts: the ring's window, wrap-around, new series,
its memory bound; and the series selector and ranking that read it."""

from __future__ import annotations

import numpy as np
import pytest

from aiops.detectors.recent import FIELDS, RecentScores, RecentScoresRegistry
from aiops.detectors.series import list_series, parse_selector, ranked, read_scores
from aiops.errors import InvalidArgument

STEP = 60
A, B, C = {"instance": "a"}, {"instance": "b", "job": "api"}, {"instance": "c", "job": "db"}
M = {"__name__": "m", "instance": "x"}


def scored(series: int, points: int, base: float) -> list[np.ndarray]:
    """values, scores, expected, lower, upper [series, points]: value = base + row*1000 + k."""
    values = base + np.arange(points)[None, :] + 1000.0 * np.arange(series)[:, None]
    scores = np.full((series, points), 0.1)
    return [values, scores, values - 1, values - 5, values + 5]


def record(ring: RecentScores, labels: list[dict[str, str]], start: int, points: int) -> None:
    ring.record(labels, start, *scored(len(labels), points, float(start // STEP)))


def test_a_window_is_the_points_kept_exactly_as_recorded() -> None:
    ring = RecentScores(STEP, capacity=10)
    record(ring, [A, B], 600, 4)  # minutes 10..13
    window = ring.window(1, None, None)
    assert window is not None
    assert window.labels == B and window.start == 600
    values, scores, expected, lower, upper = window.points
    assert values.tolist() == [1010.0, 1011.0, 1012.0, 1013.0]
    assert scores.tolist() == [0.1] * 4
    assert (lower.tolist(), upper.tolist()) == ([v - 5 for v in values], [v + 5 for v in values])
    assert expected.tolist() == [v - 1 for v in values]
    assert ring.oldest() == 600 and ring.latest == 780


def test_the_ring_keeps_the_last_capacity_steps_and_its_memory_stays_bounded() -> None:
    ring = RecentScores(STEP, capacity=10)
    for minute in range(0, 100, 3):
        record(ring, [A], minute * STEP, 3)
    before = ring.memory_bytes()
    record(ring, [A], 102 * STEP, 50)  # more points at once than the ring holds
    assert ring.memory_bytes() == before == 10 * len(FIELDS) * 8 + 10 * 8
    window = ring.window(0, None, None)
    assert window is not None
    assert window.start == 142 * STEP and window.points.shape == (5, 10)
    assert window.points[0].tolist() == [102.0 + k for k in range(40, 50)]


def test_a_range_cuts_the_window_and_a_gap_is_nan() -> None:
    ring = RecentScores(STEP, capacity=100)
    record(ring, [A], 0, 5)  # minutes 0..4
    record(ring, [A], 8 * STEP, 2)  # minutes 8, 9: 5..7 were never scored
    window = ring.window(0, 3 * STEP, 8 * STEP)
    assert window is not None and window.start == 3 * STEP
    assert np.isnan(window.points[0, 2:5]).all()
    assert window.points[0, [0, 1, 5]].tolist() == [3.0, 4.0, 8.0]
    assert ring.window(0, 5 * STEP, 7 * STEP) is None  # nothing kept there


def test_a_series_that_appears_later_has_nothing_before_it() -> None:
    ring = RecentScores(STEP, capacity=100)
    record(ring, [A], 0, 5)
    record(ring, [A, C], 5 * STEP, 2)
    window = ring.window(1, None, None)
    assert window is not None and window.labels == C and window.start == 5 * STEP
    assert window.points[0].tolist() == [1005.0, 1006.0]


def test_the_registry_resumes_a_ring_and_forgets_deleted_detectors() -> None:
    registry = RecentScoresRegistry(capacity=10)
    ring = registry.fresh("x", STEP)
    assert registry.resume("x", STEP) is ring
    assert registry.resume("x", 2 * STEP) is not ring  # another step: another grid
    registry.fresh("y", STEP)
    registry.keep_only({"y"})
    assert [key for key, _ in registry.items()] == ["y"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", [A, B, C, M]),
        ("{}", [A, B, C, M]),
        ('{instance="b"}', [B]),
        ('instance!="b"', [A, C, M]),
        ('{job=~"api|db"}', [B, C]),
        ('{job=~"ap"}', []),  # a regular expression matches the whole value
        ('{job!~"api"}', [A, C, M]),  # a missing label is ""
        ('{job=""}', [A, M]),
        ('{instance=~"[ab]", job="api"}', [B]),
        ('{ instance = "a" , }', [A]),
        ('{instance="a\\"b"}', []),
        ('e2e{instance="a"}', []),  # a metric name outside the braces is __name__
        ('{__name__="m"}', [M]),
        ('m{instance=~"\\\\w"}', [M]),  # PromQL's escapes: \\w is the expression \w
        ("m", [M]),
    ],
)
def test_a_selector_matches_as_in_prometheus(selector: str, expected: list[dict[str, str]]) -> None:
    labels = [A, B, C, M]
    matchers = parse_selector(selector, "filter")
    assert [x for x in labels if all(m.matches(x) for m in matchers)] == expected


def test_regular_expressions_are_re2s_as_in_prometheus() -> None:
    """Linear in the value's length: `(a*)*b` would backtrack for ages in Python's `re`."""
    [matcher] = parse_selector('{path=~"(a*)*b"}', "filter")
    assert not matcher.matches({"path": "a" * 100_000})
    assert matcher.matches({"path": "aab"})
    with pytest.raises(InvalidArgument, match="bad regular expression"):
        parse_selector(r'{path=~"(a)\\1"}', "filter")  # no backreferences in RE2


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("{instance=a}", 'expected label="value"'),
        ('{instance="a"', "no closing brace"),
        ('instance="a"}', "no opening brace"),
        ('{a="\\w"}', "unknown escape \\w in a value: a backslash is \\\\"),
        ('{a="\\777"}', "escape \\777 is not a character"),
        ('up{a="x"', "no closing brace"),
        ('{job=~"("}', "bad regular expression"),
        ('{1x="a"}', 'expected label="value"'),
        ('{a="x" b="y"}', "expected a comma after 'a=\"x\"'"),
        ('{a="x",,}', 'expected label="value"'),
        ('{a=="x"}', 'expected label="value"'),
        ("{" + 'a="x",' * 1000 + "}", "at most 4096 bytes"),
    ],
)
def test_a_bad_selector_is_invalid_argument_on_its_field(selector: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_selector(selector, "filter")
    [violation] = raised.value.violations
    assert violation.field == "filter"
    assert message in violation.description


def test_series_are_ranked_by_their_latest_score_then_labels_and_paged() -> None:
    ring = RecentScores(STEP, capacity=10)
    values, scores, *band = scored(3, 2, 0.0)
    scores[:, -1] = [0.5, 0.995, 0.5]  # B is critical now; A and C tie
    scores[1, 0] = 0.0
    ring.record([A, B, C], 0, values, scores, *band)
    assert ranked(ring, []) == [1, 0, 2]
    page, after, total = list_series(ring, [], 0, 2, 0.9, 0.99)
    assert [(p.labels["instance"], p.score, p.severity) for p in page] == [
        ("b", 0.995, 2),
        ("a", 0.5, 0),
    ]
    assert page[0].value == 1001.0 and page[0].time.seconds == STEP
    assert (after, total) == (2, 3)
    last, after, _ = list_series(ring, [], 2, 2, 0.9, 0.99)
    assert [p.labels["instance"] for p in last] == ["c"] and after == 0
    assert list_series(None, [], 0, 10, 0.9, 0.99) == ([], 0, 0)


def test_a_scores_page_stays_under_4_mib_with_long_labels() -> None:
    """1000 series with 360 bytes of labels each and 100 points: points alone would fit."""
    ring = RecentScores(STEP, capacity=100)
    labels = [{"pod": f"{i:04d}" + "x" * 356} for i in range(1000)]
    ring.record(labels, 0, *scored(1000, 100, 0.0))
    offset, sizes, seen = 0, [], 0
    while True:
        page, offset = read_scores(ring, [], None, None, offset, 1000)
        sizes.append(page.ByteSize())
        seen += len(page.series)
        if offset == 0:
            break
    assert seen == 1000 and len(sizes) == 2
    assert max(sizes) <= 4 * 1024 * 1024


def test_a_series_too_big_for_a_page_comes_with_its_newest_points() -> None:
    ring = RecentScores(STEP, capacity=150_000)
    ring.record([A], 0, *scored(1, 120_000, 0.0))
    page, offset = read_scores(ring, [], None, None, 0, 10)
    [series] = page.series
    assert offset == 0 and page.ByteSize() <= 4 * 1024 * 1024
    kept = len(series.values)
    assert 100_000 < kept < 120_000
    assert series.start_time.seconds == (120_000 - kept) * STEP
    assert series.values[-1] == 119_999.0


def test_a_scores_page_ends_before_it_holds_too_many_points() -> None:
    ring = RecentScores(STEP, capacity=60_000)
    labels = [{"i": str(i)} for i in range(3)]
    ring.record(labels, 0, *scored(3, 40_000, 0.0))
    first, after = read_scores(ring, [], None, None, 0, 10)
    assert len(first.series) == 2 and after == 2  # 80,000 points; a third would pass 100,000
    assert first.step.seconds == STEP and first.oldest_time.seconds == 0
    rest, after = read_scores(ring, [], None, None, 2, 10)
    assert len(rest.series) == 1 and after == 0
