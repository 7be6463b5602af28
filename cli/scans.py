"""`policycortex scans`: trigger, list, show, cancel and watch scans through the REST API, like any caller."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

import click
from policycortex_client.client import Client
from policycortex_client.errors import PolicyCortexError
from policycortex_client.stream import RETRYABLE as RETRYABLE_STREAM_ERRORS

from cli.client import api_client as _client
from cli.client import call as _call

# `scans watch` exits with the scan's outcome, so scripts can branch on it (1 is any other error).
EXIT_CODES = {"completed": 0, "failed": 3, "timed_out": 4, "cancelled": 5}
RECONNECT_DELAYS = (1, 2, 4, 8, 15)  # seconds; then watch gives up
SEVERITIES = ("critical", "high", "medium", "low")
LISTED_ERRORS = 10  # `scans watch` lists this many of a scan's listing errors; GET /v1/scans/<id> has all


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


@click.group()
def scans() -> None:
    """Scans, through the REST API at POLICYCORTEX_URL with the key in POLICYCORTEX_API_KEY."""


def build_body(base: dict[str, Any], **options: Any) -> dict[str, Any]:
    """The POST /v1/scans body: `base` (from --body) with the fields the options name set over it.
    Nothing is validated here: the API answers a bad body with the same errors for every caller."""
    body = dict(base)
    for field in ("name", "scan_type", "environment"):
        if options[field] is not None:
            body[field] = options[field]
    if options["providers"]:
        body["cloud_providers"] = list(options["providers"])
    if options["frameworks"]:
        body["frameworks"] = list(options["frameworks"])
    scope = dict(body.get("scope") or {})
    for field in ("include_policies", "include_resources", "exclude_resources"):
        if options[field]:
            scope[field] = list(options[field])
    if scope:
        body["scope"] = scope
    execution = dict(body.get("execution") or {})
    if options["timeout"] is not None:
        execution["timeout"] = options["timeout"]
    if options["sequential"]:
        execution["parallel_execution"] = False
    if execution:
        body["execution"] = execution
    body.setdefault("scan_type", "full")
    return body


@scans.command("trigger")
@click.option("--body", "body_file", type=click.File("r"), help="A JSON body as POST /v1/scans takes ('-' for stdin).")
@click.option("--name", help="Scan name.")
@click.option("--type", "scan_type", help="full (default), policy_specific or resource_specific.")
@click.option("--environment", help="Environment of the target accounts.")
@click.option("--provider", "providers", multiple=True, help="Cloud provider (repeatable): aws, azure, gcp.")
@click.option("--framework", "frameworks", multiple=True, help="Framework (repeatable): soc2, hipaa, iso27001...")
@click.option("--include-policy", "include_policies", multiple=True, help="Policy id or group (repeatable).")
@click.option("--include-resource", "include_resources", multiple=True, help="Resource glob (repeatable).")
@click.option("--exclude-resource", "exclude_resources", multiple=True, help="Resource glob (repeatable).")
@click.option("--timeout", help="Execution timeout, 1m to 24h (e.g. 1h30m).")
@click.option("--sequential", is_flag=True, help="Run the shards one after another.")
@click.option("--watch", "then_watch", is_flag=True, help="Follow the scan until it ends (as `scans watch`).")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
def trigger(body_file: IO[str] | None, then_watch: bool, as_json: bool, **options: Any) -> None:
    """Trigger a scan. Options set the body's fields, over those of --body when both are given."""
    base: dict[str, Any] = {}
    if body_file is not None:
        try:
            base = json.load(body_file)
        except ValueError as exc:
            raise click.ClickException(f"--body is not JSON: {exc}") from None
        if not isinstance(base, dict):
            raise click.ClickException("--body must hold a JSON object")
    client = _client()
    created = _call(client.scans.trigger, build_body(base, **options))
    if as_json:
        _echo_json(created)
    else:
        waiting = f"\tqueue position {created['queue_position']}" if created["status"] == "pending" else ""
        click.echo(f"{created['id']}\t{created['status']}{waiting}")
    if then_watch:
        sys.exit(follow(client, created["id"]))


@scans.command("list")
@click.option("--status", help="pending, running, completed, failed, cancelled or timed_out.")
@click.option("--environment")
@click.option("--type", "scan_type")
@click.option("--created-after", help="ISO 8601 with a zone, inclusive.")
@click.option("--created-before", help="ISO 8601 with a zone, exclusive.")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
def list_scans(as_json: bool, **filters: Any) -> None:
    """List scans, newest first: id, status, type, environment, created, score, violations, resources."""
    page = _call(_client().scans.page, **filters)
    if as_json:
        _echo_json(page)
        return
    for scan in page["scans"]:
        summary = scan["results_summary"]
        score = "-" if summary["compliance_score"] is None else summary["compliance_score"]
        click.echo(
            f"{scan['id']}\t{scan['status']}\t{scan['scan_type']}\t{scan['environment']}\t{scan['created_at']}\t"
            f"score={score}\tviolations={summary['total_violations']}\tresources={summary['resources_scanned']}"
        )
    pagination = page["pagination"]
    if pagination["has_more"]:
        shown_to = pagination["offset"] + len(page["scans"])
        click.echo(f"{shown_to} of {pagination['total']}; next page: --offset {shown_to}", err=True)


@scans.command("show")
@click.argument("scan_id")
def show(scan_id: str) -> None:
    """Print a scan's details as GET /v1/scans/<id> answers them (JSON)."""
    _echo_json(_call(_client().scans.get, scan_id))


