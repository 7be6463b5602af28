"""How an Azure resource type is declared: its Resource Graph table and type, the ARM GETs that add
settings Resource Graph does not index, what is volatile, and how its row is normalised.
Declarations only set attributes; the engine does the work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

THROTTLING_STATUSES = (429, 503)


@dataclass(frozen=True)
class Detail:
    """An ARM GET under a listed resource's id, for settings Resource Graph does not index
    (SQL auditing, TDE, server parameters, site config, activity log alerts)."""

    path: str  # relative to the resource id, e.g. "auditingSettings/default"
    api_version: str
    into: str  # the top-level key of the resource document that receives the answer
    result_key: str | None = "properties"  # the key of the answer to keep (None: the whole answer)
    many: bool = False  # a list answer: keep `value`, collected across `nextLink` pages


class AzureResource:
    """Declaration of one Azure resource type; subclasses only set attributes (and `normalise`)."""

    provider: ClassVar[str] = "azure"
    # Resource Graph answers for a whole subscription in one query: every type goes to the account's
    # single "global" shard, whatever the resources' locations.
    global_service: ClassVar[bool] = True
    table: ClassVar[str] = "Resources"
    native_type: ClassVar[str]  # the Resource Graph `type`, lower case as Resource Graph returns it
    details: ClassVar[tuple[Detail, ...]] = ()
    # Dotted paths that change without a configuration change (states, timestamps): not hashed.
    volatile: ClassVar[tuple[str, ...]] = ("properties.provisioningState",)
    # Verdicts that depend on today's date (ages): an incremental scan evaluates it every time.
    clock_dependent: ClassVar[bool] = False
    retryable_codes: ClassVar[tuple[int, ...]] = THROTTLING_STATUSES

    @classmethod
    def query(cls) -> str:
        # `order by id` keeps $skipToken paging stable across pages.
        return f"{cls.table} | where type =~ '{cls.native_type}' | order by id asc"

    @classmethod
    def uid_prefix(cls) -> str:
        return "/subscriptions/"

    @classmethod
    def normalise(cls, row: dict) -> dict:
        """The row (with its details' answers) as policies read it: one spelling per field, and
        derived fields that make policies simple. Runs on live rows and uploaded exports alike."""
        return row

    @classmethod
    def pushed(cls, document: dict) -> dict:
        """A document pushed in our JSON, shaped as a listed one is (normalise is idempotent, so
        an already-shaped document comes out the same)."""
        return cls.normalise(dict(document))
