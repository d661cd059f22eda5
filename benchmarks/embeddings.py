"""Embeddings benchmark: pipeline throughput against the bare model, search latency on 300,000 media,
and search quality of hybrid against vector-only ranking.

    .venv/bin/python benchmarks/embeddings.py [--texts 5000] [--tenant-rows 100000] [--tenants 3]
        [--skip-throughput] [--skip-latency]

Runs on the same real services as the test suite (a fresh embedded PostgreSQL with pgvector, a private
RabbitMQ vhost; see ``tests/services.py``). It reports:

- throughput: N media texts embedded end to end (``EmbeddingGeneration`` task created → vector
  stored) by the default worker setup of the ``embeddings`` queue (CPU-bound: a process per core), in
  a separate process, beside the bare model embedding the same texts (batches of
  ``EMBEDDING_BATCH_SIZE``) in this process; the ratio of the two rates;
- search latency: ``GET /search`` p50/p95 for one tenant with ``--tenant-rows`` embedded media,
  among ``--tenants`` times as many (bulk-loaded scene titles and tags, vectors derived from 2,000
  real model embeddings: see ``fill_library``; the query is embedded by the real model on every
  request); in-process Django test client (view, model and database time); at PostgreSQL's
  default shared_buffers, then again at 1 GB with the HNSW index in memory;
- search quality: top-1 and top-5 accuracy of hybrid and of vector-only ranking on a small labelled
  set of media and queries (below), embedded by the real model.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import tests.services  # noqa: E402, F401 - starts/points at the real services, like the tests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediahub.settings")

SUBJECTS = [
    "a golden retriever",
    "two kids",
    "an old fisherman",
    "a red vintage car",
    "a group of cyclists",
    "a street musician",
    "a chef",
    "a sleepy cat",
    "a family",
    "a drone",
    "a marathon runner",
    "a lighthouse keeper",
]
ACTIONS = [
    "playing on",
    "walking along",
    "filmed above",
    "resting near",
    "racing through",
    "cooking next to",
    "singing at",
    "photographed in",
]
PLACES = [
    "a sandy beach at sunset",
    "the snowy mountains",
    "a crowded city market",
    "a quiet forest trail",
    "the harbour in the morning fog",
    "a small kitchen",
    "the old town square",
    "a football stadium",
    "a lavender field",
    "the train station",
]
EXTRAS = [
    "Shot on a handheld camera.",
    "Raw footage, no color grading.",
    "For the spring campaign.",
    "Interview excerpt included.",
    "Slow motion at 120 fps.",
    "Archive copy from 2019.",
    "",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--tenant-rows", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print_load()
    quality()
    if not args.skip_throughput:
        throughput(args.texts)
        print_load()
    if not args.skip_latency:
        latency(args.tenant_rows, args.tenants)
        print_load()


def print_load() -> None:
    one, five, fifteen = os.getloadavg()
    print(f"load: {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min)")


def media_texts(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """(title, description) pairs like a media library's: a scene, a place, a note."""
    return [
        (
            f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(ACTIONS)} {rng.choice(PLACES)}",
            f"Clip {i}: {rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(PLACES)}. "
            + rng.choice(EXTRAS),
        )
        for i in range(n)
    ]


# --- throughput ---


