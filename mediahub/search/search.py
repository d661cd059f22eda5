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
    # How many media matched: the fused candidates (at most ``SEARCH_CANDIDATES`` from each ranking,
    # or offset + limit if more).
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
    scope = _scoped(tenant, filters or SearchFilters())
    depth = max(settings.SEARCH_CANDIDATES, offset + limit)
    rankings: dict[str, list[Any]] = {}
    if mode in ("hybrid", "semantic"):
        rankings["semantic"] = _semantic(scope, query, depth)
    if mode in ("hybrid", "keyword"):
        rankings["keyword"] = _keyword(scope, query, depth)

    scores: dict[Any, float] = defaultdict(float)
    sources: dict[Any, set[str]] = defaultdict(set)
    for name, ranking in rankings.items():
        for rank, media_id in enumerate(ranking, start=1):
            scores[media_id] += 1.0 / (settings.SEARCH_RRF_K + rank)
            sources[media_id].add(name)
    ordered = sorted(scores, key=lambda media_id: (-scores[media_id], str(media_id)))
    page = ordered[offset : offset + limit]
    media = Media.objects.select_related("embedding").in_bulk(page)
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


def _semantic(scope: QuerySet[Embedding], query: str, depth: int) -> list[Any]:
    """Media ids by cosine similarity to the query's vector (the model truncates a long query)."""
    embedder = get_embedder()
    vector = embedder.embed([query])[0]
    ranked = (
        scope.filter(model=embedder.name, vector__isnull=False)
        .annotate(distance=CosineDistance("vector", vector))
        .order_by("distance")
        .values_list("media_id", "distance")[:depth]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # The HNSW index yields ef_search nearest vectors of all tenants before the tenant's filter;
        # ask for enough that ``depth`` of this tenant's usually survive.
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(min(MAX_EF_SEARCH, depth * 4))])
        ranked = list(ranked)
    # Filtered here, not in SQL, so the index scan stays a plain ORDER BY ... LIMIT.
    return [media_id for media_id, distance in ranked if 1 - distance >= settings.SEARCH_MIN_SIMILARITY]


def _keyword(scope: QuerySet[Embedding], query: str, depth: int) -> list[Any]:
    """Media ids by full-text rank of the same text (websearch syntax: words, "phrases", -not)."""
    parsed = SearchQuery(query, search_type="websearch", config=TEXT_SEARCH_CONFIG)
    return list(
        scope.filter(search_vector=parsed)
        .annotate(rank=SearchRank(F("search_vector"), parsed))
        .order_by("-rank", "media_id")
        .values_list("media_id", flat=True)[:depth]
    )
