"""A log-pattern detector's templates without a server: mined lines and Loki's patterns counted
per step, new and error templates, Loki's patterns that generalise keeping their id, the bound
on templates, the catalogue saved and restored, and ListLogPatterns' filters."""

from __future__ import annotations

import numpy as np
import pytest

from aiops.detectors.log_patterns import (
    LOKI_PATTERNS,
    MINED,
    Catalogue,
    clean,
    labels_are_error,
    line_is_error,
    list_patterns,
    parse_filter,
)
from aiops.errors import InvalidArgument
from aiops.pipeline.log_patterns import new_miner
from aiops.sources.loki import Patterns

STEP = 60


def mined(max_templates: int = 100) -> Catalogue:
    return Catalogue(MINED, max_templates, new_miner(max_templates, None))


def count(catalogue: Catalogue, time: int, lines: list[str], scale: float = 1.0) -> None:
    ids = catalogue.learn(lines)
    catalogue.count_lines(time, lines, ids, [False] * len(lines), scale)


def test_mined_lines_become_rates_per_step_with_zeros_where_a_template_had_none() -> None:
    catalogue = mined()
    count(catalogue, 60, [f"user {i} logged in from 10.0.0.{i}" for i in range(6)])
    count(catalogue, 120, ["disk /dev/sda1 is 91% full"] * 3)
    rates = catalogue.rates(60, STEP, 3)
    assert rates.values.tolist() == [[6 / STEP, 0, 0], [0, 3 / STEP, 0]]
    first, second = (catalogue.templates[i] for i in rates.ids)
    assert first.text == "user <*> logged in from <*>" and first.count == 6
    assert (first.first_seen, first.last_seen, first.in_baseline) == (60, 60, True)
    assert second.example == "disk /dev/sda1 is 91% full"
    assert catalogue.rates(60, STEP, 3).values.sum() == 0  # counts are taken once


def test_a_template_first_seen_after_the_baseline_is_new_and_errors_are_marked() -> None:
    catalogue = mined()
    count(catalogue, 60, ["GET /a 200 in 3 ms"] * 4)
    catalogue.learnt_baseline = True
    lines = ["level=error msg=<db> connection refused host=db-1"]
    catalogue.count_lines(120, lines, catalogue.learn(lines), [False])
    catalogue.count_lines(180, ["worker 3 stopped"], catalogue.learn(["worker 3 stopped"]), [True])
    (new, labelled) = sorted(catalogue.new_templates(120, 180), key=lambda t: t.first_seen)
    assert new.error and not new.in_baseline and new.first_seen == 120
    assert labelled.error  # its stream said so
    assert catalogue.new_templates(180, 240) == [labelled]


def test_a_cut_step_counts_each_line_for_the_lines_it_stands_for() -> None:
    catalogue = mined()
    count(catalogue, 60, ["job 1 done in 5 ms", "job 2 done in 7 ms"], scale=2.5)
    assert catalogue.rates(60, STEP, 1).values.tolist() == [[5 / STEP]]
    assert next(iter(catalogue.templates.values())).count == 2  # lines mined


def test_the_miner_bound_holds_and_its_evictions_are_counted() -> None:
    catalogue = mined(max_templates=10)
    for k in range(5):
        lines = [f"{'x' * (k + 1)} {'y' * j} z{'w' * j}" for j in range(1, 9)]
        count(catalogue, 60 * (k + 1), lines)
    assert len(catalogue.templates) <= 10
    assert catalogue.evicted >= 30


def patterns(texts: list[str], counts: list[list[int]], start: int = 0) -> Patterns:
    return Patterns(texts, ["unknown"] * len(texts), start, STEP, np.array(counts, dtype=np.int64))


