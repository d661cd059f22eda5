from django.urls import path

from mediahub.stream.views import EventStreamView

urlpatterns = [path("events/stream", EventStreamView.as_view(), name="events-stream")]
