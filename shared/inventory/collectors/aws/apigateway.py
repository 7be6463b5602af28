"""API Gateway (REST APIs): APIs with the authorization of their methods, and their stages."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("apigateway:GET", "apigateway", "get_rest_apis", {"limit": 1})

# CORS preflight requests carry no credentials: an OPTIONS method must be open.
OPEN_BY_DESIGN = frozenset({"OPTIONS"})


@resource_types.register("aws.apigateway.rest-api")
class RestApi(AwsResource):
    """`Resources` is GetResources with the methods embedded, one call of up to 500 resources
    (an API with more has the rest unchecked); `UnauthorizedMethods` lists "METHOD /path" of
    each method other than OPTIONS whose authorizationType is NONE."""

    service = "apigateway"
    list_operation = "get_rest_apis"
    list_key = "items"
    paging = ("position", "position")
    page_size_param = "limit"
    page_size_limits = (1, 500)
    id_template = "{id}"
    name_template = "{name}"
    arn = "arn:aws:apigateway:{region}::/restapis/{id}"
    details = (
        Detail(
            "get_resources",
            {"restApiId": Ref("id"), "limit": 500, "embed": ["methods"]},
            "Resources",
            "items",
        ),
    )

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["UnauthorizedMethods"] = [
            f"{verb} {resource.get('path', '')}"
            for resource in item.get("Resources") or []
            for verb, method in (resource.get("resourceMethods") or {}).items()
            if verb not in OPEN_BY_DESIGN and (method or {}).get("authorizationType", "NONE") == "NONE"
        ]
        return item


@resource_types.register("aws.apigateway.stage")
class RestApiStage(AwsResource):
    """Stages of each REST API (GetStages answers all of an API's stages at once). The API's id
    and name become `restApiId` and `restApiName`; `methodSettingsList` is `methodSettings` (an
    object keyed by "resource/METHOD", "*/*" for the stage-wide default) as a list whose
    elements carry their key as `path`, so that a policy can look at every one."""

    service = "apigateway"
    list_operation = "get_stages"
    list_key = "item"
    paging = None
    page_size_param = None
    parent = "aws.apigateway.rest-api"
    parent_params = {"restApiId": Ref("id")}
    parent_fields = ("id", "name")
    id_template = "{restApiId}/{stageName}"
    name_template = "{restApiName}/{stageName}"
    arn = "arn:aws:apigateway:{region}::/restapis/{restApiId}/stages/{stageName}"
    volatile = ("lastUpdatedDate",)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["restApiId"] = item.pop("id", None)
        item["restApiName"] = item.pop("name", None)
        item["methodSettingsList"] = [
            {"path": path, **(settings or {})} for path, settings in (item.get("methodSettings") or {}).items()
        ]
        return item
