import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tenants.services import create_tenant, issue_api_key
from tests.task_helpers import queue_worker


@pytest.fixture
def tenant(db):
    tenant, _ = create_tenant(name="Acme")
    return tenant


@pytest.fixture
def other_tenant(db):
    tenant, _ = create_tenant(name="Globex")
    return tenant


def client_for(tenant, scopes=("admin",)) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant=tenant, name='test', scopes=list(scopes)).key}"
    )
    return client


@pytest.fixture
def api(tenant) -> APIClient:
    """An admin-scoped client of ``tenant``."""
    return client_for(tenant)


@pytest.fixture
def other_api(other_tenant) -> APIClient:
    return client_for(other_tenant)


@pytest.fixture(params=["rabbitmq", "redis"])
def task_broker(request):
    """Runs the test once on a real RabbitMQ and once on a real Redis broker, bound to the task
    actors (see ``tests.task_helpers``)."""
    from tests.task_helpers import bound_broker

    with bound_broker(request.param) as broker:
        yield broker


@pytest.fixture
def worker():
    """A real Dramatiq worker on the transcoding queue (one thread, as in production)."""
    with queue_worker({"video_transcoding"}) as running:
        yield running


@pytest.fixture
def local_storage(tmp_path):
    """The embedded default: local files instead of the session's S3 server."""
    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "storage"), "allow_overwrite": True},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        yield tmp_path / "storage"


@pytest.fixture
def plugins_worker():
    """An in-process worker on the PluginExecution queue (two threads)."""
    with queue_worker({"plugins"}, threads=2) as running:
        yield running
