"""Attestations of controls: /v1/frameworks/<framework>/controls/<control>/attestations to attest and
to read a control's history, /v1/attestations to list, read, download evidence and revoke."""

from __future__ import annotations

import json

from flask import Blueprint, Response, g, request

from api.context import base_url, json_body, load, pagination, services, tenant_id
from shared.attestations import service as attestations
from shared.platform import jsonin
from shared.platform.errors import InvalidRequest

bp = Blueprint("attestations", __name__, url_prefix="/v1")
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries and its JSON part, beyond the file itself


def _render(pair) -> dict:
    return attestations.render(*pair, base_url=base_url())


def _document_and_file():
    """A JSON body, or multipart/form-data with the JSON in an `attestation` part and a `file`."""
    if not request.mimetype.startswith("multipart/"):
        return json_body(), None
    request.max_content_length = services().settings.max_evidence_bytes + MULTIPART_OVERHEAD
    raw = request.form.get("attestation")
    if raw is None:
        raise InvalidRequest(details=[{"field": "attestation", "message": "The form needs an attestation part (JSON)"}])
    try:
        document = jsonin.loads(raw, root="attestation")
    except jsonin.JsonInputError as exc:
        raise InvalidRequest(details=[{"field": exc.field, "message": exc.message}]) from None
    upload = request.files.get("file")
    if upload is None:
        return document, None
    content = upload.read()
    if not content:
        raise InvalidRequest(details=[{"field": "file", "message": "The evidence file is empty"}])
    return document, attestations.EvidenceFile(
        content, upload.filename or "evidence", upload.mimetype or "application/octet-stream"
    )


@bp.post("/frameworks/<framework_id>/controls/<control_id>/attestations")
def create_attestation(framework_id: str, control_id: str):
    """Attest a control (JSON, or multipart with an evidence file)."""
    document, evidence = _document_and_file()
    created = attestations.create_attestation(services(), g.principal, framework_id, control_id, document, evidence)
    return _render((created, None)), 201


# The view reads its own body: JSON through the checked loader, a file as it is (NULs are data there).
create_attestation.streams_body = True


def _page(query: dict, *, of_control: bool = False) -> dict:
    with services().db.session() as session:
        if of_control:  # an unknown framework or control is 404, as for attesting it
            attestations.check_control(session, tenant_id(), query["framework"], query["control"])
        rows, total = attestations.list_attestations(session, tenant_id(), query)
    return {
        "attestations": [_render(row) for row in rows],
        "pagination": pagination(total, query["limit"], query["offset"], len(rows)),
    }


@bp.get("/frameworks/<framework_id>/controls/<control_id>/attestations")
def control_attestations(framework_id: str, control_id: str):
    """A control's attestations, newest first, whatever their state."""
    args = {**request.args.to_dict(), "framework": framework_id, "control": control_id}
    return _page(load(attestations.AttestationQuerySchema(), args), of_control=True)


@bp.get("/attestations")
def list_attestations():
    """The tenant's attestations, newest first (filters framework, control, state)."""
    return _page(load(attestations.AttestationQuerySchema(), request.args.to_dict()))


@bp.get("/attestations/<attestation_id>")
def get_attestation(attestation_id: str):
    with services().db.session() as session:
        return _render(attestations.get_attestation(session, tenant_id(), attestation_id))


@bp.get("/attestations/<attestation_id>/evidence")
def get_evidence(attestation_id: str):
    """The uploaded evidence file, as it was uploaded (always as a download)."""
    with services().db.session() as session:
        evidence = attestations.evidence_file(session, tenant_id(), attestation_id)
    filename = json.dumps(evidence.filename)  # quoted, with anything odd escaped
    return Response(
        evidence.content,
        mimetype=evidence.content_type,
        headers={"Content-Disposition": f"attachment; filename={filename}", "X-Content-Type-Options": "nosniff"},
    )


@bp.post("/attestations/<attestation_id>/revoke")
def revoke_attestation(attestation_id: str):
    """Withdraw an attestation (a record of its own: who, when, why); it stops counting at once."""
    attestations.revoke_attestation(services(), g.principal, attestation_id, json_body())
    with services().db.session() as session:
        return _render(attestations.get_attestation(session, tenant_id(), attestation_id))
