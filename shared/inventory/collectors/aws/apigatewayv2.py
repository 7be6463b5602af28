"""API Gateway v2 (HTTP and WebSocket APIs): APIs with their routes, and their stages."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, probe
from shared.inventory.collectors.base import resource_types

probe("apigateway:GET", "apigatewayv2", "get_apis", {"MaxResults": "1"})


class _ApiGatewayV2Resource(AwsResource):
    service = "apigatewayv2"
    list_key = "Items"
    # MaxResults is a string in this API: the engine's integer page size would be refused, so
    # each call gets the service's default page size.
    page_size_param = None


@resource_types.register("aws.apigatewayv2.api")
class HttpApi(_ApiGatewayV2Resource):
    """`Routes` is GetRoutes' first page (the service's default page size)."""

    list_operation = "get_apis"
    id_template = "{ApiId}"
    name_template = "{Name}"
    arn = "arn:aws:apigateway:{region}::/apis/{ApiId}"
    details = (Detail("get_routes", {"ApiId": Ref("ApiId")}, "Routes", "Items"),)


@resource_types.register("aws.apigatewayv2.stage")
class HttpApiStage(_ApiGatewayV2Resource):
    """Stages of each API, with the API's id, name (as `ApiName`) and protocol type."""

    list_operation = "get_stages"
    parent = "aws.apigatewayv2.api"
    parent_params = {"ApiId": Ref("ApiId")}
    parent_fields = ("ApiId", "Name", "ProtocolType")
    id_template = "{ApiId}/{StageName}"
    name_template = "{ApiName}/{StageName}"
    arn = "arn:aws:apigateway:{region}::/apis/{ApiId}/stages/{StageName}"
    volatile = ("LastUpdatedDate", "LastDeploymentStatusMessage")

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["ApiName"] = item.pop("Name", None)
        return item
