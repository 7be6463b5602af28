"""Attesting a control: who says what of it (compliant, non_compliant, not_applicable), why, with
which evidence (text, a URL, or a file kept with its SHA-256, size and type), until when. The latest
attestation of a control that is neither revoked nor expired is the one that counts; none is ever
changed or deleted (a revocation is a record of its own)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError, fields, validate, validates
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from shared.attestations.models import Attestation, AttestationRevocation
from shared.catalog.service import catalog_for
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.durations import iso
from shared.platform.errors import InvalidRequest, NotFound
from shared.platform.schemas import Closed, error_details, http_url, non_blank, offset_field
from shared.tenants.apikeys import Principal
from shared.tenants.models import Tenant

STATUSES = ("compliant", "non_compliant", "not_applicable")
STATES = ("active", "expired", "revoked")
MAX_VALIDITY = timedelta(days=3 * 366)  # an attestation is reviewed at least every three years


@dataclass(frozen=True)
class EvidenceFile:
    content: bytes
    filename: str
    content_type: str


class EvidenceRequestSchema(Closed):
    text = fields.String(validate=[validate.Length(min=1, max=20_000), non_blank])
    url = http_url()


class AttestationRequestSchema(Closed):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    justification = fields.String(required=True, validate=[validate.Length(min=1, max=5_000), non_blank])
    evidence = fields.Nested(EvidenceRequestSchema, load_default=dict)
    valid_until = fields.AwareDateTime(required=True, default_timezone=None)

    @validates("valid_until")
    def _valid_until(self, value: datetime, **kwargs) -> None:
        now = utcnow()
        if value <= now:
            raise ValidationError("valid_until must be in the future")
        if value > now + MAX_VALIDITY:
            raise ValidationError("An attestation is valid for at most three years; attest again after that")


class RevokeRequestSchema(Closed):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=5_000), non_blank])


class AttestationQuerySchema(Closed):
    framework = fields.String(validate=validate.Length(min=1, max=64))
    control = fields.String(validate=validate.Length(min=1, max=64))
    state = fields.String(validate=validate.OneOf(STATES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = offset_field()


def load(schema: Closed, document: Any) -> dict:
    try:
        return schema.load(document if isinstance(document, dict) else None)
    except ValidationError as exc:
        raise InvalidRequest("The attestation does not validate", details=error_details(exc.messages)) from None


def check_control(session: Session, tenant_id: str, framework_id: str, control_id: str) -> None:
    """The control exists in the tenant's catalogue (built-in or its own frameworks), else 404."""
    framework = catalog_for(session, tenant_id).frameworks.get(framework_id)
    if framework is None:
        raise NotFound(f"Framework {framework_id} does not exist")
    if control_id not in {c.id for c in framework.controls}:
        raise NotFound(f"Control {control_id} is not a control of {framework_id}")


def _check_storage(session: Session, tenant_id: str, adding: int, share: int) -> None:
    """Evidence files are kept for good, so each tenant has a share of storage for them: a file
    that would take the tenant past it is refused (its row locked, so two uploads cannot both fit)."""
    session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    held = session.scalar(
        select(func.coalesce(func.sum(Attestation.evidence_size), 0)).where(Attestation.tenant_id == tenant_id)
    )
    if held + adding > share:
        message = f"The tenant's evidence files hold {held} of its {share} bytes; this file needs {adding}"
        raise InvalidRequest(details=[{"field": "file", "message": message}])


def create_attestation(
    svc: Services,
    principal: Principal,
    framework_id: str,
    control_id: str,
    document: Any,
    evidence_file: EvidenceFile | None = None,
) -> Attestation:
    data = load(AttestationRequestSchema(), document)
    if evidence_file is not None and len(evidence_file.content) > svc.settings.max_evidence_bytes:
        limit = svc.settings.max_evidence_bytes
        raise InvalidRequest(details=[{"field": "file", "message": f"An evidence file has at most {limit} bytes"}])
    with svc.db.session() as session:
        check_control(session, principal.tenant_id, framework_id, control_id)
        if evidence_file is not None:
            _check_storage(session, principal.tenant_id, len(evidence_file.content), svc.settings.max_evidence_storage)
        attestation = Attestation(
            tenant_id=principal.tenant_id,
            framework_id=framework_id,
            control_id=control_id,
            status=data["status"],
            justification=data["justification"],
            evidence_text=data["evidence"].get("text"),
            evidence_url=data["evidence"].get("url"),
            valid_until=data["valid_until"].replace(microsecond=0),  # as it is shown: to the second
            attested_by_key_id=principal.key_id,
            attested_by_key_name=principal.key_name,
            created_at=utcnow(),
        )
        if evidence_file is not None:
            attestation.evidence_file = evidence_file.content
            attestation.evidence_filename = evidence_file.filename[:255]
            attestation.evidence_content_type = evidence_file.content_type[:128]
            attestation.evidence_size = len(evidence_file.content)
            attestation.evidence_sha256 = hashlib.sha256(evidence_file.content).hexdigest()
        session.add(attestation)
    return attestation


