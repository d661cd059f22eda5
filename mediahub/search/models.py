from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import HnswIndex, VectorField

from mediahub.media.models import Media
from tenants.models import TenantOwned

# The vector column's size: all-MiniLM-L6-v2's. A model of another size needs a migration.
VECTOR_DIMENSIONS = 384
# Full-text configuration of the stored text and of queries.
TEXT_SEARCH_CONFIG = "english"


class Embedding(TenantOwned):
    """A media's search text and its vector (one row per media, created when one is requested)."""

    class Status(models.TextChoices):
        PENDING = "pending"  # a task will (re)build it; the previous vector, if any, still serves
        CURRENT = "current"
        STALE = "stale"  # the text changed and no task was queued (auto_embed off)
        FAILED = "failed"
        NONE = "none"  # the media has no text to embed

    media = models.OneToOneField(Media, on_delete=models.CASCADE, primary_key=True, related_name="embedding")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    model = models.CharField(max_length=100, blank=True)
    dimensions = models.PositiveIntegerField(null=True, blank=True)
    vector = VectorField(dimensions=VECTOR_DIMENSIONS, null=True, blank=True)
    text = models.TextField(blank=True)
    # sha256 of ``text``: an unchanged text is not embedded again.
    text_hash = models.CharField(max_length=64, blank=True)
    search_vector = models.GeneratedField(
        expression=SearchVector("text", config=TEXT_SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    error = models.TextField(blank=True)
    # When the vector was last stored.
    embedded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            HnswIndex(
                name="search_embedding_vector_hnsw",
                fields=["vector"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(fields=["search_vector"], name="search_embedding_text_gin"),
            models.Index(fields=["tenant", "status"], name="search_embedding_tenant_status"),
        ]

    def __str__(self) -> str:
        return f"embedding of {self.media_id} ({self.status})"
