from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer


class SwaggerUIView(SpectacularSwaggerView):
    """Swagger UI at /api/v1/docs. Only GET renders the HTML page; any other method gets the JSON
    405 of the rest of the API (an OPTIONS answer cannot be rendered through the page template)."""

    http_method_names = ["get", "head"]

    def get_renderers(self):
        if self.request.method in ("GET", "HEAD"):
            return super().get_renderers()
        return [JSONRenderer()]
