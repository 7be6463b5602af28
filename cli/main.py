"""`policycortex`: the operator's command line. What has no API (the schema, tenants, API keys) goes
to the database directly; what a tenant owns (accounts, schedules, scans, reports) goes through the
REST API with the tenant's key, like any caller: the same validation, isolation and encryption."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

import click
from policycortex_client.errors import PolicyCortexError
from sqlalchemy import select

from cli.client import api_client as _client
from cli.client import call as _call
from cli.frameworks import frameworks
from cli.local import local_aws
from cli.policies import policies
from cli.scans import _echo_json, scans
from shared.platform.settings import Settings, SettingsError

# `accounts verify` exits with 3 when the check ran and found the account not ready (1: any error).
EXIT_NOT_VERIFIED = 3


def _local_secret_keys() -> str | None:
    """The Fernet keys `make migrate`/`make up` wrote to .run/secret-keys (in this checkout, or in
    the current directory), so the CLI reads what the services it sits beside encrypted."""
    for root in (Path(__file__).resolve().parents[1], Path.cwd()):
        path = root / ".run" / "secret-keys"
        if path.is_file():
            return path.read_text().strip() or None
    return None


def _settings() -> Settings:
    env = dict(os.environ)
    if not env.get("POLICYCORTEX_SECRET_KEYS") and (keys := _local_secret_keys()):
        env["POLICYCORTEX_SECRET_KEYS"] = keys
    try:
        return Settings.from_env(env)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _services():
    from shared.platform.context import Services

    return Services(_settings())


@click.group()
def main() -> None:
    """PolicyCortex: cloud compliance scanning service."""


main.add_command(scans)
main.add_command(frameworks)
main.add_command(policies)
main.add_command(local_aws)


@main.command("secret-key")
def secret_key() -> None:
    """Print a new Fernet key for POLICYCORTEX_SECRET_KEYS."""
    from shared.platform.crypto import CredentialVault

    click.echo(CredentialVault.generate_key())


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create the database if needed and migrate it to the latest schema."""
    from shared.migrations.commands import upgrade

    upgrade(_settings().database_url, revision)
    click.echo(f"database at revision {revision}")


@main.group()
def tenant() -> None:
    """Tenants."""


@tenant.command("create")
@click.argument("name")
@click.option("--max-concurrent", type=click.IntRange(min=1), default=None)
@click.option("--max-queued", type=click.IntRange(min=0), default=None)
def tenant_create(name: str, max_concurrent: int | None, max_queued: int | None) -> None:
    from shared.tenants.service import create_tenant, tenant_by_name

    svc = _services()
    with svc.db.session() as session:
        if tenant_by_name(session, name):
            raise click.ClickException(f"tenant '{name}' exists")
        row = create_tenant(session, svc.settings, name, max_concurrent=max_concurrent, max_queued=max_queued)
        click.echo(f"{row.id}\t{row.name}\tmax_concurrent={row.max_concurrent}\tmax_queued={row.max_queued}")


@tenant.command("list")
def tenant_list() -> None:
    from shared.tenants.models import Tenant

    with _services().db.session() as session:
        for row in session.scalars(select(Tenant).order_by(Tenant.name)):
            click.echo(f"{row.id}\t{row.name}\tmax_concurrent={row.max_concurrent}\tmax_queued={row.max_queued}")


@main.group()
def apikey() -> None:
    """API keys (shown once, stored hashed)."""


