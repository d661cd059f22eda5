import re
from typing import Any

from rest_framework import serializers

from mediahub.media.models import Media
from mediahub.media.serializers import MediaSerializer

QUERY_MAX_CHARS = 2000
METADATA_PARAM = re.compile(r"^metadata\[([^\[\]]{1,100})\]$")


class SearchParamsSerializer(serializers.Serializer):
    """``GET /search`` query parameters (``metadata[key]=value`` pairs are read by ``metadata_filters``)."""

    q = serializers.CharField(
        help_text="What to look for (required, non-blank; a long one is cut, not refused)."
    )
    type = serializers.ChoiceField(choices=Media.Type.choices, required=False)
    status = serializers.ChoiceField(choices=Media.Status.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(min_value=1, required=False, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=10_000, required=False, default=0)

    def validate_q(self, value: str) -> str:
        # The model reads 256 tokens at most; full-text search gets the same start of the query.
        return value[:QUERY_MAX_CHARS]

    def validate_limit(self, value: int) -> int:
        return min(value, 100)  # as every list: a larger limit is clamped


def metadata_filters(params: Any) -> dict[str, str]:
    """``metadata[key]=value`` pairs of the query string; a malformed ``metadata...`` name is a 400."""
    filters, bad = {}, []
    for name in params:
        if not name.startswith("metadata"):
            continue
        match = METADATA_PARAM.match(name)
        if match is None or "\x00" in name or "\x00" in params.get(name):
            bad.append(name)
        else:
            filters[match.group(1)] = params.get(name)
    if bad:
        raise serializers.ValidationError(
            {name: ["Use metadata[key]=value with a key of 1 to 100 characters."] for name in bad}
        )
    return filters


class SearchResultSerializer(serializers.Serializer):
    media = MediaSerializer()
    score = serializers.FloatField(help_text="Reciprocal rank fusion score; higher is better.")
    match = serializers.ChoiceField(choices=["semantic", "keyword", "both"])


class SearchResponseSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
