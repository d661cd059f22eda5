from django.urls import path

from mediahub.imports.views import MediaImportView

urlpatterns = [path("media/import", MediaImportView.as_view(), name="media-import")]
