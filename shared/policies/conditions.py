"""The policy condition language, compiled once into Python closures (no eval, no user code).

A condition is one of:
  {"all": [cond, ...]}  {"any": [cond, ...]}  {"not": cond}
  {"key": "a.b.0.c", <operator>: argument}

Key paths walk dicts by name and lists by index; "@" is the value itself. A path that does not
resolve yields MISSING, which only `absent` (and `ne`/`not-in`) treat as a match.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from shared.platform.patterns import PatternError, compile_globs, compile_regex
from shared.platform.ports import port_spec_includes
from shared.platform.registry import Registry

Check = Callable[[Any], bool]
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()


class ConditionError(ValueError):
    """An invalid condition; `field` names where it is (e.g. `fails_when.all[1].eq`)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# An operator factory takes (getter, argument, field) and returns a check; its `schema` validates
# the argument and says what it expects.
operators: Registry[Callable[..., Check]] = Registry("condition operator")


def operator(name: str, expects: str, valid: Callable[[Any], bool]):
    def decorate(factory):
        factory.expects = expects
        factory.valid = valid
        return operators.register(name)(factory)

    return decorate


def compile_getter(path: str) -> Callable[[Any], Any]:
    if path in ("@", ""):
        return lambda value: value
    parts = tuple(int(p) if p.isdigit() else p for p in path.split("."))
    if all(isinstance(part, str) for part in parts) and len(parts) <= 3:
        return _dict_getter(*parts)

    def get_path(value):
        for part in parts:
            if type(value) is dict:
                value = value.get(part, MISSING) if isinstance(part, str) else MISSING
            elif type(value) is list and isinstance(part, int):
                value = value[part] if -len(value) <= part < len(value) else MISSING
            else:
                return MISSING
            if value is MISSING:
                return MISSING
        return value

    return get_path


def _dict_getter(*keys: str) -> Callable[[Any], Any]:
    """Unrolled getters for the common case, short paths through dicts only (the hot path)."""
    if len(keys) == 1:
        (a,) = keys

        def get1(value):
            return value.get(a, MISSING) if type(value) is dict else MISSING

        return get1
    if len(keys) == 2:
        a, b = keys

        def get2(value):
            if type(value) is not dict:
                return MISSING
            value = value.get(a, MISSING)
            return value.get(b, MISSING) if type(value) is dict else MISSING

        return get2
    a, b, c = keys

    def get3(value):
        if type(value) is not dict:
            return MISSING
        value = value.get(a, MISSING)
        if type(value) is not dict:
            return MISSING
        value = value.get(b, MISSING)
        return value.get(c, MISSING) if type(value) is dict else MISSING

    return get3


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _list_of_scalars(value: Any) -> bool:
    return isinstance(value, list) and all(_scalar(v) for v in value)


@operator("eq", "a string, number, boolean or null", _scalar)
def _eq(get, arg, field):
    return lambda doc: get(doc) == arg


@operator("ne", "a string, number, boolean or null", _scalar)
def _ne(get, arg, field):
    return lambda doc: get(doc) != arg


@operator("in", "a list of strings, numbers or booleans", _list_of_scalars)
def _in(get, arg, field):
    allowed = frozenset(arg)
    return lambda doc: _hashable(get(doc)) in allowed


@operator("not-in", "a list of strings, numbers or booleans", _list_of_scalars)
def _not_in(get, arg, field):
    allowed = frozenset(arg)
    return lambda doc: _hashable(get(doc)) not in allowed


def _hashable(value):
    return value if _scalar(value) else MISSING


@operator("absent", "true", lambda arg: arg is True)
def _absent(get, arg, field):
    return lambda doc: get(doc) in (MISSING, None)


@operator("present", "true", lambda arg: arg is True)
def _present(get, arg, field):
    return lambda doc: get(doc) not in (MISSING, None)


@operator("empty", "true", lambda arg: arg is True)
def _empty(get, arg, field):
    """Missing, null, or an empty string, list or object."""

    def check(doc):
        value = get(doc)
        return value in (MISSING, None) or (isinstance(value, (str, list, dict)) and len(value) == 0)

    return check


def _comparison(compare):
    def factory(get, arg, field):
        def check(doc):
            value = get(doc)
            return _is_number(value) and compare(value, arg)

        return check

    return factory


operator("gt", "a number", _is_number)(_comparison(lambda value, arg: value > arg))
operator("gte", "a number", _is_number)(_comparison(lambda value, arg: value >= arg))
operator("lt", "a number", _is_number)(_comparison(lambda value, arg: value < arg))
operator("lte", "a number", _is_number)(_comparison(lambda value, arg: value <= arg))


@operator("contains", "a string, number or boolean", lambda arg: _scalar(arg) and arg is not None)
def _contains(get, arg, field):
    def check(doc):
        value = get(doc)
        if isinstance(value, list):
            return arg in value
        return isinstance(value, str) and isinstance(arg, str) and arg in value

    return check


def _pattern(compile_, field: str):
    try:
        return compile_()
    except PatternError as exc:
        raise ConditionError(field, str(exc)) from None


@operator("glob", "a glob pattern string", lambda arg: isinstance(arg, str))
def _glob(get, arg, field):
    match = _pattern(lambda: compile_globs([arg]), field).match
    return lambda doc: isinstance(value := get(doc), str) and match(value) is not None


