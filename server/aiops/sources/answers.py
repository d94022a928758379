"""The small JSON answers Prometheus and Loki give alike: the {"status": "success", "data": ...}
envelope, lists of label names, label sets and build info. A malformed one raises
ResponseError, which makes the HTTP layer try the data source's next URL."""

from __future__ import annotations

import json

import numpy as np

from aiops.sources.matrix import (
    Matrix,
    ResponseError,
    envelope_warnings,
    histograms_warning,
    merge_duplicates,
)


def success(body: bytes) -> dict[str, object]:
    """A {"status": "success", "data": ...} answer."""
    try:
        document = json.loads(body)
        if document.get("status") == "success" and "data" in document:
            return dict(document)
    except (ValueError, AttributeError):
        pass
    raise ResponseError(repr(body[:80]))


def data(body: bytes) -> object:
    return success(body)["data"]


def names(body: bytes) -> list[str]:
    found = data(body)
    if not isinstance(found, list):
        raise ResponseError("not a list of names")
    return [str(name) for name in found]


def label_sets(body: bytes) -> list[dict[str, str]]:
    found = data(body)
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise ResponseError("not a list of label sets")
    return [{str(k): str(v) for k, v in item.items()} for item in found]


def string_map(found: object) -> dict[str, str]:
    """An object of strings, such as build info."""
    if not isinstance(found, dict):
        raise ResponseError("not an object")
    return {str(key): str(value) for key, value in found.items()}


def load(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError as error:
        raise ResponseError(f"malformed JSON: {error}") from None


def vector(body: bytes, time_ms: int) -> Matrix:
    """An instant query's answer as a one-column matrix. Instant answers hold one sample a
    series, so plain `json` is quick enough for them. A native histogram's series is NaN, and
    series that share a label set are merged, as in range answers (parse_matrix)."""
    document = success(body)
    found = document["data"]
    histograms: list[dict[str, str]] = []
    try:
        if not isinstance(found, dict) or found.get("resultType") != "vector":
            raise ResponseError("not an instant vector")
        labels = [{str(k): str(v) for k, v in item["metric"].items()} for item in found["result"]]
        values = []
        for series_labels, item in zip(labels, found["result"], strict=True):
            if "value" not in item and "histogram" in item:
                histograms.append(series_labels)
                values.append(float("nan"))
            else:  # float() reads Prometheus' "NaN", "+Inf" and "-Inf" as they are.
                values.append(float(item["value"][1]))
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as error:
        raise ResponseError(f"malformed instant vector: {error!r}") from None
    warnings = envelope_warnings(document)
    if histograms:
        warnings.append(histograms_warning(histograms))
    labels, column, merged = merge_duplicates(labels, np.array(values).reshape(len(labels), 1))
    return Matrix(labels, time_ms, 0, column, warnings + merged)
