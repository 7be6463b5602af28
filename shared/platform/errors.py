"""Domain errors; the API turns each into the documented error envelope."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `error`, `error_code` and `status` name the envelope the API renders."""

    error = "request_failed"
    error_code = "REQ_000"
    status = 400
    description = "The request failed"

    def __init__(self, description: str | None = None, *, details: list[dict] | None = None, **extra):
        super().__init__(description or self.description)
        self.description = description or self.description
        self.details = details
        self.extra = extra


class InvalidScanConfig(DomainError):
    error, error_code, status = "invalid_scan_config", "SCAN_001", 400
    description = "Scan configuration validation failed"


class ScanLimitExceeded(DomainError):
    error, error_code, status = "scan_limit_exceeded", "SCAN_002", 429
    description = "Maximum concurrent scans exceeded"


class ScanNotCancellable(DomainError):
    error, error_code, status = "scan_not_cancellable", "SCAN_003", 409
    description = "The scan has already finished"


class ViolationsPurged(DomainError):
    error, error_code, status = "violations_purged", "SCAN_004", 410
    description = "The scan's violations were deleted by the retention policy"


class NotFound(DomainError):
    error, error_code, status = "not_found", "REQ_404", 404
    description = "The requested object does not exist"


class InvalidRequest(DomainError):
    error, error_code, status = "invalid_request", "REQ_001", 400
    description = "Request validation failed"


class Conflict(DomainError):
    error, error_code, status = "conflict", "REQ_409", 409
    description = "The request conflicts with the current state"
