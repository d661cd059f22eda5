import django_filters
from django.db.models import Q, QuerySet

from mediahub.api.filtering import IsoDateTimeFilter
from mediahub.media.models import Media


class MediaFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Media.Type.choices)
    status = django_filters.ChoiceFilter(choices=Media.Status.choices)
    q = django_filters.CharFilter(method="filter_text", help_text="Title or filename contains.")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    # Lets a client (the CLI's resumed upload) find a file it may have sent without sending it again.
    sha256 = django_filters.CharFilter(field_name="sha256", help_text="The file's sha256 (hex), exactly.")

    class Meta:
        model = Media
        fields = ["type", "status"]

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(title__icontains=value) | Q(filename__icontains=value))
