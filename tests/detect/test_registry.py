"""The registry is the one list of algorithms: it matches the contract's oneof and the classes."""

from __future__ import annotations

import dataclasses

import numpy as np

from aiops.detect import registry, warmup
from aiops.detect.registry import Period
from aiops.detect.scoring import Scoring
from aiops_api.v1 import detector_pb2

ONEOF = detector_pb2.Detector.DESCRIPTOR.oneofs_by_name["algorithm"]


def test_every_member_of_the_algorithm_oneof_is_registered_and_nothing_else() -> None:
    assert [field.name for field in ONEOF.fields] == [a.name for a in registry.ALGORITHMS]
    assert registry.DEFAULT in registry.BY_NAME


def test_each_parameter_is_a_field_of_the_class_and_of_the_message() -> None:
    for registered in registry.ALGORITHMS:
        message = detector_pb2.Detector.DESCRIPTOR.fields_by_name[registered.name].message_type
        assert message is not None
        class_fields = {field.name for field in dataclasses.fields(registered.default())}  # type: ignore[arg-type]
        names = [parameter.name for parameter in registered.parameters]
        assert set(names) == class_fields, registered.name
        assert set(names) == set(message.fields_by_name), registered.name
        for parameter in registered.parameters:
            kind = message.fields_by_name[parameter.name].message_type
            is_duration = kind is not None and kind.full_name == "google.protobuf.Duration"
            assert is_duration == isinstance(parameter, Period), (registered.name, parameter)


def test_each_example_builds_with_its_parameters_and_scores() -> None:
    for registered in registry.ALGORITHMS:
        algorithm = registered.build(**registered.example)
        for name, value in registered.example.items():
            assert getattr(algorithm, name) == value
        scored = algorithm.update(np.ones((2, 5)), algorithm.new_state(2), 0, Scoring())
        assert scored.scores.shape == (2, 5)


def test_warm_up_compiles_every_registered_kernel() -> None:
    warmup.warm_up()  # raises if any kernel does not compile
