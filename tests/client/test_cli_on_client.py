"""The CLI on top of policycortex_client: what it prints of a scan's listing errors."""

from __future__ import annotations

from cli.scans import summary_lines


def _outcome(errors: int) -> dict:
    listed = [
        {"code": "AccessDenied", "message": "denied", "resource_type": "aws.s3.bucket", "region": f"r-{n}"}
        for n in range(errors)
    ]
    results = {"compliance_score": 50.0, "total_violations": 0, "violation_breakdown": {}, "errors": listed}
    return {"status": "completed", "results": results}


def test_watch_lists_ten_errors_and_says_how_many_it_left_out():
    lines = list(summary_lines("scan_0123456789abcdef", _outcome(17)))
    assert "  errors             17" in lines
    assert sum(line.startswith("    AccessDenied listing aws.s3.bucket in r-") for line in lines) == 10
    assert lines[-1] == "    ... and 7 more errors not listed; see GET /v1/scans/scan_0123456789abcdef"
    assert list(summary_lines("scan_x", _outcome(11)))[-1] == (
        "    ... and 1 more error not listed; see GET /v1/scans/scan_x"
    )
    assert list(summary_lines("scan_x", _outcome(10)))[-1].startswith("    AccessDenied")
