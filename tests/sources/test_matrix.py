"""Prometheus matrix responses into numpy: every sample where the json module puts it, values
rounded exactly as float() rounds them, and a precise error for anything else."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import numpy as np
import pytest

from aiops.sources import decimal
from aiops.sources.matrix import ResponseError, parse_matrix

START_MS, STEP_MS = 1_700_000_000_000, 15_000


def parse_decimal(text: str) -> tuple[float, bool]:
    buf = np.frombuffer(text.encode(), dtype=np.uint8)
    return decimal.parse(buf, 0, len(buf))


def decimals() -> list[str]:
    rng = random.Random(7)
    texts = ["0", "-0", "1", "0.1", "1e+06", "1E-5", "123.456", "9007199254740993", "1.", ".5",
             "0.30000000000000004", "1.7976931348623157e308", "2.2250738585072014e-308",
             "0.016666666666666666", "100000000000000000000", "1e-400", "1e400"]  # fmt: skip
    for _ in range(20_000):
        bits = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        texts.append(repr(bits))
        texts.append(repr(rng.random() * 10.0 ** rng.randint(-12, 12)))
        texts.append(f"{rng.randint(1, 10 ** rng.randint(1, 19))}e{rng.randint(-330, 310)}")
    return [text for text in texts if text not in ("nan", "inf", "-inf")]


def test_decimals_round_exactly_as_float_does() -> None:
    decided = 0
    for text in decimals():
        value, ok = parse_decimal(text)
        if ok:  # otherwise the caller asks float()
            decided += 1
            assert struct.pack("d", value) == struct.pack("d", float(text)), text
    assert decided > 0.95 * len(decimals())


@pytest.mark.parametrize(
    ("text", "expected"), [("NaN", math.nan), ("+Inf", math.inf), ("-Inf", -math.inf)]
)
def test_prometheus_special_values(text: str, expected: float) -> None:
    value, ok = parse_decimal(text)
    assert ok and (value == expected or (math.isnan(value) and math.isnan(expected)))


@pytest.mark.parametrize("text", ["", "abc", "1e", "+", "-.e1", "1.2.3", "0x10", "1 "])
def test_non_decimals_are_left_to_float(text: str) -> None:
    assert parse_decimal(text) == (0.0, False)


def response(result: list[dict[str, Any]], **envelope: Any) -> bytes:
    document = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(document | envelope, separators=(",", ":")).encode()


def series(labels: dict[str, str], samples: list[tuple[float, str]]) -> dict[str, Any]:
    return {"metric": labels, "values": [[t, v] for t, v in samples]}


def test_samples_land_on_the_step_grid_with_labels_and_gaps() -> None:
    t0 = START_MS / 1000
    body = response(
        [
            series({"__name__": "up", "job": 'a "quoted" \\ job'}, [(t0, "1"), (t0 + 30, "0.5")]),
            series({"instance": "é"}, [(t0 + 15, "NaN"), (t0 + 45, "+Inf"), (t0 + 60, "-Inf")]),
            series({"long": "x"}, [(t0, "0.1000000000000000000000000001")]),  # float()'s job
        ],
        warnings=["query touched too many points"],
    )
    matrix = parse_matrix(body, START_MS, STEP_MS, 5)
    assert matrix.labels == [
        {"__name__": "up", "job": 'a "quoted" \\ job'},
        {"instance": "é"},
        {"long": "x"},
    ]
    expected = np.full((3, 5), np.nan)
    expected[0, [0, 2]] = [1.0, 0.5]
    expected[1, [3, 4]] = [np.inf, -np.inf]
    expected[2, 0] = 0.1
    np.testing.assert_array_equal(matrix.values, expected)
    assert matrix.warnings == ["query touched too many points"]


def test_a_random_response_equals_the_json_modules_reading() -> None:
    rng = np.random.default_rng(3)
    result, points = [], 200
    for s in range(20):
        keep = rng.random(points) > 0.1
        samples = [
            (START_MS / 1000 + 15 * k, repr(float(rng.normal() * 10.0 ** rng.integers(-5, 9))))
            for k in range(points)
            if keep[k]
        ]
        result.append(series({"instance": f"host-{s}"}, samples))
    body = response(result)
    matrix = parse_matrix(body, START_MS, STEP_MS, points)
    for s, item in enumerate(json.loads(body)["data"]["result"]):
        row = np.full(points, np.nan)
        for t, v in item["values"]:
            row[int(t * 1000 - START_MS) // STEP_MS] = float(v)
        np.testing.assert_array_equal(matrix.values[s], row)


def test_an_empty_result_is_no_series() -> None:
    matrix = parse_matrix(response([]), START_MS, STEP_MS, 10)
    assert matrix.values.shape == (0, 10) and matrix.labels == []


def test_whitespace_and_key_order_do_not_matter() -> None:
    body = (
        b'{ "data" : { "result" : [ { "values" : [ [ 1700000000.000 , "2" ] ] , '
        b'"metric" : { "a" : "b" } } ] , "resultType" : "matrix" } , "status" : "success" }'
    )
    matrix = parse_matrix(body, START_MS, STEP_MS, 1)
    assert matrix.labels == [{"a": "b"}] and matrix.values[0, 0] == 2.0


def test_samples_off_the_grid_go_to_the_step_before_unless_it_has_one_on_the_grid() -> None:
    t0 = START_MS / 1000
    body = response(
        [
            series({"a": "1"}, [(t0 + 7, "1"), (t0 + 15, "2"), (t0 + 20, "3"), (t0 + 200, "9")]),
            series({"a": "2"}, [(t0 - 15, "0"), (t0 + 30.0001, "4"), (t0 + 45.0000, "5")]),
        ]
    )
    matrix = parse_matrix(body, START_MS, STEP_MS, 4)
    # 7 s goes to step 0; 20 s finds step 1 taken by the sample on the grid; 200 s and -15 s
    # are outside; 30.0001 s is off the grid by a tenth of a millisecond.
    np.testing.assert_array_equal(matrix.values, [[1, 2, np.nan, np.nan], [np.nan, np.nan, 4, 5]])
    assert matrix.warnings == [
        "2 samples outside the range asked for were left out: the server aligns its answers its "
        "own way",
        "3 samples off the 15s step grid were put on the step before them: the server aligns "
        "its answers its own way",
    ]


BAD = [
    (b"", "malformed JSON at byte 0"),
    (b"<html><body>502 Bad Gateway</body></html>", "malformed JSON at byte 0"),
    (b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{}', "malformed"),
    (
        b'{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected"}',
        "query failed: 1:5: parse error: unexpected",
    ),
    (
        b'{"status":"success","data":{"resultType":"vector","result":[]}}',
        "not a matrix result",
    ),
    (response([series({}, [(1_700_000_000, "one")])]), "not a sample value: b'one'"),
    (response([{"values": [[1_700_000_000, "1"]]}]), "malformed JSON"),  # no labels
    (response([series({}, [(1_700_000_000, "1")])]) + b"trailing", "malformed JSON"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_bad_responses_raise_a_precise_error(body: bytes, message: str) -> None:
    with pytest.raises(ResponseError) as error:
        parse_matrix(body, START_MS, STEP_MS, 10)
    assert message in str(error.value)
