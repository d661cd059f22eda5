from django.urls import path

from mediahub.api import health

urlpatterns = [
    path("healthz", health.HealthzView.as_view(), name="healthz"),
    path("readyz", health.ReadyzView.as_view(), name="readyz"),
    path("metrics", health.MetricsView.as_view(), name="metrics"),
]
