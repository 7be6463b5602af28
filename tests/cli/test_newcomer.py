"""The newcomer's path (issue 21): the CLI as the repository ships it (bin/policycortex, the keys in
.run/secret-keys), hints that name what to do, errors that list what is valid or say the endpoint
is unreachable, and a package that holds every data file the code loads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from shared.platform.settings import Settings, SettingsError
from tests.api.test_auth import assert_envelope
from tests.conftest import free_port, provision, scan_body

REPO = Path(__file__).resolve().parents[2]
SHIM = REPO / "bin" / "policycortex"
CLOSED = {
    "aws": None,  # DEMO_CREDENTIALS, the make_account default
    "azure": {"subscription_id": "00000000-0000-0000-0000-000000000000", "access_token": "t"},
    "gcp": {"project_id": "newcomer-project"},
}


@pytest.fixture()
def checkout(tmp_path):
    """A copy of the shim in a checkout of its own: a .venv whose policycortex prints what it got,
    and a .run/secret-keys, so the test sees what the shim passes on without touching the real one."""
    root = tmp_path / "checkout"
    (root / "bin").mkdir(parents=True)
    shutil.copy2(SHIM, root / "bin" / "policycortex")
    (root / ".venv" / "bin").mkdir(parents=True)
    fake = root / ".venv" / "bin" / "policycortex"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'echo "keys=${POLICYCORTEX_SECRET_KEYS:-} db=${DATABASE_URL:-} redis=${REDIS_URL:-} args=$*"\n'
    )
    fake.chmod(0o755)
    (root / ".run").mkdir()
    (root / ".run" / "secret-keys").write_text("key-from-the-checkout\n")
    return root


def shim_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POLICYCORTEX_SECRET_KEYS", "DATABASE_URL", "REDIS_URL")}
    return {**env, **extra}


def test_the_shim_finds_its_checkout_from_anywhere_and_through_a_symlink(checkout, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = elsewhere / "pc"
    link.symlink_to(checkout / "bin" / "policycortex")
    for command in (str(checkout / "bin" / "policycortex"), str(link)):
        done = subprocess.run(
            [command, "tenant", "list"], cwd=elsewhere, env=shim_env(), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == (
            "keys=key-from-the-checkout db=postgresql+psycopg2://postgres@127.0.0.1:5432/policycortex "
            "redis=redis://127.0.0.1:6379/0 args=tenant list"
        )


def test_the_shim_leaves_what_the_environment_says(checkout, tmp_path):
    env = shim_env(POLICYCORTEX_SECRET_KEYS="mine", DATABASE_URL="postgresql://db/x", REDIS_URL="redis://r/1")
    done = subprocess.run(
        [checkout / "bin" / "policycortex", "x"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "keys=mine db=postgresql://db/x redis=redis://r/1 args=x"


def test_the_shim_without_a_venv_says_to_install(checkout, tmp_path):
    shutil.rmtree(checkout / ".venv")
    done = subprocess.run(
        [checkout / "bin" / "policycortex"], cwd=tmp_path, env=shim_env(), capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "run `make install` (or `make up`)" in done.stderr


@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "policycortex").exists(), reason="no .venv in this checkout")
def test_the_real_shim_runs_the_cli_from_another_directory(tmp_path):
    done = subprocess.run([SHIM, "--help"], cwd=tmp_path, env=shim_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "PolicyCortex: cloud compliance scanning service." in done.stdout


def test_the_cli_reads_the_checkouts_key_file_when_the_environment_has_none(settings, monkeypatch, tmp_path):
    """cli.main finds .run/secret-keys beside its package or in the current directory."""
    import cli.main as cli_main

    monkeypatch.delenv("POLICYCORTEX_SECRET_KEYS", raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    (tmp_path / ".run").mkdir()
    (tmp_path / ".run" / "secret-keys").write_text(",".join(settings.secret_keys) + "\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_main, "__file__", str(tmp_path / "nowhere" / "cli" / "main.py"))
    assert cli_main._settings().secret_keys == settings.secret_keys
    monkeypatch.setenv("POLICYCORTEX_SECRET_KEYS", "from-the-environment")
    assert cli_main._settings().secret_keys == ("from-the-environment",)


def test_without_any_key_the_hint_names_the_key_file_not_a_new_key(monkeypatch, tmp_path):
    import cli.main as cli_main

    monkeypatch.delenv("POLICYCORTEX_SECRET_KEYS", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_main, "__file__", str(tmp_path / "nowhere" / "cli" / "main.py"))
    result = CliRunner().invoke(main, ["tenant", "list"])
    assert result.exit_code == 1
    assert ".run/secret-keys" in result.output and "./bin/policycortex" in result.output
    assert "make migrate" in result.output and "only a new deployment" in result.output
    with pytest.raises(
        SettingsError, match=r"only a new deployment makes its first key, with `policycortex secret-key`"
    ):
        Settings.from_env({})


def test_an_unknown_framework_is_a_400_listing_the_frameworks(client, tenant):
    body = scan_body(frameworks=["soc-2"])
    provision(client, tenant, body)
    answer = assert_envelope(client.post("/v1/scans", json=body, headers=tenant.headers), 400, "SCAN_001")
    [detail] = [d for d in answer["details"] if d["field"] == "frameworks"]
    assert detail["message"].startswith("Unknown framework(s): soc-2 (did you mean soc2?); the frameworks are ")
    assert {"soc2", "hipaa", "iso27001", "pci-dss", "cis-aws"} <= set(
        detail["message"].rsplit("are ", 1)[1].split(", ")
    )


def test_an_unknown_policy_points_at_the_policy_listing(client, tenant):
    from shared.catalog.service import Catalog

    catalog = Catalog.builtin()
    some_id = sorted(catalog.policies)[0]
    body = scan_body(scope={"include_policies": [some_id + "x"]})
    provision(client, tenant, body)
    answer = assert_envelope(client.post("/v1/scans", json=body, headers=tenant.headers), 400, "SCAN_001")
    [detail] = [d for d in answer["details"] if d["field"] == "scope.include_policies"]
    assert f"{some_id}x (did you mean {some_id}?)" in detail["message"]
    assert "GET /v1/policies" in detail["message"]


def test_names_listed_in_errors_are_bounded():
    from shared.catalog.service import listed

    assert listed(["b", "a"]) == "a, b"
    assert listed([f"n{i:02d}" for i in range(30)], limit=3) == "n00, n01, n02, ... (30 in all)"


@pytest.mark.parametrize("provider", sorted(CLOSED))
def test_verify_against_a_closed_port_says_the_endpoint_is_unreachable(client, tenant, make_account, provider):
    port = free_port()
    account = make_account(
        tenant,
        provider=provider,
        endpoint_url=f"http://127.0.0.1:{port}",
        regions=("us-east-1",) if provider == "aws" else (),
        credentials=CLOSED[provider],
    )
    answer = client.post(f"/v1/accounts/{account['id']}/verify", headers=tenant.headers).get_json()
    assert answer["verified"] is False
    first, *rest = answer["checks"]
    assert first["check"] == "credentials" and first["ok"] is False
    assert f"the endpoint 127.0.0.1:{port} could not be reached" in first["message"]
    assert "credentials were not tried" in first["message"]
    assert rest and all(not c["ok"] and c["message"] == "Not checked: the endpoint could not be reached" for c in rest)


WHEEL_TIMEOUT = 60


def test_the_wheel_holds_every_data_file(tmp_path):
    """Every YAML, template and migration the code loads is package data of a built wheel (built
    from a copy, so a stale build/ in the checkout cannot add files), and the build warns of nothing."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for package in ("api", "workers", "beat", "shared", "cli", "devkit"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path)]
    done = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=WHEEL_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "absent from the `packages` configuration" not in done.stdout + done.stderr
    [wheel] = tmp_path.glob("policycortex-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        str(path.relative_to(REPO))
        for pattern in (
            "shared/policies/builtin/*/*.yaml",
            "shared/frameworks/*.yaml",
            "shared/reports/templates/*.html",
            "shared/migrations/script.py.mako",
            "shared/migrations/versions/*.py",
        )
        for path in REPO.glob(pattern)
    }
    assert len(wanted) > 600
    assert wanted - packaged == set()
