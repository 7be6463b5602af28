"""Certificate Manager: certificates, with the days left before they expire."""

from __future__ import annotations

from datetime import datetime

from shared.inventory.collectors.aws.declare import AwsResource, Detail, Ref, field_equals, probe
from shared.inventory.collectors.aws.shaping import days_until
from shared.inventory.collectors.base import resource_types

probe("acm:ListCertificates", "acm", "list_certificates", {"MaxItems": 1})

# ListCertificates returns RSA_2048 certificates only unless asked for every key type: a 1024-bit
# certificate would never be listed, and never fail the key-length policy.
KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]


@resource_types.register("aws.acm.certificate")
class AcmCertificate(AwsResource):
    """Certificates from ListCertificates, whose summary has the status, type, key algorithm and
    validity; DescribeCertificate is called only for Amazon-issued ones, for their Options (the
    transparency logging preference): imported certificates have none."""

    service = "acm"
    list_operation = "list_certificates"
    list_key = "CertificateSummaryList"
    list_params = {"Includes": {"keyTypes": KEY_TYPES}}
    page_size_param = "MaxItems"
    page_size_limits = (1, 1000)
    id_template = "{CertificateId}"
    name_template = "{DomainName}"
    arn = "{CertificateArn}"
    arn_prefix = "arn:aws:acm:"
    details = (
        Detail(
            "describe_certificate",
            {"CertificateArn": Ref("CertificateArn")},
            "Options",
            "Certificate.Options",
            when=field_equals("Type", "AMAZON_ISSUED"),
        ),
        Detail("list_tags_for_certificate", {"CertificateArn": Ref("CertificateArn")}, "Tags", "Tags"),
    )
    volatile = ("InUse",)

    @classmethod
    def normalise(cls, item: dict, now: datetime) -> dict:
        item["CertificateId"] = str(item.get("CertificateArn", "")).rsplit("/", 1)[-1]
        days = days_until(item.get("NotAfter"), now)
        if days is not None:
            item["DaysToExpiry"] = days
        return item
