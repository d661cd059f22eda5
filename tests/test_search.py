"""Embeddings and hybrid search: the real MiniLM model, real PostgreSQL with pgvector, real workers."""

import io

import numpy as np
import pytest
from django.db import transaction
from django.test import override_settings
from pypdf import PdfWriter

from mediahub.media.models import Media
from mediahub.search import services
from mediahub.search.embedder import MiniLM, get_embedder, reset_embedder
from mediahub.search.models import Embedding
from mediahub.search.text import build_text, filename_words, register_text_source
from mediahub.webhooks.models import Event
from tasks.models import Task
from tests.conftest import client_for
from tests.embedding_models import CountingMiniLM
from tests.task_helpers import queue_worker, wait_for


@pytest.fixture(scope="module")
def minilm():
    return MiniLM()


@pytest.fixture
def counting_model():
    with override_settings(EMBEDDING_MODEL="tests.embedding_models.CountingMiniLM"):
        reset_embedder()
        CountingMiniLM.calls.clear()
        yield CountingMiniLM.calls
    reset_embedder()


@pytest.fixture
def worker(counting_model):
    with queue_worker({"embeddings"}) as running:
        yield running


def upload_text(client, filename: str, content: str, **fields):
    """A plain-text document upload (its words are part of its search text)."""
    body = io.BytesIO()
    boundary = "searchtestboundary"
    for name, value in fields.items():
        body.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    body.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    body.write(content.encode() + f"\r\n--{boundary}--\r\n".encode())
    response = client.generic(
        "POST", "/api/v1/media", body.getvalue(), content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def embedded(media_id, timeout=60) -> Embedding:
    return wait_for(
        lambda: Embedding.objects.filter(media_id=media_id, status__in=["current", "none", "failed"]).first(),
        timeout=timeout,
        what=f"embedding of {media_id}",
    )


def all_done(timeout=60):
    wait_for(
        lambda: not Task.objects.filter(type="EmbeddingGeneration", status__in=Task.OPEN).exists(),
        timeout=timeout,
        what="embedding tasks",
    )


def search(client, **params):
    return client.get("/api/v1/search", params)


# --- the model ---


def test_semantic_ordering(minilm):
    cat, kitten, tax = minilm.embed(["a cat on a sofa", "kitten on a couch", "quarterly tax report"])
    assert cat.shape == (384,) and np.linalg.norm(cat) == pytest.approx(1, abs=1e-4)
    assert float(cat @ kitten) > 0.65
    assert float(cat @ tax) < 0.25
    assert float(cat @ kitten) > float(cat @ tax) + 0.4


def test_padding_follows_the_longest_text_and_truncates_at_256(minilm):
    short = minilm.tokenizer.encode_batch(["a cat", "a cat on a sofa"])
    assert len(short[0].ids) == len(short[1].ids) == 7  # [CLS] a cat on a sofa [SEP], not 128
    long = minilm.tokenizer.encode_batch(["word " * 1000])
    assert len(long[0].ids) == 256
    assert minilm.embed(["word " * 1000]).shape == (1, 384)  # a long query is cut, not an error


def test_the_model_loads_once_per_process(counting_model):
    assert get_embedder() is get_embedder()
    assert isinstance(get_embedder(), CountingMiniLM)


# --- the text ---


def test_text_is_built_from_fields_filename_metadata_and_registered_sources(tenant):
    media = Media(
        tenant=tenant,
        type="image",
        filename="kitten_on-a.couch.JPG",
        title="Afternoon",
        description="Sunny   room",
        metadata={"place": "Lyon", "tags": ["cosy", "warm"], "rating": 5, "flag": True},
    )
    assert filename_words(media.filename) == "kitten on a couch"
    assert build_text(media) == "Afternoon Sunny room kitten on a couch Lyon cosy warm 5"

    def transcript(item):
        return "hello from the transcript" if item is media else None

    register_text_source(transcript)
    try:
        assert build_text(media).endswith("5 hello from the transcript")
    finally:
        from mediahub.search import text

        text._sources.remove(transcript)


# --- the pipeline: upload → task → vector → search (transactional: a real worker) ---


@pytest.mark.django_db(transaction=True)
def test_uploads_are_embedded_and_found_by_meaning_and_by_exact_code(api, tenant, worker):
    cat = upload_text(api, "pets.txt", "notes", title="A cat on a sofa", description="Sleeping in the sun")
    tax = upload_text(api, "tax.txt", "figures", title="Quarterly tax report", description="Q3 revenue")
    sku = upload_text(
        api,
        "parts.txt",
        "inventory",
        title="Replacement hinge",
        description="Spare part SKU-48213 for cabinets",
    )
    # Look-alike codes the embedding finds closer to the query than the exact one.
    lookalikes = [
        upload_text(api, f"codes{i}.txt", str(i), title=title)
        for i, title in enumerate(
            [
                "SKU list: 42813, 48321, 43812",
                "Item SKU-48231 warehouse code",
                "Product code SKU 48123 inventory label",
                "SKU-84213 stock keeping unit barcode",
            ]
        )
    ]
    assert api.get(f"/api/v1/media/{cat['id']}").json()["embedding"]["status"] in ("pending", "current")
    for media in (cat, tax, sku, *lookalikes):
        assert embedded(media["id"]).status == "current"
    body = api.get(f"/api/v1/media/{cat['id']}").json()["embedding"]
    assert body["status"] == "current" and body["model"] == "all-MiniLM-L6-v2-int8" and body["updated_at"]
    assert Event.objects.filter(type="embedding.completed", data__id=cat["id"]).count() == 1

    # A paraphrase without a shared word finds the cat first, by meaning alone.
    found = search(api, q="kitten resting on a couch").json()
    assert found["results"][0]["media"]["id"] == cat["id"]
    assert found["results"][0]["match"] == "semantic"
    assert found["results"][0]["media"]["embedding"]["status"] == "current"

    # The product code: the embedding alone ranks it below look-alikes; the full-text half lifts it.
    semantic_only = [str(hit.media.pk) for hit in _service_search(tenant, "SKU-48213", "semantic")]
    assert semantic_only.index(sku["id"]) >= 2
    found = search(api, q="SKU-48213").json()
    assert found["results"][0]["media"]["id"] == sku["id"]
    assert found["results"][0]["match"] == "both"
    assert found["limit"] == 50 and found["offset"] == 0
    assert cat["id"] not in [hit["media"]["id"] for hit in found["results"]]  # unrelated: no match


def _service_search(tenant, query, mode):
    from mediahub.search.search import search_media

    return search_media(tenant=tenant, query=query, mode=mode).hits


@pytest.mark.django_db(transaction=True)
def test_a_documents_text_is_searchable(api, worker):
    pdf = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.write(pdf)
    text_doc = upload_text(
        api, "minutes.txt", "The committee approved the zeppelin hangar renovation budget.", title="Minutes"
    )
    embedded(text_doc["id"])
    assert "zeppelin hangar" in Embedding.objects.get(media_id=text_doc["id"]).text
    found = search(api, q="zeppelin").json()
    assert [hit["media"]["id"] for hit in found["results"]][:1] == [text_doc["id"]]
    assert found["results"][0]["match"] == "both"


@pytest.mark.django_db(transaction=True)
def test_patch_re_embeds_and_an_unchanged_text_is_not_embedded_again(api, worker, counting_model):
    media = upload_text(api, "a.txt", "x", title="A red bicycle")
    embedded(media["id"])
    all_done()
    calls = len(counting_model)

    response = api.patch(f"/api/v1/media/{media['id']}", {"title": "A blue sailing boat"}, format="json")
    assert response.status_code == 200
    assert response.json()["embedding"]["status"] == "pending"
    all_done()
    assert len(counting_model) == calls + 1
    assert search(api, q="boat on the water").json()["results"][0]["media"]["id"] == media["id"]
    assert "sailing boat" in Embedding.objects.get(media_id=media["id"]).text

    # The same title again changes nothing: no event, no task.
    tasks = Task.objects.filter(type="EmbeddingGeneration").count()
    api.patch(f"/api/v1/media/{media['id']}", {"title": "A blue sailing boat"}, format="json")
    assert Task.objects.filter(type="EmbeddingGeneration").count() == tasks
    # A change that leaves the text as it was (spacing): a task runs, finds the same hash, calls no model.
    calls = len(counting_model)
    api.patch(f"/api/v1/media/{media['id']}", {"title": "A  blue sailing   boat"}, format="json")
    all_done()
    assert len(counting_model) == calls
    last = Task.objects.filter(media_id=media["id"], type="EmbeddingGeneration").latest("created_at")
    assert last.status == "completed" and last.result["reason"] == "unchanged"
    assert Embedding.objects.get(media_id=media["id"]).status == "current"
    assert Event.objects.filter(type="media.updated", data__id=media["id"]).count() == 2


@pytest.mark.django_db(transaction=True)
def test_auto_embed_off_creates_no_task_and_a_patch_marks_the_embedding_stale(api, tenant, worker):
    media = upload_text(api, "b.txt", "y", title="Mountain lake")
    embedded(media["id"])
    all_done()
    assert api.patch("/api/v1/tenant", {"settings": {"auto_embed": False}}, format="json").status_code == 200
    api.patch(f"/api/v1/media/{media['id']}", {"description": "at dawn"}, format="json")
    assert api.get(f"/api/v1/media/{media['id']}").json()["embedding"]["status"] == "stale"
    other = upload_text(api, "c.txt", "z", title="Desert road")
    assert api.get(f"/api/v1/media/{other['id']}").json()["embedding"]["status"] == "none"
    assert not Task.objects.filter(media_id=other["id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_media_without_text_completes_saying_so(tenant, worker):
    media = Media.objects.create(tenant=tenant, type="image", filename="_.png")
    task = services.request_embedding(media=media)
    wait_for(lambda: Task.objects.get(pk=task.pk).status == "completed", timeout=60)
    task.refresh_from_db()
    assert task.result["reason"] == "no_text" and task.retry_count == 0
    assert Embedding.objects.get(media=media).status == "none"


@pytest.mark.django_db(transaction=True)
def test_a_worker_embeds_a_backlog_in_one_model_call(tenant, worker, counting_model):
    """Tasks that become runnable together are claimed together: one model call for all of them."""
    media = [
        Media.objects.create(tenant=tenant, type="image", filename=f"p{i}.png", title=f"Holiday photo {i}")
        for i in range(12)
    ]
    with transaction.atomic():  # every doorbell rings only once all twelve rows are committed
        tasks = [services.request_embedding(media=item) for item in media]
    all_done()
    assert counting_model == [12]
    for task in tasks:
        task.refresh_from_db()
        assert task.status == "completed" and task.result["embedded"] is True
    assert Event.objects.filter(type="task.completed").count() == 12
    assert Event.objects.filter(type="embedding.completed").count() == 12


@pytest.mark.django_db(transaction=True)
def test_search_is_tenant_scoped_and_excludes_deleted_media(api, other_tenant, worker):
    other_api = client_for(other_tenant)
    mine = upload_text(api, "m.txt", "1", title="Lighthouse on a cliff")
    theirs = upload_text(other_api, "t.txt", "2", title="Lighthouse on a cliff at night")
    embedded(mine["id"])
    embedded(theirs["id"])
    ids = [hit["media"]["id"] for hit in search(api, q="lighthouse").json()["results"]]
    assert ids == [mine["id"]]
    assert [hit["media"]["id"] for hit in search(other_api, q="lighthouse").json()["results"]] == [
        theirs["id"]
    ]
    assert api.delete(f"/api/v1/media/{mine['id']}").status_code == 204
    assert search(api, q="lighthouse").json() == {"results": [], "total": 0, "limit": 50, "offset": 0}


@pytest.mark.django_db(transaction=True)
def test_search_filters_and_pagination(api, worker):
    first = upload_text(
        api, "f.txt", "1", title="Garden roses", metadata='{"season": "summer", "year": 2024}'
    )
    second = upload_text(api, "s.txt", "2", title="Garden tulips", metadata='{"season": "spring"}')
    embedded(first["id"])
    embedded(second["id"])
    ids = lambda body: [hit["media"]["id"] for hit in body["results"]]  # noqa: E731
    assert ids(search(api, q="garden flowers", **{"metadata[season]": "spring"}).json()) == [second["id"]]
    assert ids(search(api, q="garden flowers", **{"metadata[year]": "2024"}).json()) == [first["id"]]
    assert ids(search(api, q="garden flowers", type="video").json()) == []
    assert ids(search(api, q="garden flowers", created_after="2100-01-01T00:00:00Z").json()) == []
    both = search(api, q="garden flowers").json()
    assert both["total"] == 2
    page = search(api, q="garden flowers", limit=1, offset=1).json()
    assert page["limit"] == 1 and page["offset"] == 1 and ids(page) == ids(both)[1:]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "cat", "limit": "abc"}, "limit"),
        ({"q": "cat", "limit": "0"}, "limit"),
        ({"q": "cat", "offset": "-1"}, "offset"),
        ({"q": "cat", "type": "hologram"}, "type"),
        ({"q": "cat", "status": "asleep"}, "status"),
        ({"q": "cat", "created_after": "yesterday"}, "created_after"),
        ({"q": "cat", "metadata[]": "x"}, "metadata[]"),
        ({"q": "cat", "metadata": "x"}, "metadata"),
        ({"q": "cat", "metadata[a]": "x\x00"}, "metadata[a]"),
        ({"q": "cat\x00"}, "q"),
        ({"q": "cat", "status": ""}, "status"),  # an empty filter is refused, not ignored
        ({"q": "cat", "type": ""}, "type"),
    ],
)
def test_bad_search_parameters_are_400(api, params, field):
    response = search(api, **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and field in error["details"]


@pytest.mark.django_db
def test_a_query_longer_than_the_model_window_is_cut_not_refused(api):
    response = search(api, q="kitten on a couch " * 400)
    assert response.status_code == 200 and response.json()["results"] == []


@pytest.mark.django_db
def test_embedding_tasks_can_be_created_through_the_api(api, other_api, tenant):
    media = Media.objects.create(tenant=tenant, type="image", filename="x.png", title="Pier")
    response = api.post(
        "/api/v1/tasks",
        {"type": "EmbeddingGeneration", "payload": {"media_id": str(media.pk)}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    response = other_api.post(
        "/api/v1/tasks",
        {"type": "EmbeddingGeneration", "payload": {"media_id": str(media.pk)}},
        format="json",
    )
    assert response.status_code == 400 and "payload" in response.json()["error"]["details"]


@pytest.mark.django_db
def test_admin_search_box_uses_the_hybrid_search_and_the_media_list_shows_embedding_status(
    admin_client, tenant, other_tenant
):
    cat = Media.objects.create(tenant=tenant, type="image", filename="a.png", title="A cat on a sofa")
    tax = Media.objects.create(tenant=tenant, type="image", filename="b.png", title="Quarterly tax report")
    elsewhere = Media.objects.create(
        tenant=other_tenant, type="image", filename="c.png", title="Kitten on a couch"
    )
    services.embed_media(media=[cat, tax, elsewhere])
    listing = admin_client.get(
        "/admin/search/embedding/", {"q": "kitten on a couch", "tenant__id__exact": tenant.pk}
    )
    assert listing.status_code == 200
    rows = [embedding.media_id for embedding in listing.context["cl"].result_list]
    assert rows == [cat.pk]
    unscoped = admin_client.get("/admin/search/embedding/", {"q": "kitten"})
    assert unscoped.status_code == 200 and list(unscoped.context["cl"].result_list) == []

    media_list = admin_client.get("/admin/media/media/")
    assert media_list.status_code == 200
    assert media_list.content.decode().count('<td class="field-embedding_status">current</td>') == 3


@pytest.mark.django_db
def test_an_admin_edit_re_embeds_like_a_patch(admin_client, tenant, counting_model):
    media = Media.objects.create(tenant=tenant, type="image", filename="a.png", title="A red bicycle")
    services.embed_media(media=[media])
    url = f"/admin/media/media/{media.pk}/change/"
    form = {"title": "A blue sailing boat", "description": "", "metadata": '{"lake": "Constance"}'}
    for inline in admin_client.get(url).context["inline_admin_formsets"]:  # e.g. plugin results
        management = inline.formset.management_form
        form |= {management.add_prefix(name): value for name, value in management.initial.items()}

    assert admin_client.post(url, form).status_code == 302
    media.refresh_from_db()
    assert (media.title, media.metadata) == ("A blue sailing boat", {"lake": "Constance"})
    assert Embedding.objects.get(media=media).status == "pending"
    task = Task.objects.get(media=media, type="EmbeddingGeneration")
    assert Event.objects.filter(type="media.updated", data__id=str(media.pk)).count() == 1
    # The same values again change nothing: no event, no second task.
    assert admin_client.post(url, form).status_code == 302
    assert list(Task.objects.filter(media=media, type="EmbeddingGeneration")) == [task]
    assert Event.objects.filter(type="media.updated", data__id=str(media.pk)).count() == 1


@pytest.mark.django_db
def test_embed_missing_queues_every_media_without_a_current_vector(tenant, other_tenant):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    done = Media.objects.create(tenant=tenant, type="image", filename="done.png", title="Done")
    services.embed_media(media=[done])
    missing = [Media.objects.create(tenant=tenant, type="image", filename=f"m{i}.png") for i in range(3)]
    theirs = Media.objects.create(tenant=other_tenant, type="image", filename="t.png")
    out = io.StringIO()
    call_command("embed_missing", "--tenant", tenant.slug, stdout=out)
    assert "Queued 3 media" in out.getvalue()
    queued = set(Task.objects.filter(type="EmbeddingGeneration").values_list("media_id", flat=True))
    assert queued == {m.pk for m in missing}
    call_command("embed_missing", stdout=out)  # the waiting ones are not queued twice
    assert "Queued 1 media" in out.getvalue()
    assert Task.objects.filter(type="EmbeddingGeneration", media=theirs).count() == 1
    assert all(
        m.embedding.status == "pending"
        for m in Media.objects.filter(pk__in=queued).select_related("embedding")
    )
    with pytest.raises(CommandError):
        call_command("embed_missing", "--tenant", "nobody")


@pytest.mark.django_db
def test_a_batch_naming_one_media_twice_embeds_it_once(tenant, counting_model):
    media = Media.objects.create(tenant=tenant, type="image", filename="x.png", title="Harbour at dawn")
    gone = Media.objects.create(tenant=tenant, type="image", filename="y.png", title="Gone")
    Media.objects.filter(pk=gone.pk).delete()
    outcomes = services.embed_media(media=[media, gone, media])
    assert outcomes[0] == outcomes[2] and outcomes[0]["embedded"] is True
    assert isinstance(outcomes[1], Exception)
    assert counting_model == [2]  # one call: the media once, and the one deleted meanwhile
    assert Embedding.objects.get(media=media).status == "current"
    assert not Embedding.objects.filter(media_id=gone.pk).exists()
