import django_filters
from django.db.models import Q, QuerySet

from mediahub.media.models import Media


class MediaFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Media.Type.choices)
    status = django_filters.ChoiceFilter(choices=Media.Status.choices)
    q = django_filters.CharFilter(method="filter_text", help_text="Title or filename contains.")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Media
        fields = ["type", "status"]

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(title__icontains=value) | Q(filename__icontains=value))
