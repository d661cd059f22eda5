"""Hybrid search: vector similarity fused with PostgreSQL full-text search by reciprocal rank
fusion (RRF), always within one tenant."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.db.models.fields.json import KeyTextTransform
from pgvector.django import CosineDistance

from mediahub.media.models import Media
from mediahub.media.serializers import with_represented_rows
from mediahub.search.embedder import get_embedder
from mediahub.search.models import TEXT_SEARCH_CONFIG, Embedding
from tenants.models import Tenant

Mode = Literal["hybrid", "semantic", "keyword"]
# pgvector's ceiling for hnsw.ef_search.
MAX_EF_SEARCH = 1000


@dataclass(frozen=True)
class SearchFilters:
    type: str | None = None
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    # metadata[key]=value: the key's value, as text, equals value.
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    media: Media
    score: float
    match: Literal["semantic", "keyword", "both"]


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit]
    # How many media the page was cut from: the fused candidates (at most ``depth`` from each
    # ranking), not every media sharing a word or somewhat near in meaning; counting those would
    # read a large part of the tenant on every request.
    total: int


def search_media(
    *,
    tenant: Tenant,
    query: str,
    filters: SearchFilters | None = None,
    limit: int = 50,
    offset: int = 0,
    mode: Mode = "hybrid",
) -> SearchPage:
    """The tenant's media best matching ``query``, best first. ``mode`` "semantic" or "keyword"
    uses one ranking alone (for comparisons)."""
    filters = filters or SearchFilters()
    depth = max(settings.SEARCH_CANDIDATES, offset + limit)
    rankings: dict[str, list[Any]] = {}
    if mode in ("hybrid", "semantic"):
        rankings["semantic"] = _semantic(tenant, filters, query, depth, needed=offset + limit)
    if mode in ("hybrid", "keyword"):
        rankings["keyword"] = _keyword(tenant, filters, query, depth)

    scores: dict[Any, float] = defaultdict(float)
    sources: dict[Any, set[str]] = defaultdict(set)
    for name, ranking in rankings.items():
        for rank, media_id in enumerate(ranking, start=1):
            scores[media_id] += 1.0 / (settings.SEARCH_RRF_K + rank)
            sources[media_id].add(name)
    ordered = sorted(scores, key=lambda media_id: (-scores[media_id], str(media_id)))
    page = ordered[offset : offset + limit]
    media = with_represented_rows(Media.objects.all()).in_bulk(page)
    hits = [
        Hit(
            media[media_id],
            scores[media_id],
            "both" if len(sources[media_id]) > 1 else next(iter(sources[media_id])),
        )
        for media_id in page
        if media_id in media  # deleted meanwhile
    ]
    return SearchPage(hits, total=len(ordered))


def _scoped(tenant: Tenant, filters: SearchFilters) -> QuerySet[Embedding]:
    scope = Embedding.objects.filter(tenant=tenant)
    if filters != SearchFilters():
        # Redundant with the embedding's tenant, but lets the planner reach the filtered media
        # through the media's (tenant, created_at) index instead of scanning every tenant's.
        scope = scope.filter(media__tenant=tenant)
    if filters.type:
        scope = scope.filter(media__type=filters.type)
    if filters.status:
        scope = scope.filter(media__status=filters.status)
    if filters.created_after:
        scope = scope.filter(media__created_at__gte=filters.created_after)
    if filters.created_before:
        scope = scope.filter(media__created_at__lt=filters.created_before)
    for key, value in filters.metadata.items():
        alias = f"metadata_{len(scope.query.annotations)}"
        scope = scope.alias(**{alias: KeyTextTransform(key, "media__metadata")}).filter(**{alias: value})
    return scope


def _semantic(tenant: Tenant, filters: SearchFilters, query: str, depth: int, needed: int) -> list[Any]:
    """Media ids by cosine similarity to the query's vector (the model truncates a long query).

    The HNSW index yields the ``hnsw.ef_search`` nearest vectors of every tenant; only then are the
    tenant's and the filters' conditions applied (pgvector 0.6, as pgserver ships it, has no
    iterative scans). So ef_search is 4 × ``depth`` (the maximum, 1,000, with filters): enough
    that ``depth`` survive for a tenant holding a quarter of all vectors. When fewer than
    ``needed`` survive (a small tenant, a rare filter), the tenant's matching vectors are ranked
    exactly instead: slower, but never an empty semantic side for media that exist.
    """
    embedder = get_embedder()
    vector = embedder.embed([query])[0]
    filtered = filters != SearchFilters()
    ef_search = MAX_EF_SEARCH if filtered else min(MAX_EF_SEARCH, depth * 4)
    nearest = (
        Embedding.objects.filter(tenant=tenant, model=embedder.name, vector__isnull=False)
        .annotate(distance=CosineDistance("vector", vector))
        .order_by("distance")
        .values_list("media_id", "distance")
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
        # The filters apply to these candidates afterwards, so the index scan stays a plain
        # ORDER BY ... LIMIT whatever the planner guesses of the filters.
        ranked = list(nearest[: ef_search if filtered else depth])
    scope = _scoped(tenant, filters).filter(model=embedder.name, vector__isnull=False)
    if filtered:
        kept = set(
            scope.filter(media_id__in=[media_id for media_id, _ in ranked]).values_list("media_id", flat=True)
        )
        ranked = [(media_id, distance) for media_id, distance in ranked if media_id in kept][:depth]
    if len(ranked) < needed:
        distance = CosineDistance("vector", vector)
        # "+ 0": an order the HNSW index cannot give, so every matching vector is compared.
        exact = scope.annotate(distance=distance).order_by((distance + 0).asc(), "media_id")
        ranked = list(exact.values_list("media_id", "distance")[:depth])
    return [media_id for media_id, distance in ranked if 1 - distance >= settings.SEARCH_MIN_SIMILARITY]


def _keyword(tenant: Tenant, filters: SearchFilters, query: str, depth: int) -> list[Any]:
    """Media ids by full-text rank of the same text (websearch syntax: words, "phrases", -not).

    Only the first ``SEARCH_KEYWORD_CANDIDATES`` matches of the tenant that the index yields are
    ranked (in no particular order), and the filters apply to those: ranking reads each ranked
    row's text vector, and a common word matches a large part of a big tenant (~1 ms per 1,000
    rows). A rare word or code matches fewer and is always ranked in full; for a common one, the
    semantic ranking orders the media by meaning.
    """
    parsed = SearchQuery(query, search_type="websearch", config=TEXT_SEARCH_CONFIG)
    matches = Embedding.objects.filter(tenant=tenant, search_vector=parsed).values("pk")
    matches = matches[: settings.SEARCH_KEYWORD_CANDIDATES]

    def best(candidates: QuerySet[Embedding]) -> list[Any]:
        ranked = candidates.annotate(rank=SearchRank(F("search_vector"), parsed)).order_by(
            "-rank", "media_id"
        )
        return list(ranked.values_list("media_id", flat=True)[:depth])

    with transaction.atomic(), connection.cursor() as cursor:
        # From the text index, never from a scan that stops after enough matches: the planner
        # guesses how common a combination of words is, and a wrong guess reads the whole table.
        cursor.execute(
            "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)"
        )
        if filters == SearchFilters():
            return best(Embedding.objects.filter(pk__in=matches))  # one statement, nothing to join
        capped = [row["pk"] for row in matches]
    # The filters apply to the capped matches, by primary key and with the planner's free choice:
    # it cannot tell how many media a metadata filter keeps, and a wrong guess costs a loop over
    # the whole tenant.
    return best(_scoped(tenant, filters).filter(pk__in=capped))
