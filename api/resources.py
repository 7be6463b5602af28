"""/v1/resources: the inventory of every resource our scans and uploads have seen."""

from __future__ import annotations

from flask import Blueprint, request

from api.context import load, pagination, services, tenant_id
from shared.catalog.service import catalog_for
from shared.inventory import history, resources
from shared.scans import results

bp = Blueprint("resources", __name__, url_prefix="/v1/resources")


@bp.get("")
def list_resources():
    query = load(resources.ResourceQuerySchema(), request.args.to_dict())
    with services().db.session() as session:
        rows, total = resources.list_resources(session, tenant_id(), query)
    return {
        "resources": [resources.render(row) for row in rows],
        "pagination": pagination(total, query["limit"], query["offset"], len(rows)),
    }


@bp.get("/<resource_id>")
def get_resource(resource_id: str):
    with services().db.session() as session:
        row = resources.get_resource(session, tenant_id(), resource_id)
        violations = results.resource_violations(session, catalog_for(session, tenant_id()), row)
        return resources.render_details(row, violations)


@bp.get("/<resource_id>/history")
def get_history(resource_id: str):
    """The resource's configuration versions, newest first, with the changes from each one's predecessor."""
    query = load(history.HistoryQuerySchema(), request.args.to_dict())
    with services().db.session() as session:
        page = history.list_versions(session, tenant_id(), resource_id, query["limit"], query.get("before"))
        return history.render_history(page, query["limit"], query.get("include") == "configuration")