@scans.command("cancel")
@click.argument("scan_id")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
def cancel(scan_id: str, as_json: bool) -> None:
    """Cancel a pending or running scan; a running one keeps its partial results."""
    answer = _call(_client().scans.cancel, scan_id)
    if as_json:
        _echo_json(answer)
        return
    partial = answer["partial_results"]
    click.echo(
        f"{answer['id']}\t{answer['status']}\t{partial['resources_scanned']} resources scanned, "
        f"{partial['violations_found']} violations kept"
    )


@scans.command("watch")
@click.argument("scan_id")
def watch(scan_id: str) -> None:
    """Follow a scan live with a progress bar, then print its results. Exit code: 0 completed,
    3 failed, 4 timed out, 5 cancelled, 1 any other error."""
    sys.exit(follow(_client(), scan_id))


def follow(client: Client, scan_id: str) -> int:
    """Show the stream as a progress bar (on stderr) and the summary (on stdout); the exit code.
    A stream cut short (an API restart, a busy server) is reopened: its snapshot picks up where it was."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    outcome: dict[str, Any] = {"status": None}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    # Plain lines: no wrapping at 80 columns when piped, no markup read into messages with brackets.
    console = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(scan_id, total=100, detail="")
        retries = iter(RECONNECT_DELAYS)
        while True:
            try:
                for message in client.scans.stream(scan_id):
                    note = _apply(message, outcome)
                    if note:
                        bar.console.print(note)
                    progress = outcome.get("progress")
                    if progress:
                        bar.update(task, completed=progress["percentage"], detail=_progress_detail(outcome))
                break
            except PolicyCortexError as exc:
                delay = next(retries, None) if exc.error_code in RETRYABLE_STREAM_ERRORS else None
                if delay is None:
                    raise click.ClickException(str(exc)) from None
                bar.console.print(f"{exc}; reconnecting in {delay}s")
                time.sleep(delay)
    click.echo("\n".join(summary_lines(scan_id, outcome)))
    return EXIT_CODES.get(outcome["status"], 1)


def _apply(message: dict[str, Any], outcome: dict[str, Any]) -> str | None:
    """Fold one stream message into what we know of the scan; a line worth printing, if any."""
    kind = message.get("type")
    if kind == "snapshot":
        scan = message["scan"]
        outcome.update(
            status=scan["status"],
            reason=scan["status_reason"],
            duration=scan["duration"],
            results={**scan["results"], "remediation": scan["remediation"]},
            progress=scan["progress"],
            violations=scan["results"]["violation_breakdown"],
        )
    elif kind == "progress":
        outcome["progress"] = {
            "scanned_resources": message["scanned"],
            "total_resources": message["total"],
            "percentage": message["percentage"],
            "total_is_estimate": True,  # a running scan's total is its estimate
        }
        outcome["violations"] = message["violations"]
    elif kind == "shard" and message.get("state") != "started":
        return (
            f"shard {message.get('provider')} {message.get('region')}: {message.get('state')}, "
            f"{message.get('resources_scanned', 0)} resources, {message.get('violations_found', 0)} violations"
        )
    elif kind == "status":
        outcome.update(status=message["status"], reason=message.get("reason"))
        return f"scan {message['status']}: {message.get('reason') or ''}".rstrip(": ")
    elif kind == "completed":
        outcome.update(
            status=message["status"],
            reason=message.get("reason"),
            duration=message.get("duration"),
            results=message.get("results") or {},
            progress=message.get("progress") or outcome.get("progress"),
        )
        outcome["violations"] = outcome["results"].get("violation_breakdown", outcome.get("violations"))
    return None


def _progress_detail(outcome: dict[str, Any]) -> str:
    from shared.scans.render import progress_text

    violations = sum((outcome.get("violations") or {}).values())
    return f"{progress_text(outcome['progress']).rsplit(' (', 1)[0]}, {violations} violations"


def _counts(breakdown: dict[str, int]) -> str:
    return ", ".join(f"{severity} {breakdown.get(severity, 0)}" for severity in SEVERITIES)


def summary_lines(scan_id: str, outcome: dict[str, Any]) -> Iterable[str]:
    """The results summary printed when a scan ends."""
    status, results = outcome.get("status"), outcome.get("results") or {}
    took = f" in {outcome['duration']}" if outcome.get("duration") else ""
    reason = f": {outcome['reason']}" if outcome.get("reason") else ""
    yield f"{scan_id} {status}{took}{reason}"
    if "compliance_score" not in results:
        return
    score = results["compliance_score"]
    previous = results.get("previous_score")
    yield f"  compliance score   {'-' if score is None else score}" + (
        f" (previous {previous})" if previous is not None else ""
    )
    progress = outcome.get("progress") or {}
    if progress:
        yield f"  resources scanned  {progress['scanned_resources']} of {progress['total_resources']}"
    breakdown = results.get("violation_breakdown") or {}
    changes = ""
    if results.get("new_violations") is not None:
        changes = f"; new {results['new_violations']}, resolved {results.get('resolved_violations', 0)}"
    yield f"  violations         {results.get('total_violations', 0)} ({_counts(breakdown)}){changes}"
    remediation = results.get("remediation") or {}
    if remediation:
        effort = f", {remediation['estimated_effort']} estimated" if remediation.get("estimated_effort") else ""
        yield (
            f"  remediation        {remediation.get('manual_required', 0)} manual{effort}, "
            f"{remediation.get('auto_remediated', 0)} fixed automatically"
        )
    errors = results.get("errors") or []
    yield f"  errors             {len(errors)}"
    for error in errors[:LISTED_ERRORS]:
        where = f"{error.get('resource_type')} in {error.get('region')}"
        yield f"    {error.get('code')} listing {where}: {error.get('message')}"
    unlisted = len(errors) - LISTED_ERRORS
    if unlisted > 0:
        noun = "error" if unlisted == 1 else "errors"
        yield f"    ... and {unlisted} more {noun} not listed; see GET /v1/scans/{scan_id}"
