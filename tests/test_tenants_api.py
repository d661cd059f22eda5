from tests.conftest import client_for


def test_tenant_get_returns_settings_with_defaults(api, tenant):
    response = api.get("/api/v1/tenant")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(tenant.id)
    assert body["settings"]["auto_transcode"] is True
    assert [r["name"] for r in body["settings"]["hls_ladder"]] == ["1080p", "720p", "480p", "360p"]
    assert response["X-Request-Id"]


def test_missing_key_is_401_with_error_shape(client):
    response = client.get("/api/v1/tenant")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_read_key_cannot_create_keys(tenant):
    response = client_for(tenant, ["read"]).post(
        "/api/v1/api-keys", {"name": "x", "scopes": ["read"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_revoked_key_fails_on_next_request(api):
    created = api.post("/api/v1/api-keys", {"name": "ci", "scopes": ["read"]}, format="json").json()
    assert created["key"].startswith("mh_live_")
    from rest_framework.test import APIClient

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    assert other.get("/api/v1/tenant").status_code == 200
    assert api.delete(f"/api/v1/api-keys/{created['id']}").status_code == 204
    assert other.get("/api/v1/tenant").status_code == 401


def test_other_tenants_key_is_404(api, other_api):
    created = api.post("/api/v1/api-keys", {"name": "ci", "scopes": ["read"]}, format="json").json()
    response = other_api.delete(f"/api/v1/api-keys/{created['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
