"""drf-spectacular customisation so the published schema matches what the API sends."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from mediahub.api.serializers import ErrorSerializer, StrictFieldsMixin

NO_NUL_PATTERN = r"^[^\u0000]*$"
NOT_BLANK_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"

# Answers every authenticated endpoint can give, all in the error shape of API.md.
ERROR_RESPONSES = {
    "400": "Invalid input; `details` names the fields.",
    "401": "Missing, invalid, expired or revoked API key.",
    "403": "The API key lacks the scope.",
    "404": "No such object for this tenant.",
    "429": "Rate limited; retry after `Retry-After` seconds.",
    "503": "A dependency (the database, storage) is briefly away; retry after `Retry-After` seconds.",
}
# And those of requests that change something (409) or carry a body (413, 415).
CHANGE_RESPONSES = {"409": "The object's state does not allow this (e.g. a task already completed)."}
BODY_RESPONSES = {
    "413": "The request body is too large.",
    "415": "The body's content type is not accepted (JSON, or multipart for uploads).",
}


class AutoSchema(openapi.AutoSchema):
    def _get_paginator(self):
        # Lists are wrapped under the view's ``list_key`` ("tasks", "media", ...); the paginator
        # needs the view to describe that key.
        paginator = super()._get_paginator()
        if paginator is not None:
            paginator.view = self.view
        return paginator

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if isinstance(serializer, StrictFieldsMixin):  # an unknown field is a 400
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # A list that may not be empty says so (drf-spectacular leaves allow_empty out).
        if getattr(field, "allow_empty", True) is False and schema.get("type") == "array":
            schema["minItems"] = max(1, schema.get("minItems", 0))
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        # DRF refuses NUL in every CharField (PostgreSQL cannot store it) and, unless blank is
        # allowed, a value that is blank once trimmed; a format or a pattern of its own says more.
        # Output-only fields are left as they are, like drf-spectacular leaves out their minLength.
        writable = isinstance(field, serializers.CharField) and not field.read_only
        if writable and not {"pattern", "format", "oneOf"} & schema.keys():
            blank_refused = not field.allow_blank and field.trim_whitespace
            schema["pattern"] = NOT_BLANK_PATTERN if blank_refused else NO_NUL_PATTERN

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        for parameter in parameters:  # an empty filter value is refused (mediahub.api.filtering)
            schema = parameter.get("schema", {})
            if schema.get("type") == "string":
                schema.setdefault("minLength", 1)
                if not {"enum", "format", "pattern"} & schema.keys():  # form fields refuse NUL too
                    schema["pattern"] = NO_NUL_PATTERN
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self.view.authentication_classes:  # not the health endpoints
            errors = dict(ERROR_RESPONSES)
            if self.method != "GET":
                errors |= CHANGE_RESPONSES
            if self.method in ("POST", "PUT", "PATCH"):
                errors |= BODY_RESPONSES
            for code, description in errors.items():
                if code not in responses:
                    error = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                    responses[code] = {**error, "description": description}
        return responses


class BoundedJSONFieldExtension(OpenApiSerializerFieldExtension):
    """An object-only JSON field is an object in the schema (not "any value")."""

    target_class = "mediahub.api.serializers.BoundedJSONField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "object", "additionalProperties": True} if self.target.object_only else {}