def throughput(n: int) -> None:
    import dramatiq
    from django.conf import settings
    from django.db import transaction
    from django.db.models import Max
    from django.utils import timezone
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    from mediahub.media.models import Media
    from mediahub.search.embedder import get_embedder
    from mediahub.search.services import request_embedding
    from mediahub.search.text import build_text
    from tasks.models import Task
    from tenants.services import create_tenant

    tenant, _ = create_tenant(name="Throughput")
    rng = random.Random(1)
    media = Media.objects.bulk_create(
        Media(
            tenant=tenant,
            type="image",
            status="ready",
            filename=f"clip_{i}.jpg",
            title=title,
            description=text,
        )
        for i, (title, text) in enumerate(media_texts(n, rng))
    )
    texts = [build_text(item) for item in media]

    embedder = get_embedder()
    batch = settings.EMBEDDING_BATCH_SIZE
    embedder.embed(texts[:batch])  # warm-up
    started = time.perf_counter()
    for i in range(0, n, batch):
        embedder.embed(texts[i : i + batch])
    bare = n / (time.perf_counter() - started)
    print(f"bare model: {n} texts in batches of {batch}: {bare:.0f} texts/s")

    # The embeddings queue as its CPU-bound worker group runs it: one single-threaded process per core.
    argv = [sys.executable, "-m", "dramatiq", "--processes", str(settings.TASK_CPU_WORKER_PROCESSES)]
    argv += ["--threads", "1", "--queues", "embeddings", "--", "django_dramatiq.setup"]
    print(f"worker: {' '.join(argv[1:])}")
    env = {**os.environ, "DATABASE_URL": settings.DATABASE_URL}
    worker = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)
    broker = dramatiq.get_broker()
    if isinstance(broker, RabbitmqBroker):
        del broker.connection  # idle during the bare run: RabbitMQ may have dropped it (missed heartbeats)
    try:
        warm = Media.objects.create(tenant=tenant, type="image", filename="warm.jpg", title="warm-up")
        wait_done([request_embedding(media=warm)], timeout=180)  # the worker is up and its model loaded
        with transaction.atomic():
            tasks = [request_embedding(media=item) for item in media]
            committed = timezone.now()
        wait_done(tasks, timeout=1800)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)
    ids = [t.pk for t in tasks]
    last = Task.objects.filter(pk__in=ids).aggregate(m=Max("completed_at"))["m"]
    pipeline = n / (last - committed).total_seconds()
    embedded = Task.objects.filter(pk__in=ids, result__embedded=True).count()
    print(
        f"pipeline: {n} tasks (created → vector stored, {embedded} embedded) at {pipeline:.0f} texts/s; "
        f"ratio to the bare model {pipeline / bare:.2f}"
    )


def wait_done(tasks, timeout: float) -> None:
    from tasks.models import Task

    ids = [t.pk for t in tasks]
    deadline = time.monotonic() + timeout
    while Task.objects.filter(pk__in=ids, status__in=Task.TERMINAL).count() < len(ids):
        if time.monotonic() > deadline:
            raise SystemExit(f"tasks not done within {timeout} s")
        time.sleep(0.2)


# --- search latency ---

# Distinct scene texts of the latency library, each embedded by the real model.
SCENES = 2000
TAG_VOCABULARY = 3000
CAMERAS = ["a7", "gh5", "r5", "fx3"]
CHUNK = 10_000
# Paraphrases of the scenes (few shared words), as people type them.
SCENE_QUERIES = [
    "dog running on the sand",
    "kitten napping",
    "old man fishing at the port",
    "bike race in the hills",
    "busker playing guitar downtown",
    "cooking dinner in a tiny kitchen",
    "aerial view of a stadium",
    "purple flowers in a field",
    "athlete jogging at dawn",
    "lighthouse in the mist",
    "classic automobile on a mountain road",
    "children playing in the snow",
    "family walk in the woods",
    "people waiting for a train",
    "stalls at a busy bazaar",
    "evening at the seaside",
    "slow motion footage",
    "interview clip",
    "footage for the spring campaign",
    "archived video from 2019",
]


def scene(rng: random.Random) -> str:
    subject, action, place = rng.choice(SUBJECTS), rng.choice(ACTIONS), rng.choice(PLACES)
    return f"{subject.capitalize()} {action} {place}. {rng.choice(EXTRAS)}".strip()


def pseudo_words(rng: random.Random, count: int) -> list[str]:
    syllables = ["ka", "lo", "mi", "ra", "tu", "ne", "so", "vi", "da", "pe", "zu", "bo", "li", "an", "or"]
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def latency(tenant_rows: int, tenant_count: int) -> None:
    from django.db import connection

    tenants, words, weights = fill_library(tenant_rows, tenant_count)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_relation_size('search_embedding_vector_hnsw')), "
            "pg_size_pretty(pg_table_size('search_embedding'))"
        )
        index_size, table_size = cursor.fetchone()
    print(f"PostgreSQL's default shared_buffers (128 MB; HNSW index {index_size}, rows {table_size}):")
    measure_latency(tenants[0], tenant_rows, tenant_count, words, weights)
    if not os.environ.get("DATABASE_URL"):  # the benchmark's own embedded PostgreSQL
        restart_database(shared_buffers="1GB")
        warm_vector_index(rounds=300)
        print(
            "shared_buffers 1 GB, the HNSW index in memory as pgvector advises (warmed by 300 other scans):"
        )
        measure_latency(tenants[0], tenant_rows, tenant_count, words, weights)


