"""The condition language: every operator, the closed grammar, and the error's field path."""

import pytest

from shared.platform.ports import port_spec_includes
from shared.policies.conditions import ConditionError, compile_condition, operators

DOC = {
    "name": "logs-prod",
    "size": 10,
    "flag": True,
    "nothing": None,
    "tags": ["pci", "prod"],
    "nested": {"deep": {"value": "x"}},
    "rules": [{"cidr": "0.0.0.0/0", "ports": "22-22"}, {"cidr": "10.1.2.0/24", "ports": "443"}],
    "empty_list": [],
}


@pytest.mark.parametrize(
    "condition,expected",
    [
        ({"key": "name", "eq": "logs-prod"}, True),
        ({"key": "name", "ne": "logs-prod"}, False),
        ({"key": "missing", "ne": "x"}, True),
        ({"key": "nested.deep.value", "eq": "x"}, True),
        ({"key": "rules.1.ports", "eq": "443"}, True),
        ({"key": "rules.5.ports", "absent": True}, True),
        ({"key": "name", "in": ["a", "logs-prod"]}, True),
        ({"key": "tags", "in": ["pci"]}, False),
        ({"key": "name", "not-in": ["a"]}, True),
        ({"key": "missing", "absent": True}, True),
        ({"key": "nothing", "absent": True}, True),
        ({"key": "name", "present": True}, True),
        ({"key": "empty_list", "empty": True}, True),
        ({"key": "tags", "empty": True}, False),
        ({"key": "size", "gt": 9}, True),
        ({"key": "size", "gte": 10}, True),
        ({"key": "size", "lt": 10}, False),
        ({"key": "size", "lte": 10}, True),
        ({"key": "flag", "gt": 0}, False),  # booleans are not numbers
        ({"key": "name", "gt": 1}, False),
        ({"key": "tags", "contains": "pci"}, True),
        ({"key": "name", "contains": "prod"}, True),
        ({"key": "name", "glob": "logs-*"}, True),
        ({"key": "name", "glob": "test-*"}, False),
        ({"key": "name", "regex": "^logs-(prod|dev)$"}, True),
        ({"key": "rules.1.cidr", "cidr": "10.0.0.0/8"}, True),
        ({"key": "rules.0.cidr", "cidr": "10.0.0.0/8"}, False),
        ({"key": "name", "cidr": "10.0.0.0/8"}, False),
        ({"key": "rules.0.ports", "port-range": 22}, True),
        ({"key": "rules.1.ports", "port-range": 22}, False),
        ({"key": "rules", "any-item": {"key": "cidr", "eq": "0.0.0.0/0"}}, True),
        ({"key": "rules", "every-item": {"key": "cidr", "eq": "0.0.0.0/0"}}, False),
        ({"key": "empty_list", "every-item": {"key": "cidr", "eq": "x"}}, False),
        ({"key": "missing", "any-item": {"key": "cidr", "eq": "x"}}, False),
        ({"all": [{"key": "size", "eq": 10}, {"key": "flag", "eq": True}]}, True),
        ({"any": [{"key": "size", "eq": 1}, {"key": "flag", "eq": True}]}, True),
        ({"not": {"key": "flag", "eq": True}}, False),
        ({"key": "@", "present": True}, True),
    ],
)
def test_operators(condition, expected):
    assert compile_condition(condition)(DOC) is expected


@pytest.mark.parametrize(
    "spec,port,expected",
    [
        ("22", 22, True),
        ("20-25", 22, True),
        ("*", 9, True),
        (None, 22, False),
        (["80", "22"], 22, True),
        (22, 22, True),
        ("abc", 22, False),
        ("0-65535", 1, True),
    ],
)
def test_port_specs(spec, port, expected):
    assert port_spec_includes(spec, port) is expected


@pytest.mark.parametrize(
    "condition,field",
    [
        ({}, "condition"),
        ([], "condition"),
        ({"all": []}, "condition.all"),
        ({"all": [{"key": "a", "eq": 1}, {"key": "b"}]}, "condition.all[1]"),
        ({"any": [{"key": "a", "eq": 1}], "extra": 1}, "condition"),
        ({"key": "a", "equals": 1}, "condition.equals"),
        ({"key": "a", "eq": 1, "ne": 2}, "condition"),
        ({"key": 5, "eq": 1}, "condition.key"),
        ({"key": "a", "in": "abc"}, "condition.in"),
        ({"key": "a", "gt": "5"}, "condition.gt"),
        ({"key": "a", "regex": "("}, "condition.regex"),
        ({"key": "a", "cidr": "300.0.0.0/8"}, "condition.cidr"),
        ({"key": "a", "port-range": 70000}, "condition.port-range"),
        ({"key": "a", "absent": False}, "condition.absent"),
        ({"not": {"key": "a", "any-item": {"key": "b", "nope": 1}}}, "condition.not.any-item.nope"),
        ({"lambda": "x"}, "condition"),
    ],
)
def test_invalid_conditions_name_the_field(condition, field):
    with pytest.raises(ConditionError) as error:
        compile_condition(condition)
    assert error.value.field == field


def test_every_operator_declares_what_it_expects():
    for name, factory in operators.items():
        assert factory.expects and callable(factory.valid), name
