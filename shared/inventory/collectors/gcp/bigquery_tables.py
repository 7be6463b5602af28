"""BigQuery tables (datasets are in bigquery.py)."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource


@resource_types.register("gcp.bigquery.table")
class BigQueryTable(GcpResource):
    asset_type = "bigquery.googleapis.com/Table"
    name_field = None  # the asset name ends with the table id; `id` is PROJECT:DATASET.TABLE
    volatile = ("etag", "lastModifiedTime", "numBytes", "numLongTermBytes", "numRows", "numPhysicalBytes")

    @classmethod
    def display_name(cls, document: dict, asset_name: str, project: str) -> str:
        reference = document.get("tableReference")
        if isinstance(reference, dict) and reference.get("datasetId") and reference.get("tableId"):
            return f"{reference['datasetId']}.{reference['tableId']}"  # table names repeat across datasets
        return super().display_name(document, asset_name, project)