def restart_database(shared_buffers: str) -> None:
    """Restart the benchmark's own embedded PostgreSQL with another ``shared_buffers``."""
    import pgserver
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"ALTER SYSTEM SET shared_buffers = '{shared_buffers}'")
    connection.close()
    server = pgserver.get_server(settings.DATA_DIR / "pgdata")
    # -l as pgserver starts it: a server writing to pg_ctl's output would keep it waiting.
    args = ["-w", "-m", "fast", "-l", str(server.log), "restart"]
    pgserver.pg_ctl(args, pgdata=server.pgdata, user=server.system_user, timeout=60)


def warm_vector_index(rounds: int) -> None:
    """Nearest-neighbour scans from ``rounds`` random stored vectors (not the measured queries)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.ef_search = 400")
        cursor.execute(
            "SELECT count(*) FROM (SELECT vector FROM search_embedding ORDER BY random() LIMIT %s) AS probe, "
            "LATERAL (SELECT 1 FROM search_embedding ORDER BY vector <=> probe.vector LIMIT 100) AS nearest",
            [rounds],
        )


def fill_library(tenant_rows: int, tenant_count: int):
    """``tenant_count`` tenants of ``tenant_rows`` embedded media each, bulk-loaded, indexes built once.

    Each media's title is one of ``SCENES`` scene texts (a subject, an action, a place, a note), its
    description six tags drawn Zipf-like from pseudo-words, its filename ``clip_<n>``, its metadata a
    camera. Its vector is derived from real model embeddings, not computed per media (300,000 model
    calls would take most of an hour): 0.8 × its scene's embedding + 0.2 × another scene's + Gaussian
    noise (σ 0.02 per dimension), re-normalised; so vectors cluster as real ones do (cosine ~0.9 to
    their scene), unlike uniform random vectors, which HNSW handles unlike any real data.
    """
    import numpy as np
    import psycopg
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone
    from pgvector.psycopg import register_vector

    from mediahub.media.models import Media
    from mediahub.search.embedder import get_embedder
    from mediahub.search.text import build_text, text_hash
    from tenants.services import create_tenant

    rng = random.Random(2)
    noise = np.random.default_rng(2)
    words = pseudo_words(rng, TAG_VOCABULARY)
    # Zipf-like word frequencies: a few words are in many texts, most in few.
    weights = [1 / (rank + 1) for rank in range(len(words))]
    scenes: set[str] = set()
    while len(scenes) < SCENES:
        scenes.add(scene(rng))
    scene_texts = sorted(scenes)
    model = get_embedder()
    started = time.monotonic()
    base = np.vstack([model.embed(scene_texts[i : i + 32]) for i in range(0, SCENES, 32)])
    print(f"embedded {SCENES} distinct scene texts with the model in {time.monotonic() - started:.0f} s")

    tenants = [create_tenant(name=f"Search {i}")[0] for i in range(tenant_count)]
    with connection.cursor() as cursor:  # built once after the load: faster than row by row
        cursor.execute("DROP INDEX search_embedding_vector_hnsw")
        cursor.execute("DROP INDEX search_embedding_text_gin")
    started = time.monotonic()
    now = timezone.now()
    with psycopg.connect(settings.DATABASE_URL, autocommit=True) as copy_connection:
        register_vector(copy_connection)
        for tenant in tenants:
            for start in range(0, tenant_rows, CHUNK):
                n = min(CHUNK, tenant_rows - start)
                own, other = noise.integers(SCENES, size=n), noise.integers(SCENES, size=n)
                vectors = 0.8 * base[own] + 0.2 * base[other] + noise.normal(0, 0.02, (n, base.shape[1]))
                vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
                media = Media.objects.bulk_create(
                    Media(
                        tenant=tenant,
                        type=rng.choice(["video", "image", "audio", "document"]),
                        status="ready",
                        filename=f"clip_{start + i}.mp4",
                        title=scene_texts[own[i]],
                        description=" ".join(rng.choices(words, weights, k=6)),
                        metadata={"camera": rng.choice(CAMERAS)},
                        created_at=now - timedelta(minutes=rng.randrange(525_600)),
                    )
                    for i in range(n)
                )
                with copy_connection.cursor().copy(
                    "COPY search_embedding (media_id, tenant_id, status, model, dimensions, vector, text, "
                    "text_hash, error, embedded_at, updated_at) FROM STDIN WITH (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(
                        ["uuid", "uuid", "text", "text", "int4", "vector", "text", "text", "text"]
                        + ["timestamptz", "timestamptz"]
                    )
                    for item, vector in zip(media, vectors, strict=True):
                        text = build_text(item)
                        copy.write_row(
                            [item.pk, tenant.pk, "current", model.name, model.dimensions, vector, text]
                            + [text_hash(text), "", now, now]
                        )
    total = tenant_rows * tenant_count
    print(f"inserted {total} media and their embeddings in {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    with connection.cursor() as cursor:
        # The whole graph in memory while it is built (pgvector warns when it no longer fits and
        # goes on on disk, many times slower): ~2 kB a vector here.
        cursor.execute("SET maintenance_work_mem = '2GB'")
        cursor.execute(
            "CREATE INDEX search_embedding_vector_hnsw ON search_embedding "
            "USING hnsw (vector vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
        hnsw = time.monotonic() - started
        cursor.execute("CREATE INDEX search_embedding_text_gin ON search_embedding USING gin (search_vector)")
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("VACUUM ANALYZE search_embedding")
        cursor.execute("VACUUM ANALYZE media_media")
    print(
        f"built the HNSW index in {hnsw:.0f} s, the full-text index and statistics in "
        f"{time.monotonic() - started - hnsw:.0f} s"
    )
    return tenants, words, weights


def measure_latency(tenant, tenant_rows: int, tenant_count: int, words: list[str], weights) -> None:
    from mediahub.media.models import Media
    from mediahub.search.embedder import get_embedder
    from tests.conftest import client_for

    rng = random.Random(3)
    client = client_for(tenant)
    assert client.get("/api/v1/search", {"q": "warm-up"}).status_code == 200  # views and the model loaded
    gc.freeze()  # what is loaded stays out of full collections, as mediahub.wsgi does in a web worker
    # A mix: paraphrases (the vectors find them; their common words match thousands of media), tags
    # (rare to very common words) and exact file codes (one media each).
    queries = [rng.choice(SCENE_QUERIES) for _ in range(70)]
    queries += [" ".join(rng.choices(words, weights, k=rng.randint(1, 3))) for _ in range(70)]
    queries += [f"clip_{rng.randrange(tenant_rows)}" for _ in range(30)]
    rng.shuffle(queries)
    filtered = [
        {"type": "video"},
        {"metadata[camera]": "fx3"},
        {"type": "audio", "metadata[camera]": "a7"},
        {"created_after": "2026-11-01T00:00:00Z"},
    ]

    def timed(params_list: list[dict]) -> list[float]:
        samples = []
        for params in params_list:
            t0 = time.perf_counter()
            response = client.get("/api/v1/search", {"limit": 20, **params})
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.content
        slowest = sorted(zip(samples[20:], params_list[20:], strict=True), key=lambda pair: -pair[0])[:5]
        print("  slowest: " + "; ".join(f"{ms:.0f} ms {params}" for ms, params in slowest))
        return samples[20:]  # warm caches and the connection first

    where = f"{tenant_rows} media in the tenant, {tenant_rows * tenant_count} in all"
    samples = timed([{"q": query} for query in queries])
    print(f"GET /search ({where}, {len(samples)} queries): {summary(samples)}")
    samples = timed([{"q": query, **filtered[i % len(filtered)]} for i, query in enumerate(queries)])
    print(
        f"  with filters (type, metadata[camera], both, created_after), {len(samples)} queries: "
        f"{summary(samples)}"
    )
    one = Media.objects.filter(tenant=tenant).values_list("pk", flat=True).first()
    baseline = []
    for _ in queries:
        t0 = time.perf_counter()
        assert client.get(f"/api/v1/media/{one}").status_code == 200
        baseline.append((time.perf_counter() - t0) * 1000)
    print(
        f"  beside GET /media/{{id}} in the same run (auth, rate limit, one media): {summary(baseline[20:])}"
    )
    model = get_embedder()
    embedding = []
    for query in queries[20:]:
        t0 = time.perf_counter()
        model.embed([query])
        embedding.append((time.perf_counter() - t0) * 1000)
    print(f"  of which embedding the query alone: {summary(embedding)}")


def summary(samples: list[float]) -> str:
    return f"p50 {percentile(samples, 50):.1f} ms, p95 {percentile(samples, 95):.1f} ms"


def percentile(samples: list[float], pct: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(pct) - 1]


# --- search quality ---

# (key, title, description, metadata): a small media library.
LIBRARY = [
    ("cat", "Kitten asleep", "A small kitten sleeping on a grey couch", {}),
    ("dog", "Beach day", "Golden retriever catching a frisbee by the sea", {}),
    ("tax", "Q3 filing", "Quarterly tax report for the finance team", {"dept": "finance"}),
    ("sku", "Cabinet hinge", "Spare part SKU-48213, brushed steel", {"sku": "SKU-48213"}),
    ("sku2", "Drawer rail", "Spare part SKU-48231, soft close", {"sku": "SKU-48231"}),
    ("sku3", "Door handle", "Spare part SKU-84213, matte black", {"sku": "SKU-84213"}),
    ("wedding", "Ceremony", "Bride and groom exchanging rings in a chapel", {}),
    ("concert", "Live show", "Rock band performing on stage with a cheering crowd", {}),
    ("recipe", "Pasta night", "Cooking fresh tagliatelle with tomato sauce", {}),
    ("hike", "Summit", "Hikers reaching the top of an alpine peak", {}),
    ("keynote", "Keynote 2024", "CEO presenting the annual product roadmap", {"event": "Zephyrcon"}),
    ("training", "Onboarding", "Safety training for new warehouse staff", {}),
    ("drone", "Aerial", "Drone footage of a coastal city at dawn", {}),
    ("surgery", "Procedure", "Laparoscopic surgery demonstration for residents", {}),
    ("garden", "Spring", "Tulips and daffodils blooming in the park", {}),
    ("football", "Final", "Last-minute goal in the championship match", {}),
    ("lecture", "Physics 101", "Professor explaining Newton's laws of motion", {}),
    ("baby", "First steps", "Toddler taking her first steps at home", {}),
    ("car", "Test drive", "Electric car accelerating on a race track", {}),
    ("rain", "Storm", "Heavy rain and lightning over the fields", {}),
    ("invoice", "INV-2023-0917", "Invoice for consulting services, September", {}),
    ("podcast", "Episode 42", "Interview with a marine biologist about coral reefs", {}),
]
# (query, expected key): paraphrases, exact words, codes and names.
QUERIES = [
    ("cat napping on a sofa", "cat"),
    ("dog playing at the beach", "dog"),
    ("tax statement for the quarter", "tax"),
    ("SKU-48213", "sku"),
    ("SKU-84213", "sku3"),
    ("SKU-48231", "sku2"),
    ("marriage ceremony", "wedding"),
    ("music festival crowd", "concert"),
    ("how to make noodles", "recipe"),
    ("mountain climbing", "hike"),
    ("Zephyrcon", "keynote"),
    ("employee induction", "training"),
    ("bird's-eye view of the town by the sea", "drone"),
    ("medical operation video", "surgery"),
    ("flowers in bloom", "garden"),
    ("soccer cup decider", "football"),
    ("classical mechanics class", "lecture"),
    ("infant learning to walk", "baby"),
    ("EV on a circuit", "car"),
    ("thunderstorm", "rain"),
    ("INV-2023-0917", "invoice"),
    ("ocean science conversation", "podcast"),
    ("episode 42", "podcast"),
    ("roadmap presentation", "keynote"),
]


def quality() -> None:
    from mediahub.media.models import Media
    from mediahub.search.search import search_media
    from mediahub.search.services import embed_media
    from tenants.services import create_tenant

    tenant, _ = create_tenant(name="Quality")
    media = {
        key: Media.objects.create(
            tenant=tenant, type="video", filename=f"{key}.mp4", title=title, description=text, metadata=meta
        )
        for key, title, text, meta in LIBRARY
    }
    embed_media(media=list(media.values()))
    expected = {key: media[key].pk for key in media}
    for mode in ("hybrid", "semantic"):
        top1 = top5 = 0
        misses = []
        for query, key in QUERIES:
            ranked = [
                hit.media.pk for hit in search_media(tenant=tenant, query=query, mode=mode, limit=5).hits
            ]
            top1 += ranked[:1] == [expected[key]]
            top5 += expected[key] in ranked
            if ranked[:1] != [expected[key]]:
                misses.append(query)
        n = len(QUERIES)
        label = "hybrid" if mode == "hybrid" else "vector-only"
        print(
            f"quality ({n} labelled queries, {len(LIBRARY)} media), {label}: "
            f"top-1 {top1 / n:.2f}, top-5 {top5 / n:.2f}; not first: {', '.join(misses) or 'none'}"
        )


if __name__ == "__main__":
    main()
