import pytest

from mediahub.presets.models import Preset
from mediahub.presets.selectors import PresetNotFound, find_preset, ladder_for
from mediahub.presets.system import SYSTEM_PRESETS, system_preset_id
from tests.conftest import client_for

SYSTEM_NAMES = {
    "mp4-720p",
    "webm-720p",
    "audio-mp3",
    "audio-aac",
    "gif-preview",
    "thumbnail-jpg",
    "clip",
    "ladder-default",
    "ladder-quality",
}
RUNG = {"name": "a", "height": 360, "video_bitrate": 800}
COMMAND = {
    "name": "half-size",
    "description": "Half the picture size",
    "kind": "command",
    "command": "-i ${INPUT_FILE} -vf scale=iw/2:-2 -c:a copy ${OUTPUT_FILE}",
    "output_extension": "mp4",
}


def _all_presets(api) -> list[dict]:
    return api.get("/api/v1/presets?limit=100").json()["presets"]


def test_system_presets_are_listed_for_every_tenant(api, other_api):
    for client in (api, other_api):
        presets = _all_presets(client)
        assert {p["name"] for p in presets if p["system"]} == SYSTEM_NAMES
    assert {d["name"] for d in SYSTEM_PRESETS} == SYSTEM_NAMES
    ladder = api.get(f"/api/v1/presets/{system_preset_id('ladder-quality')}").json()
    assert ladder["kind"] == "ladder" and "command" not in ladder and "ops" not in ladder
    assert all(rung["crf"] and rung["video_bitrate"] for rung in ladder["ladder"])
    mp4 = next(p for p in _all_presets(api) if p["name"] == "mp4-720p")
    assert mp4["output_extension"] == "mp4" and "${OUTPUT_FILE}" in mp4["command"]
    assert "ladder" not in mp4


def test_create_get_patch_delete_own_preset(api):
    response = api.post("/api/v1/presets", COMMAND, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["system"] is False and created["command"] == COMMAND["command"]

    url = f"/api/v1/presets/{created['id']}"
    assert api.get(url).json()["name"] == "half-size"
    patched = api.patch(url, {"description": "smaller"}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["description"] == "smaller" and patched.json()["command"] == COMMAND["command"]
    assert api.patch(url, {"kind": "ladder"}, format="json").status_code == 400

    kinds = api.get("/api/v1/presets?kind=command").json()["presets"]
    assert {p["kind"] for p in kinds} == {"command"} and "half-size" in {p["name"] for p in kinds}
    for bad in ("AAA", ""):  # an unknown or empty kind is refused, not ignored
        refused = api.get(f"/api/v1/presets?kind={bad}")
        assert refused.status_code == 400 and "kind" in refused.json()["error"]["details"]
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_presets_are_isolated_per_tenant(api, other_api, tenant, other_tenant):
    created = api.post("/api/v1/presets", COMMAND, format="json").json()
    url = f"/api/v1/presets/{created['id']}"
    assert other_api.get(url).status_code == 404
    assert other_api.patch(url, {"description": "x"}, format="json").status_code == 404
    assert other_api.delete(url).status_code == 404
    assert "half-size" not in {p["name"] for p in _all_presets(other_api)}
    # The same name is free in another tenant.
    assert other_api.post("/api/v1/presets", COMMAND, format="json").status_code == 201
    assert (
        find_preset(tenant=tenant, name_or_id="half-size").id
        == Preset.objects.get(tenant=tenant, name="half-size").id
    )
    with pytest.raises(PresetNotFound):
        find_preset(tenant=other_tenant, name_or_id=created["id"])


def test_system_presets_are_read_only(api):
    url = f"/api/v1/presets/{system_preset_id('mp4-720p')}"
    for response in (
        api.patch(url, {"description": "mine now"}, format="json"),
        api.patch(url, {"command": 7}, format="json"),
        api.delete(url),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert Preset.objects.get(id=system_preset_id("mp4-720p")).description.startswith("MP4")
    taken = api.post("/api/v1/presets", {**COMMAND, "name": "mp4-720p"}, format="json")
    assert taken.status_code == 400 and "name" in taken.json()["error"]["details"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({**COMMAND, "command": None}, "command"),
        ({**COMMAND, "command": ""}, "command"),
        ({**COMMAND, "command": ["-i", 3]}, "command"),
        ({**COMMAND, "output_extension": ""}, "output_extension"),
        ({**COMMAND, "output_extension": "../x"}, "output_extension"),
        ({**COMMAND, "ladder": [{"name": "a", "height": 360, "video_bitrate": 800}]}, "ladder"),
        ({**COMMAND, "name": "../etc"}, "name"),
        ({**COMMAND, "colour": "red"}, "colour"),
        ({**COMMAND, "params": {"Bad Name": "1"}}, "params"),
        ({"name": "l", "kind": "ladder", "ladder": []}, "ladder"),
        ({"name": "l", "kind": "ladder", "ladder": [{"name": "a", "height": 360}]}, "ladder"),
        ({"name": "l", "kind": "ladder", "ladder": [{**RUNG, "crf": 60}]}, "ladder"),
        ({"name": "i", "kind": "image"}, "ops"),
        ({"name": "x", "kind": "video"}, "kind"),
        ({"name": "i", "kind": "image", "ops": "-/resize/10x", "ladder": [None, None]}, "ladder"),  # 500
        ({"name": "l", "kind": "ladder", "ladder": [None]}, "ladder"),
        ({**COMMAND, "command": "-i a\x00b"}, "command"),
        ({**COMMAND, "command": ["-i", "\x00"]}, "command"),
    ],
)  # fmt: skip
def test_bad_presets_are_400_naming_the_field(api, body, field):
    response = api.post("/api/v1/presets", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]


def test_read_key_cannot_change_presets(tenant):
    response = client_for(tenant, ["read"]).post("/api/v1/presets", COMMAND, format="json")
    assert response.status_code == 403


def test_hls_ladder_setting_may_name_a_ladder_preset(api, tenant):
    own = [{"name": "small", "height": 240, "video_bitrate": 400, "crf": 26}]
    assert (
        api.post(
            "/api/v1/presets", {"name": "tiny", "kind": "ladder", "ladder": own}, format="json"
        ).status_code
        == 201
    )
    for name in ("ladder-quality", "tiny"):
        response = api.patch("/api/v1/tenant", {"settings": {"hls_ladder": name}}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["settings"]["hls_ladder"] == name
    tenant.refresh_from_db()
    assert ladder_for(tenant=tenant) == [{**own[0], "audio_bitrate": 128}]
    api.patch("/api/v1/tenant", {"settings": {"hls_ladder": "ladder-quality"}}, format="json")
    tenant.refresh_from_db()
    assert [rung["crf"] for rung in ladder_for(tenant=tenant)] == [21, 22, 23, 24]

    for bad in ("no-such-ladder", "mp4-720p", "../x"):
        response = api.patch("/api/v1/tenant", {"settings": {"hls_ladder": bad}}, format="json")
        assert response.status_code == 400
        assert "settings" in response.json()["error"]["details"]
