"""Policies as data: a closed schema, a compiled condition, and the metadata beside it."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.accounts.models import PROVIDERS
from shared.platform.durations import parse_duration
from shared.policies.conditions import Check, ConditionError, compile_condition
from shared.policies.severities import SEVERITIES
from shared.policies.templates import Template, TemplateError
from shared.remediation.actions import actions

BUILTIN_DIR = Path(__file__).parent / "builtin"


class PolicyError(ValueError):
    """A policy document that does not validate; `field` names the offending field."""

    def __init__(self, field: str, message: str, policy_id: str | None = None):
        where = f"policy {policy_id}: " if policy_id else ""
        super().__init__(f"{where}{field}: {message}")
        self.field = field
        self.message = message


def _duration(value: str) -> bool:
    try:
        parse_duration(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    return True


class _Closed(Schema):
    class Meta:
        unknown = RAISE


def _template(value: str) -> bool:
    try:
        Template.parse(value)
    except TemplateError as exc:
        raise ValidationError(f"The template {exc}") from None
    return True


class StatusExtendedSchema(_Closed):
    # Templates name the resource: {name}, {id}, {region}, {account} (shared.policies.templates).
    pass_ = fields.String(required=True, data_key="pass", validate=[validate.Length(min=1), _template])
    fail = fields.String(required=True, validate=[validate.Length(min=1), _template])


def _action(name: str) -> bool:
    if name not in actions:
        raise ValidationError(f"Unknown remediation action; known: {', '.join(actions.names())}")
    return True


class RemediationSchema(_Closed):
    text = fields.String(required=True, validate=validate.Length(min=1))
    effort = fields.String(required=True, validate=_duration)
    action = fields.String(load_default=None, allow_none=True, validate=_action)


class ExamplesSchema(_Closed):
    pass_ = fields.Dict(required=True, data_key="pass")
    fail = fields.Dict(required=True)
    absent = fields.Dict()  # a document without the fields the policy reads, as the API gives it


class AbsentSchema(_Closed):
    """What the policy says of a resource whose document lacks the fields it reads: the verdict the
    API's default for them deserves, and why (the meta-tests evaluate `examples.absent` against it)."""

    verdict = fields.String(required=True, validate=validate.OneOf(("pass", "fail")))
    because = fields.String(required=True, validate=validate.Length(min=10, max=1000))


class PolicySchema(_Closed):
    id = fields.String(required=True, validate=validate.Regexp(r"^pol_[a-z0-9_]{3,80}$"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))
    resource_type = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9]+(\.[a-z0-9_-]+)+$"))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    description = fields.String(required=True)
    groups = fields.List(fields.String(validate=validate.Regexp(r"^pol_[a-z0-9_]+$")), load_default=list)
    fails_when = fields.Dict(required=True)
    # Which resources of the type the policy judges (e.g. one Defender plan's row of a
    # subscription's pricings); the others are not applicable: neither passed nor failed.
    applies_when = fields.Dict(load_default=None, allow_none=True)
    status_extended = fields.Nested(StatusExtendedSchema, required=True)
    remediation = fields.Nested(RemediationSchema, required=True)
    examples = fields.Nested(ExamplesSchema, load_default=None)
    absent = fields.Nested(AbsentSchema, load_default=None, allow_none=True)


@dataclass(frozen=True)
class Policy:
    id: str
    title: str
    provider: str
    resource_type: str
    severity: str
    description: str
    fails_when: dict
    check: Check = field(repr=False, compare=False)
    status_pass: Template
    status_fail: Template
    remediation_text: str
    effort_minutes: int
    remediation_action: str | None = None
    groups: tuple[str, ...] = ()
    examples: dict | None = None
    absent: dict | None = None  # {"verdict": "pass" | "fail", "because": "..."}
    applies_when: dict | None = None
    applies: Check = field(default=lambda document: True, repr=False, compare=False)
    tenant_id: str | None = None

    def fails(self, document: dict) -> bool:
        """Whether the resource fails the policy (False for a resource it does not apply to)."""
        return self.applies(document) and self.check(document)

    def status_extended(self, failed: bool, **names: str) -> str:
        return (self.status_fail if failed else self.status_pass).render(names)

    @property
    def effort(self) -> str:
        return f"{self.effort_minutes}m"


def load_policy(document: Any, *, tenant_id: str | None = None) -> Policy:
    """Validate a policy document against the closed schema and compile its condition."""
    policy_id = document.get("id") if isinstance(document, dict) else None
    try:
        data = PolicySchema().load(document)
    except ValidationError as exc:
        field_name, message = _first_error(exc.messages)
        raise PolicyError(field_name, message, policy_id) from None
    try:
        check = compile_condition(data["fails_when"], "fails_when")
        applies = compile_condition(data["applies_when"], "applies_when") if data["applies_when"] else None
    except ConditionError as exc:
        raise PolicyError(exc.field, exc.message, policy_id) from None
    return Policy(
        id=data["id"],
        title=data["title"],
        provider=data["provider"],
        resource_type=data["resource_type"],
        severity=data["severity"],
        description=data["description"],
        fails_when=data["fails_when"],
        check=check,
        status_pass=Template.parse(data["status_extended"]["pass_"]),
        status_fail=Template.parse(data["status_extended"]["fail"]),
        remediation_text=data["remediation"]["text"],
        effort_minutes=max(1, parse_duration(data["remediation"]["effort"]) // 60),
        remediation_action=data["remediation"]["action"],
        groups=tuple(data["groups"]),
        examples=data["examples"] and {"pass": data["examples"]["pass_"], **_rest(data["examples"])},
        absent=data["absent"],
        applies_when=data["applies_when"],
        **({"applies": applies} if applies else {}),
        tenant_id=tenant_id,
    )


def _rest(examples: dict) -> dict:
    return {name: value for name, value in examples.items() if name != "pass_"}


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        key = {"pass_": "pass"}.get(key, key)
        return _first_error(value, f"{prefix}.{key}" if prefix else str(key))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], prefix)
    return prefix or "policy", str(messages)


@functools.cache
def builtin_policies() -> dict[str, Policy]:
    """The built-in library: one YAML file per policy, its file name equal to its id."""
    policies: dict[str, Policy] = {}
    for path in sorted(BUILTIN_DIR.glob("*/*.yaml")):
        policy = load_policy(yaml.safe_load(path.read_text()))
        if policy.id != path.stem:
            raise PolicyError("id", f"'{policy.id}' does not match its file name {path.name}", policy.id)
        if policy.provider != path.parent.name:
            raise PolicyError("provider", f"'{policy.provider}' but the file is under {path.parent.name}/")
        if policy.id in policies:
            raise PolicyError("id", "defined twice", policy.id)
        policies[policy.id] = policy
    return policies
