"""The published OpenAPI schema is the contract: schemathesis, with every check, against the live API.

Bounded (examples per operation, a time budget), so it stays a few minutes at most in CI. A failure
prints schemathesis's own report: each failing check with the request that reproduces it.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tenants.services import issue_api_key

SCHEMATHESIS = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")


@pytest.mark.slow
@pytest.mark.timeout(600)  # the run's own budget is 150 s; a busy machine stretches the requests
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_failure_and_no_server_error(live_server, tenant, settings, tmp_path):
    key = issue_api_key(tenant=tenant, name="schemathesis", scopes=["admin"]).key
    result = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{live_server.url}/api/v1/schema",
            "--url",
            live_server.url,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "10",
            "--max-time",
            "150",
            "--workers",
            "1",
            "--header",
            f"Authorization: Bearer {key}",
            "--request-timeout",
            "30",
            "--seed",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-30000:]


@pytest.mark.django_db
def test_json_bodies_only_except_the_upload(api):
    form = api.post("/api/v1/tasks", {"type": "TestEcho"}, format="multipart")
    assert form.status_code == 415 and form.json()["error"]["code"] == "unsupported_media_type"
    encoded = api.generic(
        "POST", "/api/v1/tasks", "type=TestEcho", content_type="application/x-www-form-urlencoded"
    )
    assert encoded.status_code == 415
