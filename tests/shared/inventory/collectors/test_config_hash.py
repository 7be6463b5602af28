"""The configuration hash ignores volatile fields, at any depth, without touching the document."""

from __future__ import annotations

import copy

from shared.inventory.collectors.base import CollectedResource


def resource(document: dict, volatile: tuple[str, ...]) -> CollectedResource:
    return CollectedResource("uid", "id", "name", "azure.storage.account", "westeurope", document, volatile)


def test_volatile_fields_do_not_change_the_hash_and_the_document_is_left_alone():
    document = {"name": "st1", "properties": {"state": "Running", "tls": "TLS1_2", "sku": {"tier": "Hot", "at": 1}}}
    kept = copy.deepcopy(document)
    volatile = ("properties.state", "properties.sku.at", "missing.path", "name.not-a-dict")
    changed_volatile = {"name": "st1", "properties": {"state": "Stopped", "tls": "TLS1_2", "sku": {"tier": "Hot"}}}
    changed_setting = {"name": "st1", "properties": {"state": "Running", "tls": "TLS1_0", "sku": {"tier": "Hot"}}}

    digest = resource(document, volatile).config_hash
    assert document == kept  # the hash is taken from copies of the dicts on each path
    assert resource(changed_volatile, volatile).config_hash == digest
    assert resource(changed_setting, volatile).config_hash != digest
    assert resource({**document, "properties": None}, volatile).config_hash != digest  # no crash on a None parent
