"""List filters (django-filter) that say no to an empty value instead of ignoring it."""

from datetime import UTC, datetime, timedelta

import django_filters
from django_filters.fields import IsoDateTimeField
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


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time in UTC. RFC 3339 allows any offset up to ±23:59, PostgreSQL only up to
    ±15:59: a time is compared in UTC, so every offset the schema's date-time allows works."""

    def to_python(self, value: str | None) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # past year 1 or 9999 once in UTC: the earliest or latest time there is
            edge = datetime.min if parsed.utcoffset() > timedelta(0) else datetime.max
            return edge.replace(tzinfo=UTC)


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
