"""App Service: web apps and function apps (sites), with their site configuration."""

from __future__ import annotations

from shared.inventory.collectors.azure.declare import AzureResource, Detail
from shared.inventory.collectors.base import resource_types


@resource_types.register("azure.web.app")
class WebApp(AzureResource):
    """httpsOnly is in the Resource Graph row; minTlsVersion and ftpsState are read from
    GET {site}/config/web (API 2022-09-01)."""

    native_type = "microsoft.web/sites"
    # Resource Graph's properties.siteConfig is mostly nulls; the site's real configuration is config/web.
    details = (Detail("config/web", "2022-09-01", "siteConfig"),)
    volatile = ("properties.state", "properties.lastModifiedTimeUtc", "properties.availabilityState")
