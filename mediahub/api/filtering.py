"""List filters (django-filter) that say no to an empty value instead of ignoring it."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


class FilterBackend(DjangoFilterBackend):
    """django-filter reads ``?type=`` as "no filter"; the schema gives every filter value a
    ``minLength`` of 1 (``mediahub.api.schema``), so an empty one is a 400 naming it."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            names = filterset_class.base_filters
            blank = [key for key, value in request.query_params.items() if value == "" and key in names]
            if blank:
                raise ValidationError({key: ["May not be blank."] for key in blank})
        return super().filter_queryset(request, queryset, view)
