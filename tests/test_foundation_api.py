"""API plumbing of the foundation: auth, isolation, idempotency, rate limit, error shapes, health."""

import json
import logging
import re
import threading
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DataError, connection
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from mediahub.api import idempotency
from mediahub.api.errors import exception_handler
from mediahub.api.models import IdempotencyRecord
from mediahub.api.views import IdempotentPostMixin
from tenants.models import ApiKey
from tenants.services import issue_api_key
from tests.conftest import client_for
from tests.services import free_port


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


# --- authentication and scopes ---


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer garbage", "Bearer mh_live_" + "x" * 43, "Basic dXNlcjpwYXNz", "Token abc"],
)
def test_missing_or_invalid_key_is_401(db, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get("/api/v1/tenant"), 401, "unauthenticated")


def test_revoked_and_expired_keys_are_401(tenant):
    revoked = issue_api_key(tenant=tenant, name="revoked", scopes=["admin"])
    ApiKey.objects.filter(pk=revoked.api_key.pk).update(revoked_at=timezone.now())
    expired = issue_api_key(
        tenant=tenant, name="expired", scopes=["admin"], expires_at=timezone.now() + timedelta(seconds=60)
    )
    ApiKey.objects.filter(pk=expired.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(bearer(revoked.key).get("/api/v1/tenant"), 401, "unauthenticated")
    assert_error(bearer(expired.key).get("/api/v1/tenant"), 401, "unauthenticated")


def test_right_prefix_wrong_secret_is_401(tenant):
    issued = issue_api_key(tenant=tenant, name="k", scopes=["admin"])
    forged = issued.key[:-4] + ("AAAA" if not issued.key.endswith("AAAA") else "BBBB")
    assert_error(bearer(forged).get("/api/v1/tenant"), 401)


def test_read_key_reads_but_cannot_write(tenant):
    reader = client_for(tenant, ["read"])
    assert reader.get("/api/v1/tenant").status_code == 200
    assert reader.get("/api/v1/api-keys").status_code == 200
    assert_error(reader.patch("/api/v1/tenant", {"settings": {}}, format="json"), 403, "forbidden")
    assert_error(reader.post("/api/v1/api-keys", {"name": "x", "scopes": ["read"]}, format="json"), 403)


def test_write_key_cannot_do_admin_things(tenant, api):
    writer = client_for(tenant, ["write"])
    some_key = api.post("/api/v1/api-keys", {"name": "x", "scopes": ["read"]}, format="json").json()
    assert_error(writer.post("/api/v1/api-keys", {"name": "x", "scopes": ["read"]}, format="json"), 403)
    assert_error(writer.delete(f"/api/v1/api-keys/{some_key['id']}"), 403)
    assert_error(writer.patch("/api/v1/tenant", {"settings": {"auto_transcode": False}}, format="json"), 403)


def test_last_used_at_is_recorded(tenant):
    issued = issue_api_key(tenant=tenant, name="k", scopes=["read"])
    assert bearer(issued.key).get("/api/v1/tenant").status_code == 200
    issued.api_key.refresh_from_db()
    assert issued.api_key.last_used_at is not None


# --- tenant isolation ---


def test_tenant_endpoint_shows_the_callers_tenant_only(api, other_api, tenant, other_tenant):
    assert api.get("/api/v1/tenant").json()["id"] == str(tenant.id)
    assert other_api.get("/api/v1/tenant").json()["id"] == str(other_tenant.id)
    api.patch("/api/v1/tenant", {"settings": {"auto_transcode": False}}, format="json")
    assert other_api.get("/api/v1/tenant").json()["settings"]["auto_transcode"] is True


def test_api_keys_are_isolated_between_tenants(api, other_api):
    mine = api.post("/api/v1/api-keys", {"name": "mine", "scopes": ["read"]}, format="json").json()
    listed = other_api.get("/api/v1/api-keys").json()
    assert mine["id"] not in {k["id"] for k in listed["api_keys"]}
    assert listed["total"] == len(listed["api_keys"])
    assert_error(other_api.delete(f"/api/v1/api-keys/{mine['id']}"), 404, "not_found")
    # still usable: the other tenant's DELETE touched nothing
    assert bearer(mine["key"]).get("/api/v1/tenant").status_code == 200


def test_api_key_list_never_shows_secrets(api):
    api.post("/api/v1/api-keys", {"name": "k", "scopes": ["read"]}, format="json")
    for listed in api.get("/api/v1/api-keys").json()["api_keys"]:
        assert "key" not in listed and "secret_hash" not in listed
        assert listed["prefix"].startswith("mh_live_")


# --- idempotency ---


def post_key(client, body, key="key-1", **extra):
    return client.post("/api/v1/api-keys", body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def test_same_key_same_body_replays_without_creating(api, tenant):
    body = {"name": "ci", "scopes": ["read"]}
    first = post_key(api, body)
    assert first.status_code == 201
    count = ApiKey.objects.for_tenant(tenant).count()
    again = post_key(api, body)
    assert again.status_code == 201
    # The key was shown once: the replay names the created key but never shows it again.
    assert again.json() == {"id": first.json()["id"], "secret_omitted": True}
    assert again["Idempotent-Replayed"] == "true"
    assert ApiKey.objects.for_tenant(tenant).count() == count


def test_a_new_key_is_never_stored_for_replays_even_after_revoking(api, tenant):
    from mediahub import crypto

    first = post_key(api, {"name": "ci", "scopes": ["read"]}).json()
    stored = crypto.decrypt(bytes(IdempotencyRecord.objects.get(tenant=tenant, key="key-1").response_body))
    assert first["key"].encode() not in stored and b"mh_live_" not in stored
    assert api.delete(f"/api/v1/api-keys/{first['id']}").status_code == 204
    replay = post_key(api, {"name": "ci", "scopes": ["read"]})
    assert replay.status_code == 201 and "key" not in replay.json()


def test_same_key_other_body_is_409(api):
    assert post_key(api, {"name": "ci", "scopes": ["read"]}).status_code == 201
    assert_error(post_key(api, {"name": "ci", "scopes": ["write"]}), 409, "idempotency_key_reused")


def test_keys_are_per_tenant(api, other_api, other_tenant):
    body = {"name": "ci", "scopes": ["read"]}
    first = post_key(api, body)
    theirs = post_key(other_api, body)
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]
    assert ApiKey.objects.for_tenant(other_tenant).filter(pk=theirs.json()["id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_is_409_while_the_first_runs(tenant, monkeypatch):
    from tenants import views

    entered, release = threading.Event(), threading.Event()
    real_issue = views.services.issue_api_key

    def slow_issue(*args, **kwargs):
        entered.set()
        release.wait(30)
        return real_issue(*args, **kwargs)

    monkeypatch.setattr(views.services, "issue_api_key", slow_issue)
    body = {"name": "ci", "scopes": ["read"]}
    results = {}

    def first_request():
        try:
            results["first"] = post_key(client_for(tenant), body)
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert entered.wait(30)
        assert_error(post_key(client_for(tenant), body), 409, "idempotency_request_in_progress")
    finally:
        release.set()
        thread.join(30)
    assert results["first"].status_code == 201
    replay = post_key(client_for(tenant), body)
    assert replay.json()["id"] == results["first"].json()["id"]


def test_abandoned_claim_is_taken_over(api, tenant):
    IdempotencyRecord.objects.create(
        tenant=tenant, key="key-1", fingerprint="0" * 64, created_at=timezone.now() - timedelta(hours=1)
    )
    assert post_key(api, {"name": "ci", "scopes": ["read"]}).status_code == 201


def test_expired_record_is_not_replayed(api, tenant):
    body = {"name": "ci", "scopes": ["read"]}
    first = post_key(api, body).json()
    IdempotencyRecord.objects.filter(tenant=tenant).update(created_at=timezone.now() - timedelta(hours=25))
    second = post_key(api, body)
    assert second.status_code == 201 and second.json()["id"] != first["id"]
    assert idempotency.purge_expired() == 0  # the old one was replaced, the new one is fresh


def test_validation_errors_are_replayed_too(api):
    assert_error(post_key(api, {"name": "ci", "scopes": ["root"]}), 400)
    replay = post_key(api, {"name": "ci", "scopes": ["root"]})
    assert_error(replay, 400)
    assert replay["Idempotent-Replayed"] == "true"


def test_server_error_releases_the_key(api, tenant, monkeypatch):
    from tenants import views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.services, "issue_api_key", broken)
    assert_error(post_key(api, {"name": "ci", "scopes": ["read"]}), 500, "internal_error")
    monkeypatch.undo()
    assert post_key(api, {"name": "ci", "scopes": ["read"]}).status_code == 201


def test_invalid_idempotency_key_is_400(api):
    assert_error(
        post_key(api, {"name": "ci", "scopes": ["read"]}, key="x" * 300), 400, "invalid_idempotency_key"
    )


def api_routes():
    """(route, view callback) of every URL pattern under /api/v1/."""

    def walk(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    return [(route, callback) for route, callback in walk(get_resolver()) if route.startswith("api/v1/")]


def test_options_on_every_route_is_not_a_server_error(api):
    for route, _ in api_routes():
        # router regexes and path converters alike: any object id becomes a random UUID
        path = re.sub(r"\(\?P<\w+>[^)]*\)|<[^>]+>", str(uuid.uuid4()), route).strip("^$")
        response = api.options("/" + path.replace("\\.", "."))
        assert response.status_code < 500, (path, response.content)


def test_every_post_view_honours_idempotency_keys():
    """Every API view that accepts POST derives from the base classes that implement it."""

    missing = []
    for route, callback in api_routes():
        view_class = getattr(callback, "cls", None)
        if view_class is None:
            continue
        actions = getattr(callback, "actions", None) or {}
        accepts_post = "post" in actions or (not actions and hasattr(view_class, "post"))
        if accepts_post and not issubclass(view_class, IdempotentPostMixin):
            missing.append(f"{route} ({view_class.__name__})")
    assert not missing, f"POST views outside mediahub.api.views bases: {missing}"


# --- rate limit ---


@override_settings(API_RATE_LIMIT_PER_MINUTE=3)
def test_rate_limit_per_tenant_with_retry_after(api, other_api):
    for _ in range(3):
        assert api.get("/api/v1/tenant").status_code == 200
    limited = api.get("/api/v1/tenant")
    error = assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert error["details"]["retry_after_seconds"] == int(limited["Retry-After"])
    # another tenant has its own budget; health checks have none
    assert other_api.get("/api/v1/tenant").status_code == 200
    assert api.get("/healthz").status_code == 200


@override_settings(API_RATE_LIMIT_PER_MINUTE=2, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
def test_rate_limit_fails_open_when_redis_is_down(api, caplog):
    with caplog.at_level(logging.WARNING):
        assert all(api.get("/api/v1/tenant").status_code == 200 for _ in range(4))
    assert "rate limit not enforced" in caplog.text


# --- error shapes ---


def test_malformed_json_is_400(api):
    response = api.generic("POST", "/api/v1/api-keys", '{"name": ', content_type="application/json")
    assert_error(response, 400, "malformed_request")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("[" * 100_000, "application/json"),  # deeper than Python's recursion limit
        (b'{"name": "\xff"}', "application/json"),  # not UTF-8
    ],
)
def test_unparseable_bodies_are_400(api, body, content_type):
    assert_error(
        api.generic("POST", "/api/v1/api-keys", body, content_type=content_type), 400, "malformed_request"
    )


def test_wrong_types_name_the_fields(api):
    error = assert_error(
        api.post("/api/v1/api-keys", {"name": [], "scopes": "admin"}, format="json"),
        400,
        "invalid_input",
    )
    assert set(error["details"]) == {"name", "scopes"}
    error = assert_error(api.post("/api/v1/api-keys", [1, 2], format="json"), 400, "invalid_input")
    assert "non_field_errors" in error["details"]


def test_unknown_fields_are_rejected(api):
    error = assert_error(
        api.post("/api/v1/api-keys", {"name": "x", "scopes": ["read"], "scope": "x"}, format="json"), 400
    )
    assert error["details"] == {"scope": ["Unknown field."]}
    error = assert_error(
        api.patch("/api/v1/tenant", {"settings": {"auto_transcod": False}}, format="json"), 400
    )
    assert "auto_transcod" in json.dumps(error["details"])
    assert_error(api.patch("/api/v1/tenant", {"name": "renamed"}, format="json"), 400)


def test_values_postgresql_refuses_are_400_not_500(api):
    # A valid ISO 8601 time whose offset PostgreSQL cannot store (found by fuzzing the schema) is
    # compared in UTC; a value that still reaches PostgreSQL and is refused is the input's fault.
    assert api.get("/api/v1/tasks", {"end_date": "0990-03-09T09:36:19-18:33"}).status_code == 200
    with connection.cursor() as cursor, pytest.raises(DataError) as refused:
        cursor.execute("SELECT %s::timestamptz", ["0990-03-09T09:36:19-18:33"])
    response = exception_handler(refused.value, {"view": None, "request": None})
    assert response.status_code == 400 and response.data["error"]["code"] == "invalid_input"


def test_past_expiry_is_rejected(api):
    past = (timezone.now() - timedelta(days=1)).isoformat()
    error = assert_error(
        api.post("/api/v1/api-keys", {"name": "x", "scopes": ["read"], "expires_at": past}, format="json"),
        400,
    )
    assert "expires_at" in error["details"]


def test_method_not_allowed_is_405_json(api):
    assert_error(api.put("/api/v1/tenant", {}, format="json"), 405, "method_not_allowed")
    assert_error(api.post("/healthz"), 405, "method_not_allowed")


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v1/tenant/", "/static/nope.css"])
def test_unknown_urls_are_json_404_with_debug_off(api, settings, path):
    settings.DEBUG = False
    assert_error(api.get(path), 404, "not_found")


def test_malformed_object_id_is_404(api):
    assert_error(api.delete("/api/v1/api-keys/not-a-uuid"), 404, "not_found")


def test_unsupported_media_type_is_415(api):
    response = api.generic("POST", "/api/v1/api-keys", "name=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_oversized_body_is_413(api, settings):
    body = json.dumps({"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "scopes": ["read"]})
    assert_error(
        api.generic("POST", "/api/v1/api-keys", body, content_type="application/json"),
        413,
        "request_too_large",
    )


def test_unexpected_exception_is_logged_500_without_trace(api, monkeypatch, caplog):
    from tenants import serializers

    def broken(self, tenant):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(serializers.TenantSerializer, "get_usage", broken)
    with caplog.at_level(logging.ERROR):
        response = api.get("/api/v1/tenant")
    error = assert_error(response, 500, "internal_error")
    assert (
        "secret internals" not in response.content.decode() and "Traceback" not in response.content.decode()
    )
    assert "secret internals" in caplog.text
    assert error["details"]["request_id"] == response["X-Request-Id"]
    assert response["X-Request-Id"] in caplog.text


def test_request_id_is_echoed_or_made(api):
    assert api.get("/api/v1/tenant", HTTP_X_REQUEST_ID="abc-123")["X-Request-Id"] == "abc-123"
    assert len(api.get("/api/v1/tenant")["X-Request-Id"]) == 32
    assert APIClient().get("/api/v1/nope")["X-Request-Id"]


def test_pagination_shape_and_clamping(api):
    for n in range(3):
        api.post("/api/v1/api-keys", {"name": f"k{n}", "scopes": ["read"]}, format="json")
    page = api.get("/api/v1/api-keys?limit=2&offset=1").json()
    assert set(page) == {"api_keys", "total", "limit", "offset"}
    assert (page["limit"], page["offset"], len(page["api_keys"])) == (2, 1, 2)
    assert api.get("/api/v1/api-keys?limit=1000").json()["limit"] == 100


# --- health, metrics, schema ---


def test_healthz_and_readyz(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "redis": "ok", "storage": "ok"}


def test_readyz_names_a_stopped_broker(client, db):
    with override_settings(BROKER_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}/"):
        response = client.get("/readyz")
    error = assert_error(response, 503, "dependency_unavailable")
    assert error["details"]["down"] == ["broker"]
    assert "broker" in error["message"]
    assert response["Retry-After"]


def test_readyz_names_a_stopped_redis(client, db):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/readyz")
    assert assert_error(response, 503)["details"]["down"] == ["redis"]
    assert client.get("/readyz").status_code == 200  # the cached client follows the setting back


def test_metrics_count_requests_by_route_and_status(client, api):
    api.get("/api/v1/tenant")
    APIClient().get("/api/v1/tenant")
    text = client.get("/metrics").content.decode()
    assert 'mediahub_http_requests_total{method="GET",route="api/v1/tenant",status="200"}' in text
    assert 'mediahub_http_requests_total{method="GET",route="api/v1/tenant",status="401"}' in text
    assert "mediahub_http_request_duration_seconds_bucket" in text


def test_openapi_schema_and_swagger_ui(client, db):
    schema = client.get("/api/v1/schema?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/v1/tenant", "/api/v1/api-keys", "/api/v1/api-keys/{id}"]:
        assert path in paths, sorted(paths)
    assert {"get", "patch"} <= set(paths["/api/v1/tenant"])
    assert {"get", "post"} <= set(paths["/api/v1/api-keys"])
    created = paths["/api/v1/api-keys"]["post"]["responses"]["201"]
    assert "key" in json.dumps(schema.json()["components"]["schemas"]["IssuedApiKey"])
    assert created
    # lists are documented under their API.md key, as they are sent
    components = schema.json()["components"]["schemas"]
    listed = paths["/api/v1/api-keys"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = components[listed["$ref"].rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"api_keys", "total", "limit", "offset"}
    # errors are documented in the one error shape
    unauthorized = paths["/api/v1/tenant"]["get"]["responses"]["401"]["content"]["application/json"]["schema"]
    assert unauthorized["$ref"].endswith("/Error")
    assert set(components["ErrorDetail"]["properties"]) == {"code", "message", "details"}
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert_error(client.post("/api/v1/docs"), 405, "method_not_allowed")


def test_openapi_schema_is_valid_and_generates_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