# RE2 syntax (no backreferences or lookaround): matching is linear in the text, whatever the pattern.
@operator("regex", "a regular expression string (RE2 syntax)", lambda arg: isinstance(arg, str))
def _regex(get, arg, field):
    search = _pattern(lambda: compile_regex(arg), field).search
    return lambda doc: isinstance(value := get(doc), str) and search(value) is not None


def _valid_network(arg) -> bool:
    try:
        ipaddress.ip_network(arg, strict=False)
    except (TypeError, ValueError):
        return False
    return True


@operator("cidr", "a CIDR block such as 10.0.0.0/8", _valid_network)
def _cidr(get, arg, field):
    """The value (an address or a block) lies within the argument's block."""
    outer = ipaddress.ip_network(arg, strict=False)

    def check(doc):
        value = get(doc)
        if not isinstance(value, str):
            return False
        try:
            inner = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return False
        return inner.version == outer.version and inner.subnet_of(outer)

    return check


@operator("port-range", "a port number (0-65535)", lambda arg: isinstance(arg, int) and 0 <= arg <= 65535)
def _port_range(get, arg, field):
    return lambda doc: port_spec_includes(get(doc), arg)


@operator("any-item", "a condition on the list's elements", lambda arg: isinstance(arg, dict))
def _any_item(get, arg, field):
    inner = compile_condition(arg, field)

    def check(doc):
        value = get(doc)
        if type(value) is not list:
            return False
        for item in value:
            if inner(item):
                return True
        return False

    return check


# An empty or missing list has no element that fails, but it is not "all compliant" either:
# every-item is false for it, so a policy must say what an empty list means with `empty`.
@operator("every-item", "a condition on the list's elements", lambda arg: isinstance(arg, dict))
def _every_item(get, arg, field):
    inner = compile_condition(arg, field)

    def check(doc):
        value = get(doc)
        if type(value) is not list or not value:
            return False
        for item in value:
            if not inner(item):
                return False
        return True

    return check


def _all_of(checks: tuple[Check, ...]) -> Check:
    if len(checks) == 2:
        first, second = checks
        return lambda doc: first(doc) and second(doc)

    def check(doc):
        for one in checks:
            if not one(doc):
                return False
        return True

    return check


def _any_of(checks: tuple[Check, ...]) -> Check:
    if len(checks) == 2:
        first, second = checks
        return lambda doc: first(doc) or second(doc)

    def check(doc):
        for one in checks:
            if one(doc):
                return True
        return False

    return check


# A condition is tenant input: its nesting and its size are bounded (a policy is a page of YAML).
MAX_DEPTH = 16
MAX_NODES = 256
MAX_LIST_ITEMS = 1000


def compile_condition(spec: Any, field: str = "condition") -> Check:
    """Validate `spec` against the closed grammar and compile it; ConditionError names the field."""
    _check_size(spec, field)
    return _compile(spec, field, 0)


def _check_size(spec: Any, field: str) -> None:
    nodes, stack = 0, [(spec, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConditionError(field, f"is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            nodes += 1
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            if len(node) > MAX_LIST_ITEMS:
                raise ConditionError(field, f"has a list of more than {MAX_LIST_ITEMS} items")
            stack.extend((value, depth + 1) for value in node)
        if nodes > MAX_NODES:
            raise ConditionError(field, f"has more than {MAX_NODES} conditions")


def _compile(spec: Any, field: str, depth: int) -> Check:
    if not isinstance(spec, dict) or not spec:
        raise ConditionError(field, "must be an object with one of all, any, not or key")
    if "all" in spec or "any" in spec:
        word = "all" if "all" in spec else "any"
        if len(spec) != 1:
            raise ConditionError(field, f"'{word}' takes no sibling keys, found {sorted(set(spec) - {word})}")
        items = spec[word]
        if not isinstance(items, list) or not items:
            raise ConditionError(f"{field}.{word}", "must be a non-empty list of conditions")
        checks = tuple(_compile(item, f"{field}.{word}[{i}]", depth + 1) for i, item in enumerate(items))
        if len(checks) == 1:
            return checks[0]
        return _all_of(checks) if word == "all" else _any_of(checks)
    if "not" in spec:
        if len(spec) != 1:
            raise ConditionError(field, "'not' takes no sibling keys")
        inner = _compile(spec["not"], f"{field}.not", depth + 1)
        return lambda doc: not inner(doc)
    if "key" not in spec:
        raise ConditionError(field, f"unknown keys {sorted(spec)}; expected all, any, not or key")
    path = spec["key"]
    if not isinstance(path, str):
        raise ConditionError(f"{field}.key", "must be a string path such as 'a.b.c' or '@'")
    ops = [name for name in spec if name != "key"]
    if len(ops) != 1:
        raise ConditionError(field, f"needs exactly one operator besides 'key', found {ops or 'none'}")
    (name,) = ops
    if name not in operators:
        raise ConditionError(f"{field}.{name}", f"unknown operator; known: {', '.join(operators.names())}")
    factory = operators.get(name)
    argument = spec[name]
    if not factory.valid(argument):
        raise ConditionError(f"{field}.{name}", f"expects {factory.expects}")
    return factory(compile_getter(path), argument, f"{field}.{name}")
