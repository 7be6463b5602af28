"""Every AWS service module, imported so that its resource types register."""

from shared.inventory.collectors.aws import (  # noqa: F401  (they register their resource types)
    cloudtrail,
    config,
    ec2,
    elbv2,
    iam,
    kms,
    lambda_,
    logs,
    rds,
    s3,
)
