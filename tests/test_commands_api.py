"""FFmpegCommand payloads refused with 400 before anything runs (no worker needed)."""

import pytest

from tasks.models import Task
from tests.media_files import make_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(api, tmp_path):
    path = make_clip(tmp_path / "My talk.mp4", size="160x90", seconds=1, fps=5)
    with open(path, "rb") as fh:
        response = api.post("/api/v1/media", {"file": fh, "auto_transcode": "false"}, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.parametrize(
    "payload, field, words",
    [
        ({"command": "-i /etc/passwd ${OUTPUT_FILE}"}, "command", "/etc/passwd"),
        ({"command": "-i ${INPUT_FILE} -vf movie=x ${OUTPUT_FILE}"}, "command", "movie"),
        ({"command": "-i ${INPUT_FILE} -filter_script:v f ${OUTPUT_FILE}"}, "command", "-filter_script"),
        ({"command": "-i ${INPUT_FILE} ${OUTPUT_FILE} /tmp/x.mp4"}, "command", "/tmp/x.mp4"),
        ({"command": "-i ${INPUT_FILE_2} ${OUTPUT_FILE}"}, "input_media_id", "2 input"),
        ({"command": "-i ${INPUT_FILE} ${OUTPUT_FILE}", "output_name": "x.exe"}, "output_name", ".exe"),
        ({"preset": "no-such-preset"}, "preset", "no-such-preset"),
        ({"preset": "clip"}, "params", "duration"),
        ({"preset": "clip", "params": {"duration": "1;ls"}}, "params", "duration"),
        ({"preset": "mp4-720p", "command": "-i ${INPUT_FILE} ${OUTPUT_FILE}"}, "command", "either"),
        ({"command": "-i ${INPUT_FILE} ${OUTPUT_FILE}", "input_media_id": "0b8c4a52-9a7d-4a0c-9a1b-00000000"},
         "input_media_id", "No such media"),
    ],
)  # fmt: skip
def test_bad_commands_are_400_before_anything_runs(api, source, payload, field, words):
    payload = {"input_media_id": source["id"], **payload}
    response = api.post("/api/v1/tasks", {"type": "FFmpegCommand", "payload": payload}, format="json")
    assert response.status_code == 400, response.json()
    messages = response.json()["error"]["details"]["payload"][field]
    assert words in messages[0], messages
    assert not Task.objects.filter(type="FFmpegCommand").exists()


def test_another_tenants_media_is_not_an_input(api, other_api, source):
    payload = {"command": "-i ${INPUT_FILE} ${OUTPUT_FILE}", "input_media_id": source["id"]}
    response = other_api.post("/api/v1/tasks", {"type": "FFmpegCommand", "payload": payload}, format="json")
    assert response.status_code == 400
    assert "No such media" in response.json()["error"]["details"]["payload"]["input_media_id"][0]


def test_command_presets_are_fenced_when_saved(api):
    hostile = {"name": "steal", "kind": "command", "output_extension": "mp4",
               "command": "-i ${INPUT_FILE} -vf drawtext=textfile=/etc/passwd ${OUTPUT_FILE}"}  # fmt: skip
    response = api.post("/api/v1/presets", hostile, format="json")
    assert response.status_code == 400 and "drawtext" in response.json()["error"]["details"]["command"][0]
    fine = {
        **hostile,
        "command": "-i ${INPUT_FILE} -t ${seconds} -c copy ${OUTPUT_FILE}",
        "params": {"seconds": "5"},
    }
    assert api.post("/api/v1/presets", fine, format="json").status_code == 201
