"""POST /media/{id}/renditions/{name}/rerun: one rung re-encoded, everything else byte-identical."""

import dramatiq
import pytest
from django.conf import settings

from mediahub.media import storage
from mediahub.media.models import Media
from tasks import services as task_services
from tasks.models import Task
from tests.media_files import make_clip
from tests.task_helpers import running_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

LADDER = [
    {"name": "270p", "height": 270, "video_bitrate": 500},
    {"name": "144p", "height": 144, "video_bitrate": 200},
]


@pytest.fixture
def worker():
    broker = dramatiq.get_broker()
    broker.flush_all()
    with running_worker(broker, threads=1, queues={"video_transcoding"}) as running:
        yield running


def stored(prefix: str) -> dict[str, bytes]:
    store = storage.get_store()
    listing = store.client.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix)
    return {obj["Key"]: store.read_bytes(obj["Key"]) for obj in listing.get("Contents", [])}


def completed(task_id, timeout=120) -> Task:
    return wait_for(
        lambda: (t := Task.objects.get(pk=task_id)).status in ("completed", "failed") and t, timeout=timeout
    )


def test_rerun_replaces_one_rendition_and_leaves_the_rest_byte_identical(api, tenant, worker, tmp_path):
    tenant.settings = {"fast_start": False}
    tenant.save()
    path = make_clip(tmp_path / "talk.mp4", size="480x270", seconds=6, fps=10)
    with open(path, "rb") as fh:
        media = api.post("/api/v1/media", {"file": fh, "auto_transcode": "false"}, format="multipart").json()
    payload = {"media_id": media["id"], "ladder": LADDER}
    first = task_services.create_task(tenant=tenant, type_name="VideoTranscoding", payload=payload)
    assert completed(first.pk).status == "completed"
    media = Media.objects.get(id=media["id"])
    prefix = storage.hls_prefix(tenant.id, media.id)
    before = stored(prefix)
    # The 144p rung lost a segment and its playlist names one too many: the rerun repairs exactly it.
    store = storage.get_store()
    store.delete(sorted(k for k in before if k.startswith(f"{prefix}144p/seg_"))[0])
    playlist = before[f"{prefix}144p/index.m3u8"].replace(
        b"#EXT-X-ENDLIST", b"#EXTINF:4.0,\nseg_09999.ts\n#EXT-X-ENDLIST"
    )
    store.put_bytes(f"{prefix}144p/index.m3u8", playlist)
    store.put_bytes(f"{prefix}144p/seg_09999.ts", b"stale")

    response = api.post(f"/api/v1/media/{media.id}/renditions/144p/rerun")
    assert response.status_code == 202, response.json()
    assert response.json()["type"] == "RenditionRerun" and response.json()["media"] == str(media.id)
    task = completed(response.json()["id"])
    assert task.status == "completed", task.error
    assert task.result["removed_segments"] == 1

    after = stored(prefix)
    untouched = {k: v for k, v in before.items() if not k.startswith(f"{prefix}144p/")}
    assert {k: after[k] for k in untouched} == untouched  # master and 270p, byte for byte
    assert f"{prefix}master.m3u8" in untouched
    rung = {k for k in after if k.startswith(f"{prefix}144p/")}
    assert rung == {k for k in before if k.startswith(f"{prefix}144p/")}  # the lost segment is back
    media_after = Media.objects.get(id=media.id)
    assert media_after.status == "ready" and media_after.hls == media.hls
    master = api.get(f"/api/v1/media/{media.id}/hls/master.m3u8")
    assert master.status_code == 200 and b"144p/index.m3u8" in master.content


def test_rerun_refusals(api, other_api, tenant, tmp_path):
    path = make_clip(tmp_path / "a.mp4", size="160x90", seconds=1, fps=5)
    with open(path, "rb") as fh:
        media = api.post("/api/v1/media", {"file": fh, "auto_transcode": "false"}, format="multipart").json()
    url = f"/api/v1/media/{media['id']}/renditions/144p/rerun"
    assert api.post(url).status_code == 409  # not transcoded yet
    Media.objects.filter(id=media["id"]).update(
        status="ready", hls={"master_key": "x", "renditions": [{"name": "144p"}], "complete": True}
    )
    assert api.post(f"/api/v1/media/{media['id']}/renditions/720p/rerun").status_code == 404
    assert other_api.post(url).status_code == 404
    assert api.post(url).status_code == 202