@apikey.command("create")
@click.option("--tenant", "tenant_name", required=True, help="tenant name")
@click.option("--test", "test_mode", is_flag=True, help="an sk_test_ key instead of sk_live_")
@click.option("--name", default="", help="a label for listings")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["read", "write", "admin"]),
    default=("read", "write"),
    show_default=True,
)
@click.option("--create-tenant", is_flag=True, help="create the tenant when it does not exist")
@click.option("--expires-in", type=click.IntRange(min=1), default=None, help="days until the key stops working")
def apikey_create(
    tenant_name: str, test_mode: bool, name: str, scopes: tuple[str, ...], create_tenant: bool, expires_in: int | None
) -> None:
    """Create a key and print it once: it cannot be shown again."""
    from datetime import timedelta

    from shared.platform.db import utcnow
    from shared.tenants.apikeys import create_key
    from shared.tenants.service import create_tenant as make_tenant
    from shared.tenants.service import tenant_by_name

    svc = _services()
    with svc.db.session() as session:
        row = tenant_by_name(session, tenant_name)
        if row is None and create_tenant:
            row = make_tenant(session, svc.settings, tenant_name)
        if row is None:
            raise click.ClickException(f"no tenant '{tenant_name}' (use --create-tenant)")
        expires_at = utcnow() + timedelta(days=expires_in) if expires_in else None
        key, plaintext = create_key(
            session, row, mode="test" if test_mode else "live", name=name, scopes=scopes, expires_at=expires_at
        )
    click.echo(plaintext)
    click.echo(f"created {key.id} for tenant {tenant_name}; store the key now, it is not shown again", err=True)


@apikey.command("list")
@click.option("--tenant", "tenant_name", required=True)
def apikey_list(tenant_name: str) -> None:
    from shared.tenants.models import ApiKey
    from shared.tenants.service import tenant_by_name

    with _services().db.session() as session:
        row = tenant_by_name(session, tenant_name)
        if row is None:
            raise click.ClickException(f"no tenant '{tenant_name}'")
        for key in session.scalars(select(ApiKey).where(ApiKey.tenant_id == row.id).order_by(ApiKey.created_at)):
            state = "revoked" if key.revoked_at else "active"
            click.echo(f"{key.id}\t{key.prefix}...\t{','.join(key.scopes)}\t{state}\t{key.name}")


@apikey.command("revoke")
@click.argument("key_id")
def apikey_revoke(key_id: str) -> None:
    from shared.tenants.apikeys import revoke_key

    with _services().db.session() as session:
        if not revoke_key(session, key_id):
            raise click.ClickException(f"no active key {key_id}")
    click.echo(f"revoked {key_id}")


@main.group()
def accounts() -> None:
    """Cloud accounts, through the REST API at POLICYCORTEX_URL with the key in POLICYCORTEX_API_KEY."""


def read_credentials(source: IO[str] | None, provider: str) -> dict[str, Any]:
    """The credential fields from a JSON file (or stdin, read without echo at a terminal). A GCP
    service-account key file is taken as is. Errors never quote the content: it holds secrets."""
    if source is None:
        return {}
    if source.name == "<stdin>" and source.isatty():
        text = click.prompt("Credentials (JSON, not echoed)", hide_input=True, err=True)
    else:
        text = source.read()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"--credentials is not JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(document, dict):
        raise click.ClickException("--credentials must hold a JSON object of credential fields")
    if provider == "gcp" and document.get("type") == "service_account":
        return {"service_account_json": text}
    return document


