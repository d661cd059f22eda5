from django.urls import path

from mediahub.plugins.views import HttpCallbackView, PluginConfigView, PluginExecuteView, PluginListView

NAME = "<str:name>"

urlpatterns = [
    path("plugins", PluginListView.as_view(), name="plugin-list"),
    path(f"plugins/{NAME}/config", PluginConfigView.as_view(), name="plugin-config"),
    path(f"plugins/{NAME}/execute", PluginExecuteView.as_view(), name="plugin-execute"),
    path("plugins/http/callbacks/<str:token>", HttpCallbackView.as_view(), name="plugin-http-callback"),
]
