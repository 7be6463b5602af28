"""BigQuery: datasets, with the dataset's IAM policy attached."""

from __future__ import annotations

from shared.inventory.collectors.base import resource_types
from shared.inventory.collectors.gcp.declare import GcpResource


@resource_types.register("gcp.bigquery.dataset")
class BigQueryDataset(GcpResource):
    asset_type = "bigquery.googleapis.com/Dataset"
    name_field = None  # the asset name ends with the dataset id
    volatile = ("etag", "lastModifiedTime")
    # Access is granted by the dataset's `access` list and by its IAM policy (Cloud Asset Inventory
    # lists the latter as the dataset's IAM_POLICY content): exposure checks read both.
    own_iam_policy = True
