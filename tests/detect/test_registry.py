"""The registry is the one list of algorithms: it matches the contract's oneof and the classes."""

from __future__ import annotations

import dataclasses

import numpy as np
from google.protobuf.descriptor import FieldDescriptor

from aiops.detect import registry, warmup
from aiops.detect.registry import Count, Period, Positive
from aiops.detect.scoring import Scoring
from aiops_api.v1 import detector_pb2

ONEOF = detector_pb2.Detector.DESCRIPTOR.oneofs_by_name["algorithm"]
# A log-pattern detector scores its templates' rates with any registered algorithm.
RATE_ONEOF = detector_pb2.LogPatternRates.DESCRIPTOR.oneofs_by_name["rate_algorithm"]
# The field types each kind of parameter may have in the contract.
KINDS = {
    Count: {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32},
    Positive: {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT},
    Period: {FieldDescriptor.TYPE_MESSAGE},
}


def test_every_member_of_the_algorithm_oneof_is_registered_and_nothing_else() -> None:
    assert {field.name for field in ONEOF.fields} == {*registry.BY_NAME, "log_pattern"}
    assert {field.name for field in RATE_ONEOF.fields} == set(registry.BY_NAME)
    members = {field.name: field.message_type for field in ONEOF.fields}
    for field in RATE_ONEOF.fields:  # the same messages as the detector's own members
        assert field.message_type is members[field.name]
    assert len(registry.BY_NAME) == len(registry.ALGORITHMS)  # each registered once
    assert registry.DEFAULT in registry.BY_NAME


def test_each_parameter_is_a_field_of_the_class_and_of_the_message_of_its_kind() -> None:
    for registered in registry.ALGORITHMS:
        message = detector_pb2.Detector.DESCRIPTOR.fields_by_name[registered.name].message_type
        assert message is not None
        instance = registered.default()
        class_fields = {field.name for field in dataclasses.fields(instance)}  # type: ignore[arg-type]
        names = [parameter.name for parameter in registered.parameters]
        assert set(names) == class_fields, registered.name
        assert set(names) == set(message.fields_by_name), registered.name
        for parameter in registered.parameters:
            field = message.fields_by_name[parameter.name]
            kind = KINDS[type(parameter)]
            assert field.type in kind, (registered.name, parameter.name, field.type)
            if isinstance(parameter, Period):
                assert field.message_type is not None
                assert field.message_type.full_name == "google.protobuf.Duration"


def test_each_example_builds_with_its_parameters_and_scores() -> None:
    for registered in registry.ALGORITHMS:
        algorithm = registered.build(**registered.example)
        for name, value in registered.example.items():
            assert getattr(algorithm, name) == value
        scored = algorithm.update(np.ones((2, 5)), algorithm.new_state(2), 0, Scoring())
        assert scored.scores.shape == (2, 5)


def test_warm_up_compiles_every_registered_kernel() -> None:
    warmup.warm_up()  # raises if any kernel does not compile
