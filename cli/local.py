"""`policycortex local-aws`: a local AWS endpoint (moto, plus the IAM Access Analyzer moto lacks)
holding the demo's small, deliberately insecure estate, for trying a scan without an AWS account."""

from __future__ import annotations

import json
import threading

import click


@click.command("local-aws")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option("--region", "regions", multiple=True, default=("us-east-1", "eu-west-1"), show_default=True)
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the endpoint's (fake) credentials here, as `accounts add --credentials` reads them.",
)
def local_aws(port: int, regions: tuple[str, ...], credentials_file: str | None) -> None:
    """Serve a local AWS endpoint on 127.0.0.1 with a seeded estate, until interrupted. Scanning it
    needs POLICYCORTEX_OUTBOUND_ALLOWLIST=127.0.0.1 in the services' environment (before `make up`)."""
    import logging

    from devkit.estates import DEMO_CREDENTIALS, seed_demo_estate
    from devkit.fakes.local_aws import LocalAws

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
    server = LocalAws(port=port).start()
    found = seed_demo_estate(server.url, regions)
    if credentials_file:
        with open(credentials_file, "w") as file:
            json.dump(DEMO_CREDENTIALS, file)
    click.echo(f"local AWS endpoint on {server.url} ({len(found)} known violations in {', '.join(regions)})")
    click.echo(f"credentials: {json.dumps(DEMO_CREDENTIALS)}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
