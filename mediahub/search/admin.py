from django.contrib import admin, messages
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest

from mediahub.search.models import Embedding
from mediahub.search.search import search_media
from tenants.models import Tenant


@admin.register(Embedding)
class EmbeddingAdmin(admin.ModelAdmin):
    """Embeddings per media; the search box runs the API's hybrid search within the chosen tenant."""

    list_display = ["media", "tenant", "status", "model", "embedded_at", "text_start"]
    list_filter = ["tenant", "status", "model"]
    list_select_related = ["media", "tenant"]
    search_fields = ["text"]  # replaced by the hybrid search (see get_search_results)
    search_help_text = "Hybrid search (meaning and words) within the tenant chosen on the right."
    readonly_fields = [
        "media",
        "tenant",
        "status",
        "model",
        "dimensions",
        "text",
        "text_hash",
        "error",
        "embedded_at",
    ]
    exclude = ["vector"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="text")
    def text_start(self, embedding: Embedding) -> str:
        return embedding.text[:80]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        if not search_term.strip():
            return queryset, False
        tenant = Tenant.objects.filter(pk=request.GET.get("tenant__id__exact")).first()
        if tenant is None:
            messages.warning(request, "Choose a tenant (filter on the right) to search its media.")
            return queryset.none(), False
        page = search_media(tenant=tenant, query=search_term, limit=100)
        order = Case(
            *(When(media_id=hit.media.pk, then=Value(rank)) for rank, hit in enumerate(page.hits)),
            output_field=IntegerField(),
        )
        ids = [hit.media.pk for hit in page.hits]
        return queryset.filter(media_id__in=ids).annotate(search_rank=order).order_by("search_rank"), False

    def get_ordering(self, request: HttpRequest):
        return [] if request.GET.get("q") else ["-embedded_at"]
