"""The collector of accounts evaluated from pushed inventories: it pages through the resources
last uploaded for the account, so uploads and live listings go through the same engine."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select

from shared.inventory.collectors.base import GLOBAL_REGION, CollectedResource
from shared.inventory.models import Resource
from shared.inventory.tags import with_tags
from shared.platform.db import Database

PAGE = 500


def short_id(uid: str) -> str:
    return uid.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


class InventoryCollector:
    def __init__(self, account, db: Database):
        self.account = account
        self.db = db

    def regions(self) -> list[str]:
        return [GLOBAL_REGION]

    def pages(self, resource_type: str, region: str) -> Iterator[list[CollectedResource]]:
        after = 0
        while True:
            with self.db.session() as session:
                rows = session.scalars(
                    select(Resource)
                    .where(
                        Resource.account_id == self.account.id,
                        Resource.resource_type == resource_type,
                        Resource.id > after,
                    )
                    .order_by(Resource.id)
                    .limit(PAGE)
                ).all()
            if not rows:
                return
            after = rows[-1].id
            yield [
                CollectedResource(
                    uid=row.resource_uid,
                    id=short_id(row.resource_uid),
                    name=row.name,
                    resource_type=row.resource_type,
                    region=row.region,
                    # Uploads store documents with their tags; only one stored before tags existed
                    # derives them here (not every page of every scan).
                    document=row.config if "tags" in row.config else with_tags(row.provider, dict(row.config)),
                )
                for row in rows
            ]

    def verify(self) -> list[dict]:
        with self.db.session() as session:
            count = session.scalar(select(func.count()).where(Resource.account_id == self.account.id))
        pushed = self.account.inventory_pushed_at
        return [
            {
                "check": "inventory uploaded",
                "ok": bool(count),
                "message": f"{count} resources, last upload {pushed.isoformat() if pushed else 'never'}",
            }
        ]