def test_loki_patterns_get_ids_and_a_generalised_pattern_keeps_its_id() -> None:
    catalogue = Catalogue(LOKI_PATTERNS, 100)
    added = catalogue.count_patterns(
        patterns(["GET /a 200", "level=error db down"], [[1, 2], [0, 3]]), 60
    )
    assert added == [1, 2]  # the ids to ask an example line of
    assert catalogue.rates(60, STEP, 2).values.tolist() == [[1 / STEP, 2 / STEP], [0, 3 / STEP]]
    assert catalogue.templates[2].error and not catalogue.templates[1].error
    # Loki finds more variety and rewrites the pattern: the same template, its id kept.
    again = catalogue.count_patterns(patterns(["GET <_> 200"], [[0, 0, 4]]), 180)
    assert again == [] and catalogue.templates[1].text == "GET <_> 200"
    assert catalogue.templates[1].count == 7 and catalogue.templates[1].last_seen == 180
    # Buckets counted before are not counted again.
    catalogue.count_patterns(patterns(["GET <_> 200"], [[0, 0, 4]]), 240)
    assert catalogue.templates[1].count == 7


def test_loki_patterns_beyond_the_bound_forget_the_least_recently_seen() -> None:
    catalogue = Catalogue(LOKI_PATTERNS, 10)
    texts = [f"event {'a' * i} happened" for i in range(12)]
    catalogue.count_patterns(patterns(texts, [[1, 0] if i < 5 else [0, 1] for i in range(12)]), 60)
    assert len(catalogue.templates) == 10 and catalogue.evicted == 2
    # The two forgotten were last seen at the first step (ties: the younger ids go).
    assert sorted(catalogue.templates) == [1, 2, 3, *range(6, 13)]


@pytest.mark.parametrize("source", [MINED, LOKI_PATTERNS])
def test_a_catalogue_is_saved_and_restored_whole(source: str) -> None:
    catalogue = mined() if source == MINED else Catalogue(LOKI_PATTERNS, 100)
    if source == MINED:
        count(catalogue, 60, ["cache hit for key 17", "cache hit for key 18"])
    else:
        catalogue.count_patterns(patterns(["cache hit for <_>"], [[2]]), 60)
    catalogue.learnt_baseline = True
    restored = Catalogue.from_bytes(catalogue.to_bytes(), new_miner)
    assert restored.templates == catalogue.templates
    assert (restored.source, restored.learnt_baseline) == (source, True)
    if source == MINED:
        lines = ["cache hit for key 99"]
        assert restored.learn(lines).tolist() == catalogue.learn(lines).tolist()
    with pytest.raises(ValueError):
        Catalogue.from_bytes(b"nonsense", new_miner)


def test_levels_and_clean_text() -> None:
    assert line_is_error("2026-01-01 ERROR failed to connect")
    assert line_is_error("level=error msg=x") and not line_is_error("level=info msg=error")
    assert labels_are_error({"level": "ERROR"}) and not labels_are_error({"level": "warn"})
    assert clean("a\udcff" + "b" * 5000) == "a?" + "b" * 4094


def test_filters_select_and_bad_ones_name_the_filter() -> None:
    catalogue = Catalogue(LOKI_PATTERNS, 100)
    catalogue.count_patterns(
        patterns(["level=error db down <_>", "GET <_> 200 ok"], [[5, 2], [3, 3]]), 60
    )
    name = "detectors/d"

    def names(text: str) -> list[str]:
        items, _, _ = list_patterns(name, catalogue, None, parse_filter(text), 0, 10, 0.95, 0.99)
        return [item.template for item in items]

    assert names("") == ["level=error db down <_>", "GET <_> 200 ok"]  # most lines first
    assert names("error = true") == ["level=error db down <_>"]
    assert names('template:"GET" AND count >= 6') == ["GET <_> 200 ok"]
    assert names("count > 7") == []
    for bad in ["colour = red", "count > lots", "error = yes", "template > 1", "a = 1 OR b = 2"]:
        with pytest.raises(InvalidArgument) as raised:
            parse_filter(bad)
        assert [v.field for v in raised.value.violations] == ["filter"]
