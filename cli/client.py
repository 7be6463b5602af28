"""The CLI's handle on the API: a policycortex_client Client from the environment, and its errors
as one-line click errors (exit code 1)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click
from policycortex_client.client import DEFAULT_URL, Client
from policycortex_client.errors import ConnectionFailed, PolicyCortexError

T = TypeVar("T")


def api_client(env: Mapping[str, str] | None = None) -> Client:
    """From POLICYCORTEX_URL (default the local API) and POLICYCORTEX_API_KEY, which must be set."""
    env = os.environ if env is None else env
    key = env.get("POLICYCORTEX_API_KEY", "").strip()
    if not key:
        raise click.ClickException(
            "POLICYCORTEX_API_KEY is not set: make a key with "
            "`export POLICYCORTEX_API_KEY=$(./bin/policycortex apikey create --tenant NAME --create-tenant)`"
        )
    return Client(env.get("POLICYCORTEX_URL", "").strip() or DEFAULT_URL, key)


def call(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """An API call whose error becomes a clean one-line message and exit code 1."""
    try:
        return method(*args, **kwargs)
    except ConnectionFailed as exc:
        raise click.ClickException(
            f"{exc}: is the API running? `make up` serves it on {DEFAULT_URL}; set POLICYCORTEX_URL for another address"
        ) from None
    except PolicyCortexError as exc:
        raise click.ClickException(str(exc)) from None
