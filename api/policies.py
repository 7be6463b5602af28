"""/v1/policies and /v1/frameworks: browse the catalogue, manage a tenant's own entries."""

from __future__ import annotations

from flask import Blueprint, request

from api.context import json_body, load, pagination, services, tenant_id
from shared.catalog import frameworks as custom_frameworks
from shared.catalog import policies as custom_policies
from shared.catalog.service import catalog_for
from shared.platform.errors import NotFound

policies = Blueprint("policies", __name__, url_prefix="/v1/policies")
frameworks = Blueprint("frameworks", __name__, url_prefix="/v1/frameworks")


def _catalog():
    with services().db.session() as session:
        return catalog_for(session, tenant_id())


@policies.get("")
def list_policies():
    query = load(custom_policies.PolicyQuerySchema(), request.args.to_dict())
    catalog = _catalog()
    selected = custom_policies.filter_policies(catalog, query)
    page = selected[query["offset"] : query["offset"] + query["limit"]]
    return {
        "policies": [custom_policies.render_policy(p, catalog) for p in page],
        "pagination": pagination(len(selected), query["limit"], query["offset"], len(page)),
    }


@policies.get("/<policy_id>")
def get_policy(policy_id: str):
    catalog = _catalog()
    if policy_id not in catalog.policies:
        raise NotFound(f"Policy {policy_id} does not exist")
    return custom_policies.render_policy(catalog.policies[policy_id], catalog)


@policies.post("")
def create_policy():
    policy = custom_policies.create_policy(services(), tenant_id(), json_body())
    return custom_policies.render_policy(policy, _catalog()), 201


@policies.patch("/<policy_id>")
def update_policy(policy_id: str):
    policy = custom_policies.update_policy(services(), tenant_id(), policy_id, json_body())
    return custom_policies.render_policy(policy, _catalog())


@policies.delete("/<policy_id>")
def delete_policy(policy_id: str):
    custom_policies.delete_policy(services(), tenant_id(), policy_id)
    return "", 204


@frameworks.get("")
def list_frameworks():
    source = load(custom_frameworks.FrameworkQuerySchema(), request.args.to_dict()).get("source")
    catalog = _catalog()
    items = [f for f in catalog.frameworks.values() if not source or ("custom" if f.tenant_id else "builtin") == source]
    return {"frameworks": [custom_frameworks.render_framework(f, catalog, with_controls=False) for f in items]}


@frameworks.get("/<framework_id>")
def get_framework(framework_id: str):
    catalog = _catalog()
    if framework_id not in catalog.frameworks:
        raise NotFound(f"Framework {framework_id} does not exist")
    return custom_frameworks.render_framework(catalog.frameworks[framework_id], catalog, with_controls=True)


@frameworks.post("")
def create_framework():
    data = custom_frameworks.create_framework(services(), tenant_id(), json_body())
    catalog = _catalog()
    return custom_frameworks.render_framework(catalog.frameworks[data["id"]], catalog, with_controls=True), 201


@frameworks.patch("/<framework_id>")
def update_framework(framework_id: str):
    custom_frameworks.update_framework(services(), tenant_id(), framework_id, json_body())
    catalog = _catalog()
    return custom_frameworks.render_framework(catalog.frameworks[framework_id], catalog, with_controls=True)


@frameworks.delete("/<framework_id>")
def delete_framework(framework_id: str):
    custom_frameworks.delete_framework(services(), tenant_id(), framework_id)
    return "", 204