def _get(session: Session, tenant_id: str, attestation_id: str) -> Attestation:
    row = session.scalar(
        select(Attestation).where(Attestation.id == attestation_id, Attestation.tenant_id == tenant_id)
    )
    if row is None:
        raise NotFound(f"Attestation {attestation_id} does not exist")
    return row


def get_attestation(
    session: Session, tenant_id: str, attestation_id: str
) -> tuple[Attestation, AttestationRevocation | None]:
    return _get(session, tenant_id, attestation_id), session.get(AttestationRevocation, attestation_id)


def revoke_attestation(svc: Services, principal: Principal, attestation_id: str, document: Any) -> None:
    data = load(RevokeRequestSchema(), document)
    with svc.db.session() as session:
        _get(session, principal.tenant_id, attestation_id)
        if session.get(AttestationRevocation, attestation_id) is None:  # revoking twice changes nothing
            session.add(
                AttestationRevocation(
                    attestation_id=attestation_id,
                    tenant_id=principal.tenant_id,
                    reason=data["reason"],
                    revoked_by_key_id=principal.key_id,
                    revoked_by_key_name=principal.key_name,
                    revoked_at=utcnow(),
                )
            )


def evidence_file(session: Session, tenant_id: str, attestation_id: str) -> EvidenceFile:
    row = _get(session, tenant_id, attestation_id)
    if row.evidence_file is None:
        raise NotFound(f"Attestation {attestation_id} has no evidence file")
    return EvidenceFile(row.evidence_file, row.evidence_filename, row.evidence_content_type)


def _revoked():
    return exists().where(AttestationRevocation.attestation_id == Attestation.id).correlate(Attestation)


def list_attestations(
    session: Session, tenant_id: str, query: dict
) -> tuple[list[tuple[Attestation, AttestationRevocation | None]], int]:
    """Newest first, with each one's revocation."""
    conditions = [Attestation.tenant_id == tenant_id]
    if query.get("framework"):
        conditions.append(Attestation.framework_id == query["framework"])
    if query.get("control"):
        conditions.append(Attestation.control_id == query["control"])
    now = utcnow()
    state = query.get("state")
    if state == "revoked":
        conditions.append(_revoked())
    elif state == "expired":
        conditions += [~_revoked(), Attestation.valid_until <= now]
    elif state == "active":
        conditions += [~_revoked(), Attestation.valid_until > now]
    total = session.scalar(select(func.count()).select_from(Attestation).where(*conditions))
    rows = session.execute(
        select(Attestation, AttestationRevocation)
        .outerjoin(AttestationRevocation, AttestationRevocation.attestation_id == Attestation.id)
        .where(*conditions)
        .order_by(Attestation.created_at.desc(), Attestation.id.desc())
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return [(a, r) for a, r in rows], total


def current_attestations(session: Session, tenant_id: str, framework_id: str) -> dict[str, Attestation]:
    """Control id -> the attestation that counts now: the latest one neither revoked nor expired
    (expired ones stop counting at the next read, with no job to run)."""
    rows = session.scalars(
        select(Attestation)
        .where(
            and_(
                Attestation.tenant_id == tenant_id,
                Attestation.framework_id == framework_id,
                Attestation.valid_until > utcnow(),
                ~_revoked(),
            )
        )
        .order_by(Attestation.created_at.desc(), Attestation.id.desc())
    )
    current: dict[str, Attestation] = {}
    for row in rows:
        current.setdefault(row.control_id, row)
    return current


def state(attestation: Attestation, revocation: AttestationRevocation | None) -> str:
    if revocation is not None:
        return "revoked"
    return "expired" if attestation.valid_until <= utcnow() else "active"


def render(attestation: Attestation, revocation: AttestationRevocation | None, *, base_url: str) -> dict[str, Any]:
    evidence: dict[str, Any] = {"text": attestation.evidence_text, "url": attestation.evidence_url, "file": None}
    if attestation.evidence_sha256:
        evidence["file"] = {
            "filename": attestation.evidence_filename,
            "content_type": attestation.evidence_content_type,
            "size": attestation.evidence_size,
            "sha256": attestation.evidence_sha256,
            "download_url": f"{base_url.rstrip('/')}/v1/attestations/{attestation.id}/evidence",
        }
    return {
        "id": attestation.id,
        "framework_id": attestation.framework_id,
        "control_id": attestation.control_id,
        "status": attestation.status,
        "state": state(attestation, revocation),
        "justification": attestation.justification,
        "evidence": evidence,
        "valid_until": iso(attestation.valid_until),
        "attested_by": {"key_id": attestation.attested_by_key_id, "key_name": attestation.attested_by_key_name},
        "created_at": iso(attestation.created_at),
        "revocation": None
        if revocation is None
        else {
            "reason": revocation.reason,
            "revoked_by": {"key_id": revocation.revoked_by_key_id, "key_name": revocation.revoked_by_key_name},
            "revoked_at": iso(revocation.revoked_at),
        },
    }