@accounts.command("add")
@click.argument("name")
@click.option("--provider", required=True, help="aws, azure, gcp or hybrid.")
@click.option("--environment", required=True, help="The environment scans target (e.g. production).")
@click.option("--region", "regions", multiple=True, help="Region to scan (repeatable; none: every enabled region).")
@click.option("--endpoint-url", help="A private or local endpoint of the provider's API.")
@click.option("--collection", help="api (default) or inventory (evaluated from uploaded inventories).")
@click.option(
    "--credentials",
    "credentials_file",
    type=click.File("r"),
    help="A JSON file of credential fields ('-' for stdin), or a GCP service-account key file. Never echoed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
def accounts_add(
    name: str,
    provider: str,
    environment: str,
    regions: tuple[str, ...],
    endpoint_url: str | None,
    collection: str | None,
    credentials_file: IO[str] | None,
    as_json: bool,
) -> None:
    """Register a cloud account; its credentials are sent once, stored encrypted, never shown again."""
    body: dict[str, Any] = {
        "provider": provider,
        "name": name,
        "environment": environment,
        "regions": list(regions),
        "credentials": read_credentials(credentials_file, provider),
        "endpoint_url": endpoint_url,
    }
    if collection:
        body["collection"] = collection
    account = _call(_client().accounts.create, body)
    if as_json:
        _echo_json(account)
    else:
        click.echo(_account_line(account))


def _account_line(account: dict[str, Any]) -> str:
    regions = ",".join(account["regions"]) or "all-regions"
    credentials = "credentials=stored" if account["has_credentials"] else "credentials=none"
    return (
        f"{account['id']}\t{account['provider']}\t{account['name']}\t{account['environment']}\t"
        f"{account['collection']}\t{regions}\t{credentials}"
    )


@accounts.command("list")
@click.option("--provider")
@click.option("--environment")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
def accounts_list(as_json: bool, **filters: Any) -> None:
    """List accounts: id, provider, name, environment, collection, regions, credentials."""
    params = {name: value for name, value in filters.items() if value is not None}
    page = _call(_client().accounts.page, **params)
    if as_json:
        _echo_json(page)
        return
    for account in page["accounts"]:
        click.echo(_account_line(account))
    _more(page["pagination"], len(page["accounts"]))


@accounts.command("verify")
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
def accounts_verify(account_id: str, as_json: bool) -> None:
    """Check an account's credentials and the permissions scans need, from where the API runs.
    Exit code: 0 verified, 3 not verified, 1 any other error."""
    answer = _call(_client().accounts.verify, account_id)
    if as_json:
        _echo_json(answer)
    else:
        for check in answer["checks"]:
            click.echo(f"{'ok' if check['ok'] else 'FAIL'}\t{check['check']}\t{check['message']}")
        click.echo(f"{answer['account_id']} {'verified' if answer['verified'] else 'not verified'}")
    if not answer["verified"]:
        sys.exit(EXIT_NOT_VERIFIED)


def _more(pagination: dict[str, Any], shown: int) -> None:
    if pagination["has_more"]:
        shown_to = pagination["offset"] + shown
        click.echo(f"{shown_to} of {pagination['total']}; next page: --offset {shown_to}", err=True)


@main.group()
def schedules() -> None:
    """Schedules, through the REST API at POLICYCORTEX_URL with the key in POLICYCORTEX_API_KEY."""


@schedules.command("list")
@click.option("--enabled/--disabled", default=None, help="Only enabled (or disabled) schedules.")
@click.option("--environment")
@click.option("-q", "q", help="Text in the name or description.")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
def schedules_list(as_json: bool, enabled: bool | None, **filters: Any) -> None:
    """List schedules: id, state, cron, time zone, next run (UTC), last run, last scan, name."""
    params = {name: value for name, value in filters.items() if value is not None}
    if enabled is not None:
        params["enabled"] = "true" if enabled else "false"
    page = _call(_client().schedules.page, **params)
    if as_json:
        _echo_json(page)
        return
    for schedule in page["schedules"]:
        timing = schedule["schedule"]
        click.echo(
            f"{schedule['id']}\t{'enabled' if schedule['enabled'] else 'disabled'}\t{timing['cron']}\t"
            f"{timing['timezone']}\tnext={schedule['next_run_at'] or '-'}\tlast={schedule['last_run_at'] or '-'}\t"
            f"{schedule['last_scan_id'] or '-'}\t{schedule['name']}"
        )
    _more(page["pagination"], len(page["schedules"]))


@main.group()
def reports() -> None:
    """Scan reports, through the REST API at POLICYCORTEX_URL with the key in POLICYCORTEX_API_KEY."""


@reports.command("get")
@click.argument("scan_id")
@click.option("--format", "format_name", default="json", show_default=True, help="json, csv, ocsf or html.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="A file (default: stdout).")
def reports_get(scan_id: str, format_name: str, output: str | None) -> None:
    """Download a finished scan's report. With -o the file appears only once complete."""
    api = _client().reports
    try:
        if output is None:
            with click.open_file("-", "wb") as stdout:
                for chunk in api.chunks(scan_id, format_name):
                    stdout.write(chunk)
            return
        size = api.save(scan_id, output, format_name)
    except PolicyCortexError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {size} bytes to {output}", err=True)


@main.command()
@click.option("--keep-running", is_flag=True, help="leave the API, worker and moto server running")
def demo(keep_running: bool) -> None:
    """Run a real scan end to end through the REST API against a local moto estate."""
    from devkit.demo import run_demo

    sys.exit(run_demo(_settings(), keep_running=keep_running))


if __name__ == "__main__":
    main()
