"""The published OpenAPI schema is the contract: schemathesis, with every check, against the live API.

Bounded (examples per operation, a time budget), so it stays a few minutes at most in CI. A failure
prints schemathesis's own report: each failing check with the request that reproduces it.
"""

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mediahub.presets.services import create_preset
from mediahub.webhooks.services import create_endpoint
from tasks.services import create_task
from tenants.services import issue_api_key
from tests.test_media_api import raw_upload

SCHEMATHESIS = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")


def existing_objects(api, tenant) -> dict[str, str]:
    """One object of each kind for the tenant, named in the environment for schemathesis.toml, so
    that the operations on an object reach its logic instead of a 404 for a random id."""
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(image, "PNG")
    media = raw_upload(api, "red.png", image.getvalue()).json()
    task = create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    endpoint, _ = create_endpoint(tenant=tenant, url="https://hooks.example.com/in", events=["*"])
    preset = create_preset(
        tenant=tenant, fields={"name": "half", "kind": "image", "ops": "-/resize/50x", "description": ""}
    )
    upload = api.post("/api/v1/media/uploads", {"filename": "a.mp4", "size_bytes": 10}, format="json").json()
    return {
        "MEDIAHUB_SCHEMA_MEDIA": media["id"],
        "MEDIAHUB_SCHEMA_TASK": str(task.pk),
        "MEDIAHUB_SCHEMA_WEBHOOK": str(endpoint.pk),
        "MEDIAHUB_SCHEMA_PRESET": str(preset.pk),
        "MEDIAHUB_SCHEMA_UPLOAD": upload["upload_id"],
    }


@pytest.mark.slow
@pytest.mark.timeout(600)  # the run's own budget is 150 s; a busy machine stretches the requests
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_failure_and_no_server_error(live_server, tenant, api, settings, tmp_path):
    key = issue_api_key(tenant=tenant, name="schemathesis", scopes=["admin"]).key
    # An event stream lasts 1 s instead of 5 min: each GET /events/stream would otherwise hold the
    # single worker until schemathesis stops reading, spending the run's time budget on idle streams.
    settings.EVENTS_STREAM_MAX_SECONDS = 1
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
        env={**os.environ, **existing_objects(api, tenant)},
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
